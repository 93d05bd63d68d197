"""The order-update stream's events, and catching up with the venue after a (re)subscription.

Kept apart from ``broker`` (the ports' surface) because what the stream may have missed while it
was down is recovered by asking the venue, with its own retries: the trades since the last one
booked per symbol, the state of every order still open here, and the trades of an order whose
fills the venue counts but were never booked. ``StreamRecovery`` owns which orders' trades are
being asked for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.errors import BinanceBrokerError, MalformedPayload
from adapters.brokers.binance.execution_reports import OrderTracker
from adapters.brokers.binance.order_requests import OrderRequests, Reports, Spawn, unknown_outcome_backoff
from adapters.brokers.binance.venue_queries import TRADES_PAGE, VenueQueries
from domain.identifiers import ClientOrderId

log = logging.getLogger("tradeplane.broker.binance")


class StreamRecovery:
    """Turns the stream's events into reports and recovers what it missed. ``requests`` says
    which orders have a request of their own being settled (left to it); ``emit`` publishes in
    the loop; ``spawn`` runs the background tasks."""

    def __init__(
        self,
        *,
        config: BinanceBrokerConfig,
        queries: VenueQueries,
        tracker: OrderTracker,
        requests: OrderRequests,
        emit: Reports,
        spawn: Spawn,
        note_error: Callable[[str], None],
    ) -> None:
        self._config = config
        self._queries = queries
        self._tracker = tracker
        self._requests = requests
        self._emit = emit
        self._spawn = spawn
        self._note_error = note_error
        self._recovering_trades: set[ClientOrderId] = set()

    def on_event(self, event: Mapping[str, Any]) -> None:
        """One event of the order-update stream: an execution report or an account update."""
        kind = event.get("e")
        try:
            if kind == "executionReport":
                coid = event.get("C") or event.get("c")
                requests = self._requests
                if event.get("X") == "REJECTED" and requests.placing(coid) and not requests.unresolved(coid):
                    return  # the answer to the request says why, with the venue's code
                self._emit(self._tracker.on_execution_report(event))
            elif kind == "outboundAccountPosition":
                balances = self._tracker.on_balances(event)
                if balances is not None:
                    self._emit([balances])
        except MalformedPayload as error:
            self._tracker.stats.malformed += 1
            log.warning("binance: an order update could not be read: %s", error)

    def on_subscribed(self, why: str) -> None:
        """The stream is (again) subscribed: catch up in the background."""
        self._spawn(self._recover(why), "binance-background", owed=False)

    def recover_missing_trades(self) -> None:
        """Ask, in the background, for the trades of each order whose fills the venue counts but
        were not booked (once per order at a time)."""
        for coid in list(self._tracker.needs_trades):
            if coid not in self._recovering_trades:
                self._recovering_trades.add(coid)
                self._spawn(self._recover_order_trades(coid), "binance-background", owed=False)

    async def _recover(self, why: str) -> None:
        """After a (re)subscription: the trades since the last one booked per symbol, then the
        state of every order still open here, until the venue has answered."""
        backoff = unknown_outcome_backoff(self._config)
        while True:
            try:
                await self._recover_trades_since_last()
                for tracked in self._tracker.open_orders():
                    coid = tracked.client_order_id
                    if self._requests.unresolved(coid) or self._requests.placing(coid):
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
        backoff = unknown_outcome_backoff(self._config)
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
