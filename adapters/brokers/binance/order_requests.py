"""The broker's order requests: placing and canceling, and what is done when the venue refuses
them or leaves their outcome unknown.

Kept apart from ``broker`` (the ports' surface) so that the rules about one request can be read
in one place: a refusal is final, an unknown outcome is asked about until the venue answers
(``-2013`` counts only once the request can no longer be executed), a cancel never overtakes its
order's submission and waits out a rate-limit block. ``OrderRequests`` owns what is in flight:
the orders being placed, the requests still unanswered and those whose outcome is unknown.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol

from adapters.brokers.binance.config import BinanceBrokerConfig
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
from adapters.brokers.binance.rest import AsyncRestClient, Params, RestCore, clock_time
from adapters.brokers.binance.venue_clock import VenueClock
from adapters.brokers.binance.venue_queries import VenueQueries
from adapters.pacing import Backoff
from application.ports import Clock
from domain.identifiers import ClientOrderId, InstrumentId
from domain.orders import Order

log = logging.getLogger("tradeplane.broker.binance")

NO_RECORD = "the venue has no record of it: the request can no longer be executed"

Reports = Callable[[Sequence[object]], None]


class Spawn(Protocol):
    """Runs a coroutine as one of the broker's tasks; an ``owed`` one is waited for at disconnect."""

    def __call__(self, coroutine: Coroutine[Any, Any, None], name: str, *, owed: bool = True) -> None: ...


def unknown_outcome_backoff(config: BinanceBrokerConfig) -> Backoff:
    """How often to ask the venue again about something it has not answered yet."""
    return Backoff(config.unknown_outcome_retry_s, config.unknown_outcome_max_delay_s)


def precheck(
    order: Order, symbols: Mapping[str, InstrumentId], rules: Mapping[str, SymbolRules]
) -> str | None:
    """Why ``order`` cannot be sent (not this broker's symbol, unknown filters, a filter broken),
    or None."""
    symbol = order.instrument_id.symbol
    if order.instrument_id.venue != VENUE or symbol not in symbols:
        return f"{order.instrument_id} is not traded by this broker"
    symbol_rules = rules.get(symbol)
    if symbol_rules is None:
        return f"the filters of {symbol} are not known (the session was not started)"
    return check_order(order, symbol_rules)


class OrderRequests:
    """Places and cancels orders, each request in a task, and settles every outcome with the
    venue. ``emit`` publishes reports in the loop, ``later`` after the current call; ``spawn``
    runs a task the broker waits for at disconnect; ``rest`` is the connected client."""

    def __init__(
        self,
        *,
        config: BinanceBrokerConfig,
        clock: Clock,
        venue_clock: VenueClock,
        limiter: RateLimiter,
        core: RestCore,
        queries: VenueQueries,
        tracker: OrderTracker,
        rest: Callable[[], AsyncRestClient],
        emit: Reports,
        later: Reports,
        spawn: Spawn,
        note_error: Callable[[str], None],
    ) -> None:
        self._config = config
        self._clock = clock
        self._venue_clock = venue_clock
        self._limiter = limiter
        self._core = core
        self._queries = queries
        self._tracker = tracker
        self._rest = rest
        self._emit = emit
        self._later = later
        self._spawn = spawn
        self._note_error = note_error
        self._busy: Counter[ClientOrderId] = Counter()
        self._placing: dict[ClientOrderId, asyncio.Event] = {}
        self._unresolved: set[ClientOrderId] = set()
        self.unknown_outcomes_total = 0
        """Requests whose outcome was unknown at first, since the start."""

    # -- what is in flight ---------------------------------------------------------------------

    def busy(self, coid: ClientOrderId) -> bool:
        """True while a request about the order has no answer yet."""
        return self._busy[coid] > 0 or coid in self._placing

    def placing(self, coid: object) -> bool:
        """True while the order's submission has no answer yet."""
        return coid in self._placing

    def unresolved(self, coid: object) -> bool:
        """True while a request about the order has an unknown outcome being asked about."""
        return coid in self._unresolved

    @property
    def unknown_outcomes(self) -> int:
        """How many requests are being asked about now."""
        return len(self._unresolved)

    # -- placing -------------------------------------------------------------------------------

    def start_placing(self, order: Order) -> None:
        """Send ``order`` in a task, or reject it at once during a rate-limit block (in the loop)."""
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
                body = await self._rest().request(
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
        backoff = unknown_outcome_backoff(self._config)
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

    # -- canceling -----------------------------------------------------------------------------

    async def cancel(self, order: Order) -> None:
        """Cancel ``order`` (run as a task): after its submission is answered, until the venue
        says what became of it."""
        coid = order.client_order_id
        symbol = order.instrument_id.symbol
        self._busy[coid] += 1
        try:
            placing = self._placing.get(coid)
            if placing is not None:  # a cancel never overtakes its order's submission
                await placing.wait()
            params: Params = [("symbol", symbol), ("origClientOrderId", coid)]
            limited = unknown_outcome_backoff(self._config)
            while True:
                tracked = self._tracker.get(coid)
                if tracked is not None and tracked.final:
                    return
                try:
                    body = await self._rest().request("DELETE", "/api/v3/order", params, signed=True)
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
        backoff = unknown_outcome_backoff(self._config)
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
        backoff = unknown_outcome_backoff(self._config)
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

    def _release(self, coid: ClientOrderId) -> None:
        self._busy[coid] -= 1
        if self._busy[coid] <= 0:
            del self._busy[coid]
