"""BinanceBroker: Binance Spot behind the ``Broker``, ``ReconcilableBroker`` and
``ConnectedBroker`` ports.

Before the event loop runs, ``start_session`` (blocking) measures the venue's clock, reads the
symbols' filters and the rate limits from ``exchangeInfo``, the account and its commission
rates; startup reconciliation then asks ``query_order`` / ``query_open_orders`` (blocking).
In the loop, ``connect`` opens the order-update stream; ``submit`` and ``cancel`` return at
once and their requests run as tasks; every outcome is published later, from the loop, as the
broker reports of ``application.messages`` (``OrderTracker`` makes sure each is published once).

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
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.errors import (
    BinanceBrokerError,
    MalformedPayload,
    Outcome,
    RateLimitBlocked,
    TransportError,
    VenueError,
)
from adapters.brokers.binance.execution_reports import OrderTracker
from adapters.brokers.binance.instruments import SymbolRules, check_order
from adapters.brokers.binance.order_params import VENUE, fills_of_response, new_order_params, parse_order
from adapters.brokers.binance.rate_limits import RateLimiter
from adapters.brokers.binance.rest import AsyncRestClient, Params, RestCore, SyncRestClient, clock_time
from adapters.brokers.binance.session import AccountInfo, open_session, read_balances
from adapters.brokers.binance.user_stream import UserStream
from adapters.brokers.binance.venue_clock import VenueClock
from adapters.brokers.binance.venue_queries import TRADES_PAGE, VenueQueries, VenueSnapshot
from adapters.pacing import Backoff
from application.messages import VenueOrder
from application.ports import BrokerHealth, Clock, ReconcilableBroker
from domain.identifiers import ClientOrderId, InstrumentId
from domain.instrument import Instrument
from domain.orders import Order

log = logging.getLogger("tradeplane.broker.binance")

NO_RECORD = "the venue has no record of it: the request can no longer be executed"


class BinanceBroker:
    """Binance Spot; see the module docstring for its rules.

    ``publish`` is the bus's publish, called from the event loop only. ``instruments``: the
    instruments traded (those on BINANCE are this broker's symbols). ``clock`` is the engine's;
    reports carry the venue's times when it gives them. ``transport`` / ``async_transport``
    replace the network for the REST clients (tests).
    """

    name = "binance"
    supports_stop_orders = True

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
        self._busy: Counter[ClientOrderId] = Counter()
        self._placing: dict[ClientOrderId, asyncio.Event] = {}
        self._unresolved: set[ClientOrderId] = set()
        self._recovering_trades: set[ClientOrderId] = set()
        self._deferred: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.unknown_outcomes_total = 0
        """Requests whose outcome was unknown at first, since the start."""
        self._last_error = ""

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
        problem = self._precheck(order)
        if problem is not None:
            log.warning("binance: %s not sent: %s", order.client_order_id, problem)
            self._later(self._tracker.reject(order.client_order_id, problem, self._clock.now_ns()))
            return
        self._when_connected(lambda: self._start_placing(order))

    def cancel(self, order: Order) -> None:
        """Ask the venue to cancel ``order`` in a task (after its submission is answered)."""
        if not isinstance(order, Order):
            raise TypeError(f"cancel takes an Order, was {type(order).__name__}")
        self._tracker.track(order)
        self._when_connected(lambda: self._spawn(self._cancel(order), f"cancel-{order.client_order_id}"))

    def _precheck(self, order: Order) -> str | None:
        symbol = order.instrument_id.symbol
        if order.instrument_id.venue != VENUE or symbol not in self._symbols:
            return f"{order.instrument_id} is not traded by this broker"
        rules = self._rules.get(symbol)
        if rules is None:
            return f"the filters of {symbol} are not known (the session was not started)"
        return check_order(order, rules)

    def _start_placing(self, order: Order) -> None:
        coid = order.client_order_id
        wait, detail = self._core.admission(1, order=True)
        if wait > 0:
            self._limiter.local_refusals += 1
            log.warning("binance: %s not sent: %s", coid, detail)
            self._later(self._tracker.reject(coid, f"not sent: {detail}", self._clock.now_ns()))
            return
        self._placing[coid] = asyncio.Event()
        self._spawn(self._place(order), f"submit-{coid}")

    async def _place(self, order: Order) -> None:
        coid = order.client_order_id
        self._busy[coid] += 1
        try:
            try:
                body = await self._rest_client.request(
                    "POST", "/api/v3/order", new_order_params(order), signed=True, order=True, wait=False
                )
            except RateLimitBlocked as error:
                self._emit(self._tracker.reject(coid, f"not sent: {error.detail}", self._clock.now_ns()))
            except VenueError as error:
                if error.outcome is Outcome.UNKNOWN:
                    await self._resolve_submission(order, error)
                else:
                    self._refused(coid, error)
            except TransportError as error:
                await self._resolve_submission(order, error)
            else:
                try:
                    state = parse_order(body, client_order_id=coid)
                    fills = fills_of_response(body, state, order.instrument_id, self._clock.now_ns())
                except MalformedPayload as error:  # it was placed, but what it says is unreadable
                    await self._resolve_submission(order, error)
                else:
                    self._emit(self._tracker.on_order(state, fills))
        finally:
            self._release(coid)
            event = self._placing.pop(coid, None)
            if event is not None:
                event.set()

    def _refused(self, coid: ClientOrderId, error: VenueError) -> None:
        reason = error.reason
        if error.outcome is Outcome.RATE_LIMITED:
            reason += (
                f"; the venue's rate limit is in force until {clock_time(self._limiter.blocked_until_ns)}"
            )
        log.warning("binance: %s rejected: %s", coid, reason)
        self._emit(self._tracker.reject(coid, reason, self._clock.now_ns()))

    async def _resolve_submission(self, order: Order, error: BinanceBrokerError) -> None:
        """Ask the venue about an order whose submission has no known outcome, until it says."""
        coid = order.client_order_id
        sent_ms = getattr(error, "request_timestamp_ms", 0) or self._venue_clock.now_ms()
        self._unresolved.add(coid)
        self.unknown_outcomes_total += 1
        self._note_error(f"{coid}: outcome unknown ({error})")
        backoff = self._unknown_backoff()
        try:
            while True:
                await asyncio.sleep(backoff.next_delay())
                tracked = self._tracker.get(coid)
                if tracked is None or tracked.final:
                    return  # the order-update stream told it all
                try:
                    state = await self._queries.order(order.instrument_id.symbol, coid)
                except BinanceBrokerError as query_error:
                    self._note_error(f"{coid}: asking the venue failed ({query_error}); asking again")
                    continue
                if state is not None:
                    log.info("binance: %s found at the venue: %s", coid, state.status)
                    self._emit(self._tracker.on_order(state))
                    return
                margin = self._config.recv_window_ms + self._config.no_record_margin_ms
                if self._venue_clock.now_ms() > sent_ms + margin:
                    log.warning("binance: %s rejected: %s", coid, NO_RECORD)
                    self._emit(self._tracker.reject(coid, NO_RECORD, self._clock.now_ns()))
                    return
        finally:
            self._unresolved.discard(coid)

    async def _cancel(self, order: Order) -> None:
        coid = order.client_order_id
        symbol = order.instrument_id.symbol
        self._busy[coid] += 1
        try:
            placing = self._placing.get(coid)
            if placing is not None:  # a cancel never overtakes its order's submission
                await placing.wait()
            params: Params = [("symbol", symbol), ("origClientOrderId", coid)]
            limited = self._unknown_backoff()
            while True:
                tracked = self._tracker.get(coid)
                if tracked is not None and tracked.final:
                    return
                try:
                    body = await self._rest_client.request("DELETE", "/api/v3/order", params, signed=True)
                except VenueError as error:
                    if error.outcome is Outcome.RATE_LIMITED:  # the next request waits for the block
                        await asyncio.sleep(limited.next_delay())
                        continue
                    if error.outcome is Outcome.UNKNOWN:
                        if await self._settle_unknown_cancel(order, error):
                            return
                        continue
                    log.warning("binance: cancel of %s refused: %s", coid, error.reason)
                    self._emit(self._tracker.cancel_rejected(coid, error.reason, self._clock.now_ns()))
                    await self._settle(order)
                    return
                except TransportError as error:
                    if await self._settle_unknown_cancel(order, error):
                        return
                    continue
                try:
                    state = parse_order(body, client_order_id=coid)
                except MalformedPayload:
                    await self._settle(order)
                    return
                self._emit(self._tracker.on_order(state))
                return
        finally:
            self._release(coid)

    async def _settle_unknown_cancel(self, order: Order, error: BinanceBrokerError) -> bool:
        """A cancel with no known outcome: True once the venue says the order is closed,
        False when the cancel can no longer be executed and the order still works (resend)."""
        coid = order.client_order_id
        sent_ms = getattr(error, "request_timestamp_ms", 0) or self._venue_clock.now_ms()
        self._unresolved.add(coid)
        self.unknown_outcomes_total += 1
        self._note_error(f"cancel of {coid}: outcome unknown ({error})")
        backoff = self._unknown_backoff()
        try:
            while True:
                await asyncio.sleep(backoff.next_delay())
                tracked = self._tracker.get(coid)
                if tracked is not None and tracked.final:
                    return True
                try:
                    state = await self._queries.order(order.instrument_id.symbol, coid)
                except BinanceBrokerError as query_error:
                    self._note_error(f"{coid}: asking the venue failed ({query_error}); asking again")
                    continue
                if state is None:
                    return True  # nothing to cancel; reconciliation settles what the venue lost
                self._emit(self._tracker.on_order(state))
                if state.our_status.is_terminal:
                    return True
                margin = self._config.recv_window_ms + self._config.no_record_margin_ms
                if self._venue_clock.now_ms() > sent_ms + margin:
                    return False
        finally:
            self._unresolved.discard(coid)

    async def _settle(self, order: Order) -> None:
        """Ask the order's status (a refused cancel, an unreadable answer) until answered."""
        coid = order.client_order_id
        backoff = self._unknown_backoff()
        while True:
            try:
                state = await self._queries.order(order.instrument_id.symbol, coid)
            except BinanceBrokerError as error:
                self._note_error(f"{coid}: asking the venue failed ({error}); asking again")
                await asyncio.sleep(backoff.next_delay())
                continue
            if state is not None:
                self._emit(self._tracker.on_order(state))
            return

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
                on_event=self._on_event,
                on_subscribed=self._on_subscribed,
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
        return self._busy[client_order_id] > 0 or client_order_id in self._placing

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
            unknown_outcomes=len(self._unresolved),
            rate_limited=limiter.rate_limited,
            blocked_until_ns=blocked,
            used_weight=limiter.used_weight,
            reconnects=stream.reconnects if stream is not None else 0,
            clock_offset_ms=self._venue_clock.offset_ms,
            last_error=self._last_error or (stream.last_error if stream is not None else ""),
        )

    # -- the stream ----------------------------------------------------------------------------

    def _on_event(self, event: Mapping[str, Any]) -> None:
        kind = event.get("e")
        try:
            if kind == "executionReport":
                coid = event.get("C") or event.get("c")
                if event.get("X") == "REJECTED" and coid in self._placing and coid not in self._unresolved:
                    return  # the answer to the request says why, with the venue's code
                self._emit(self._tracker.on_execution_report(event))
            elif kind == "outboundAccountPosition":
                balances = self._tracker.on_balances(event)
                if balances is not None:
                    self._emit([balances])
        except MalformedPayload as error:
            self._tracker.stats.malformed += 1
            log.warning("binance: an order update could not be read: %s", error)

    def _on_subscribed(self, why: str) -> None:
        self._spawn(self._recover(why), "binance-background", owed=False)

    async def _recover(self, why: str) -> None:
        """After a (re)subscription: the trades since the last one booked per symbol, then the
        state of every order still open here, until the venue has answered."""
        backoff = self._unknown_backoff()
        while True:
            try:
                await self._recover_trades_since_last()
                for tracked in self._tracker.open_orders():
                    coid = tracked.client_order_id
                    if coid in self._unresolved or coid in self._placing:
                        continue  # its own request is being settled
                    state = await self._queries.order(tracked.symbol, coid)
                    if state is not None:
                        self._emit(self._tracker.on_order(state))
            except BinanceBrokerError as error:
                self._note_error(f"recovery after the stream {why} failed ({error}); trying again")
                await asyncio.sleep(backoff.next_delay())
                continue
            return

    async def _recover_trades_since_last(self) -> None:
        for symbol, last in sorted(self._tracker.last_trade_id.items()):
            from_id = last + 1
            while True:
                page = await self._queries.trades_from(symbol, from_id)
                self._emit(self._tracker.on_trades(symbol, page))
                ids = [t["id"] for t in page if isinstance(t, dict) and type(t.get("id")) is int]
                if len(page) < TRADES_PAGE or not ids:
                    break
                from_id = max(ids) + 1

    async def _recover_order_trades(self, coid: ClientOrderId) -> None:
        """Fills the venue counts for ``coid`` that have not been booked: ask for its trades."""
        backoff = self._unknown_backoff()
        try:
            while True:
                await asyncio.sleep(backoff.next_delay())
                tracked = self._tracker.get(coid)
                if tracked is None or not tracked.missing:
                    return
                if tracked.venue_order_id is None:
                    continue
                try:
                    trades = await self._queries.order_trades(tracked.symbol, tracked.venue_order_id)
                    self._emit(self._tracker.on_trades(tracked.symbol, trades))
                except BinanceBrokerError as error:
                    self._note_error(f"{coid}: asking for its trades failed ({error}); asking again")
        finally:
            self._recovering_trades.discard(coid)
            self._tracker.needs_trades.discard(coid)

    async def _resync_clock_forever(self) -> None:
        while True:
            await asyncio.sleep(self._config.clock_resync_interval_s)
            try:
                await self._rest_client.sync_clock()
            except BinanceBrokerError as error:
                self._note_error(f"clock resync failed: {error}")

    # -- helpers -----------------------------------------------------------------------------

    @property
    def _rest_client(self) -> AsyncRestClient:
        rest = self._rest
        if rest is None:
            raise BinanceBrokerError("the broker is not connected")
        return rest

    def _unknown_backoff(self) -> Backoff:
        return Backoff(self._config.unknown_outcome_retry_s, self._config.unknown_outcome_max_delay_s)

    def _emit(self, reports: Sequence[object]) -> None:
        """Publish ``reports`` (in the loop), then ask for any fills the venue counts unbooked."""
        for report in reports:
            self._publish(report)
        if self._tracker.needs_trades and self._rest is not None:
            for coid in list(self._tracker.needs_trades):
                if coid not in self._recovering_trades:
                    self._recovering_trades.add(coid)
                    self._spawn(self._recover_order_trades(coid), "binance-background", owed=False)

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

    def _release(self, coid: ClientOrderId) -> None:
        self._busy[coid] -= 1
        if self._busy[coid] <= 0:
            del self._busy[coid]

    def _note_error(self, message: str) -> None:
        self._last_error = self._credentials.redact(message)
        log.warning("binance: %s", self._last_error)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
