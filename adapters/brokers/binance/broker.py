"""BinanceBroker: Binance Spot behind the ``Broker``, ``ReconcilableBroker`` and
``ConnectedBroker`` ports.

Before the event loop runs, ``start_session`` (blocking) measures the venue's clock, reads the
symbols' filters and the rate limits from ``exchangeInfo``, the account and its commission
rates; startup reconciliation then asks ``query_order`` / ``query_open_orders`` (blocking).
In the loop, ``connect`` opens the order-update stream; ``submit`` and ``cancel`` return at
once and their requests run as tasks; every outcome is published later, from the loop, as the
broker reports of ``application.messages`` (``OrderTracker`` makes sure each is published once).

This module is the ports' surface: it builds the parts and wires them, runs the tasks and
publishes. The order requests and how their outcomes are settled are ``order_requests``; the
order-update stream's events and the catching up after each (re)subscription are
``stream_recovery``; what the venue is asked is ``venue_queries``.

The rules that matter:

* An unknown outcome is never a failure. A timeout, a dropped connection, a 5xx or
  ``-1006``/``-1007`` leave the order in flight; the broker asks the venue
  (``GET /api/v3/order`` by our client order id) with backoff until it answers, and publishes
  what it says. "No such order" (``-2013``) is final only once the request can no longer be
  executed: its timestamp + ``recvWindow`` + a margin has passed on the venue's clock.
  ``health().unknown_outcomes`` counts the requests still being asked about.
* A definite refusal is the order's rejection, with the venue's code and message. A refused
  cancel is a ``CancelRejected``, then the order's status is asked to settle it.
* ``-1021`` resyncs the clock and resends once (``rest``).
* During a 429/418 block nothing is sent: a new order is rejected at once (saying until when),
  a cancel waits and goes after.
* An order breaking a symbol filter is rejected before sending, naming the filter.
* No key, secret or signature reaches a log line, an error, a repr or ``health()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.errors import (
    BinanceBrokerError,
    MalformedPayload,
    RateLimitBlocked,
    TransportError,
    VenueError,
)
from adapters.brokers.binance.execution_reports import OrderTracker
from adapters.brokers.binance.instruments import SymbolRules
from adapters.brokers.binance.order_params import VENUE
from adapters.brokers.binance.order_requests import NO_RECORD, OrderRequests, precheck
from adapters.brokers.binance.rate_limits import RateLimiter
from adapters.brokers.binance.rest import AsyncRestClient, RestCore, SyncRestClient
from adapters.brokers.binance.session import AccountInfo, open_session, read_balances
from adapters.brokers.binance.stream_recovery import StreamRecovery
from adapters.brokers.binance.user_stream import UserStream
from adapters.brokers.binance.venue_clock import VenueClock
from adapters.brokers.binance.venue_queries import VenueQueries, VenueSnapshot
from application.messages import VenueOrder
from application.ports import BrokerHealth, Clock, ReconcilableBroker
from domain.identifiers import ClientOrderId, InstrumentId
from domain.instrument import Instrument
from domain.orders import Order

log = logging.getLogger("tradeplane.broker.binance")

__all__ = ["NO_RECORD", "BinanceBroker"]  # NO_RECORD: the reason of a rejection for "no such order"


class BinanceBroker:
    """Binance Spot; see the module docstring for its rules.

    ``publish`` is the bus's publish, called from the event loop only. ``instruments``: the
    instruments traded (those on BINANCE are this broker's symbols). ``clock`` is the engine's;
    reports carry the venue's times when it gives them. ``transport`` / ``async_transport``
    replace the network for the REST clients (tests).
    """

    name = "binance"
    supports_stop_orders = True
    spot_account = True  # Binance Spot sells only what the account holds: risk checks free balances first

    def __init__(
        self,
        config: BinanceBrokerConfig,
        credentials: ApiCredentials,
        *,
        publish: Callable[[object], None],
        instruments: Mapping[InstrumentId, Instrument],
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(config, BinanceBrokerConfig):
            raise TypeError(f"config must be a BinanceBrokerConfig, was {type(config).__name__}")
        if not isinstance(credentials, ApiCredentials):
            raise TypeError(f"credentials must be ApiCredentials, was {type(credentials).__name__}")
        self._config = config
        self._credentials = credentials
        self._publish = publish
        self._clock = clock
        self._symbols: dict[str, InstrumentId] = {}
        for key in instruments:
            instrument_id = InstrumentId(key)
            if instrument_id.venue == VENUE:
                self._symbols[instrument_id.symbol] = instrument_id
        self._venue_clock = VenueClock(clock)
        self._limiter = RateLimiter(clock)
        self._core = RestCore(config, credentials, self._venue_clock, self._limiter)
        self._sync = SyncRestClient(config, self._core, transport=transport)
        self._async_transport = async_transport
        self._rest: AsyncRestClient | None = None
        self._stream: UserStream | None = None
        self._queries = VenueQueries(self._sync, self._symbols, clock)
        self._tracker = OrderTracker(clock, stale_hold_ns=int(config.request_timeout_s * 2e9))
        self._rules: dict[str, SymbolRules] = {}
        self._account: AccountInfo | None = None
        self.commission_rates: dict[str, tuple[Decimal, Decimal]] = {}
        """Per symbol, the account's (maker, taker) commission rates."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._owed: set[asyncio.Task[Any]] = set()
        self._deferred: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_error = ""
        self._requests = OrderRequests(
            config=config,
            clock=clock,
            venue_clock=self._venue_clock,
            limiter=self._limiter,
            core=self._core,
            queries=self._queries,
            tracker=self._tracker,
            rest=self._rest_client,
            emit=self._emit,
            later=self._later,
            spawn=self._spawn,
            note_error=self._note_error,
        )
        self._recovery = StreamRecovery(
            config=config,
            queries=self._queries,
            tracker=self._tracker,
            requests=self._requests,
            emit=self._emit,
            spawn=self._spawn,
            note_error=self._note_error,
        )

    # -- the session (blocking, before the event loop) -------------------------------------

    def start_session(self) -> None:
        """Clock, symbols and limits, account and commissions (``session``); raises
        BinanceBrokerError with a clear message for a refused key, missing permissions or an
        unreachable venue."""
        session = open_session(
            self._sync, sorted(self._symbols), key_hint=self._credentials.hint, rest_url=self._config.rest_url
        )
        self._rules = session.rules
        self._account = session.account
        self.commission_rates = session.commission_rates
        log.info(
            "binance %s: %s, clock offset %d ms, %d symbol(s)",
            self._config.environment,
            self.account_label(),
            self._venue_clock.offset_ms,
            len(self._rules),
        )

    def account_label(self) -> str:
        """``uid 123 (SPOT), key vmPU…h8A``: which account, never the secret."""
        account = self._account
        if account is None:
            return f"key {self._credentials.hint}"
        return f"uid {account.uid} ({account.account_type}), key {self._credentials.hint}"

    def balances(self) -> dict[str, Decimal]:
        """Each asset's total (free + locked) from ``GET /api/v3/account``; zero ones left out."""
        return read_balances(self._sync)

    @property
    def rules(self) -> Mapping[str, SymbolRules]:
        """The filters of each symbol, as read by ``start_session``."""
        return self._rules

    def close(self) -> None:
        """Release the blocking client (after the last ``query_*``)."""
        self._sync.close()

    # -- the Broker port (in the loop) --------------------------------------------------------

    def submit(self, order: Order) -> None:
        """Check ``order`` against its symbol's filters and send it in a task; the outcome is
        published later."""
        if not isinstance(order, Order):
            raise TypeError(f"submit takes an Order, was {type(order).__name__}")
        self._tracker.track(order)
        problem = precheck(order, self._symbols, self._rules)
        if problem is not None:
            log.warning("binance: %s not sent: %s", order.client_order_id, problem)
            self._later(self._tracker.reject(order.client_order_id, problem, self._clock.now_ns()))
            return
        self._when_connected(lambda: self._requests.start_placing(order))

    def cancel(self, order: Order) -> None:
        """Ask the venue to cancel ``order`` in a task (after its submission is answered)."""
        if not isinstance(order, Order):
            raise TypeError(f"cancel takes an Order, was {type(order).__name__}")
        self._tracker.track(order)
        self._when_connected(
            lambda: self._spawn(self._requests.cancel(order), f"cancel-{order.client_order_id}")
        )

    # -- ReconcilableBroker (blocking, before connect) --------------------------------------

    def query_order(self, client_order_id: ClientOrderId) -> VenueOrder | None:
        """The venue's view of one order with its fills; None only when every symbol it could
        be on answers "no such order". Raises BinanceBrokerError when the venue cannot answer."""
        try:
            view = self._queries.view_sync(client_order_id, self._symbols_of(client_order_id))
        except (VenueError, TransportError, RateLimitBlocked, MalformedPayload) as error:
            raise BinanceBrokerError(f"the venue could not tell about {client_order_id}: {error}") from None
        if view is None:
            self._tracker.adopt_missing(client_order_id)
        else:
            self._tracker.adopt(view)  # startup reconciliation applies what it says
        return view

    def query_open_orders(self) -> list[VenueOrder]:
        """Every order working at the venue on this broker's symbols, oldest first."""
        try:
            views = self._queries.open_orders_sync()
        except (VenueError, TransportError, RateLimitBlocked, MalformedPayload) as error:
            raise BinanceBrokerError(f"the venue could not list its open orders: {error}") from None
        for view in views:  # reconciliation takes in those it does not know, with their fills
            if self._tracker.get(view.client_order_id) is None:
                self._tracker.adopt(view)
        return views

    def _symbols_of(self, coid: ClientOrderId) -> list[str]:
        """Where to look for ``coid``: its symbol when tracked, else every symbol."""
        tracked = self._tracker.get(coid)
        return [tracked.symbol] if tracked is not None else self._queries.symbols

    # -- ConnectedBroker (in the loop) -------------------------------------------------------

    async def connect(self) -> None:
        """Open the order-update stream; returns once it is live. Raises BinanceBrokerError
        when the venue cannot be reached or refuses the subscription."""
        if self._rest is not None:
            return
        self._loop = asyncio.get_running_loop()
        rest = AsyncRestClient(self._config, self._core, transport=self._async_transport)
        try:
            if self._venue_clock.due(self._config.clock_resync_interval_s):
                await rest.sync_clock()
            stream = UserStream(
                config=self._config,
                credentials=self._credentials,
                clock=self._venue_clock,
                on_event=self._recovery.on_event,
                on_subscribed=self._recovery.on_subscribed,
                resync_clock=rest.sync_clock,
            )
            self._rest = self._queries.rest = rest
            await stream.start()
        except BinanceBrokerError as error:
            self._rest = self._queries.rest = None
            await rest.aclose()
            raise BinanceBrokerError(f"cannot open the order-update stream: {error}") from None
        self._stream = stream
        self._spawn(self._resync_clock_forever(), "binance-clock", owed=False)
        deferred, self._deferred = self._deferred, []
        for action in deferred:
            action()

    async def disconnect(self) -> None:
        """Wait (bounded) for the answers still owed, then close the stream and the client."""
        owed = {task for task in self._owed if not task.done()}
        if owed:
            await asyncio.wait(owed, timeout=self._config.disconnect_timeout_s)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if self._rest is not None:
            await self._rest.aclose()
            self._rest = self._queries.rest = None
        self._loop = None

    def busy(self, client_order_id: ClientOrderId) -> bool:
        """True while a request about the order has no answer yet."""
        return self._requests.busy(client_order_id)

    async def venue_view(self, client_order_ids: Sequence[ClientOrderId]) -> ReconcilableBroker:
        """The venue's answers about ``client_order_ids`` and its open orders, read without
        blocking the loop; raises BinanceBrokerError when the venue cannot answer them all."""
        answers: dict[ClientOrderId, VenueOrder | None] = {}
        try:
            for coid in client_order_ids:
                answers[coid] = await self._queries.view(coid, self._symbols_of(coid))
            open_orders = await self._queries.open_orders()
        except (VenueError, TransportError, RateLimitBlocked, MalformedPayload) as error:
            raise BinanceBrokerError(f"the venue could not answer for reconciliation: {error}") from None
        # Reconciliation applies these answers now, save for orders with a request in flight.
        for coid, view in answers.items():
            if self.busy(coid):
                continue
            if view is None:
                self._tracker.adopt_missing(coid)
            else:
                self._tracker.adopt(view)
        for view in open_orders:  # reconciliation takes in those it does not know, with their fills
            coid = view.client_order_id
            if coid not in answers and not self.busy(coid) and self._tracker.get(coid) is None:
                self._tracker.adopt(view)
        return VenueSnapshot(self, answers, open_orders)

    @property
    def unknown_outcomes_total(self) -> int:
        """Requests whose outcome was unknown at first, since the start."""
        return self._requests.unknown_outcomes_total

    def health(self) -> BrokerHealth:
        """How the connection stands; the account is named by uid and key hint only."""
        limiter = self._limiter
        stream = self._stream
        blocked = limiter.blocked_until_ns if limiter.blocked_until_ns > self._clock.now_ns() else 0
        return BrokerHealth(
            name=self.name,
            environment=self._config.environment,
            account=self.account_label(),
            connected=stream is not None and stream.connected,
            requests_in_flight=self._rest.in_flight if self._rest is not None else 0,
            unknown_outcomes=self._requests.unknown_outcomes,
            rate_limited=limiter.rate_limited,
            blocked_until_ns=blocked,
            used_weight=limiter.used_weight,
            reconnects=stream.reconnects if stream is not None else 0,
            clock_offset_ms=self._venue_clock.offset_ms,
            last_error=self._last_error or (stream.last_error if stream is not None else ""),
        )

    # -- in the background -----------------------------------------------------------------

    async def _resync_clock_forever(self) -> None:
        while True:
            await asyncio.sleep(self._config.clock_resync_interval_s)
            try:
                await self._rest_client().sync_clock()
            except BinanceBrokerError as error:
                self._note_error(f"clock resync failed: {error}")

    # -- helpers -----------------------------------------------------------------------------

    def _rest_client(self) -> AsyncRestClient:
        rest = self._rest
        if rest is None:
            raise BinanceBrokerError("the broker is not connected")
        return rest

    def _emit(self, reports: Sequence[object]) -> None:
        """Publish ``reports`` (in the loop), then ask for any fills the venue counts unbooked."""
        for report in reports:
            self._publish(report)
        if self._tracker.needs_trades and self._rest is not None:
            self._recovery.recover_missing_trades()

    def _later(self, reports: Sequence[object]) -> None:
        """Publish from the loop after the current call returns (or once connected)."""
        if reports:
            self._when_connected(lambda: self._emit(reports), soon=True)

    def _when_connected(self, action: Callable[[], None], *, soon: bool = False) -> None:
        """Run ``action`` in the event loop: now (or ``soon``, after the current call) when
        called there, handed over when called from another thread, at ``connect`` before it."""
        loop = self._loop
        if loop is None or self._rest is None or loop.is_closed():
            self._deferred.append(action)
        elif _running_loop() is not loop:
            loop.call_soon_threadsafe(action)
        elif soon:
            loop.call_soon(action)
        else:
            action()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str, *, owed: bool = True) -> None:
        """Run ``coroutine`` as a task; an ``owed`` one (an order's request) is waited for by
        ``disconnect``, the others (recovery, clock) are simply stopped."""
        loop = self._loop or asyncio.get_running_loop()
        task = loop.create_task(coroutine, name=name)
        self._tasks.add(task)
        if owed:
            self._owed.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._owed.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            self._note_error(f"{task.get_name()} failed: {error}")
            log.error("binance: %s failed", task.get_name(), exc_info=error)

    def _note_error(self, message: str) -> None:
        self._last_error = self._credentials.redact(message)
        log.warning("binance: %s", self._last_error)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
