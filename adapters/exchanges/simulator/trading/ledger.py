"""The venue's record of the account's orders and trades, and the lookups its endpoints make.

Order ids and trade ids grow per symbol, as on the venue. A client order id is unique among
open orders of a symbol; once an order ends its id may be used again, and a lookup by client
order id finds the newest order that carried it.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.exchanges.simulator.trading.errors import NO_SUCH_ORDER, VenueError
from adapters.exchanges.simulator.trading.orders import Fill, VenueOrder

MAX_LIMIT = 1000
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill of one of the account's orders, as myTrades lists it."""

    order: VenueOrder
    fill: Fill


class OrderLedger:
    """Every order of the account by symbol, the open ones in time order, and every trade."""

    def __init__(self, symbols: tuple[str, ...]) -> None:
        self._orders: dict[str, dict[int, VenueOrder]] = {symbol: {} for symbol in symbols}
        self._open: dict[str, dict[int, VenueOrder]] = {symbol: {} for symbol in symbols}
        self._by_client: dict[str, dict[str, VenueOrder]] = {symbol: {} for symbol in symbols}
        self._trades: list[Trade] = []
        self._sequence: list[VenueOrder] = []

    # -- recording ---------------------------------------------------------------------

    def add(self, order: VenueOrder) -> None:
        self._orders[order.symbol][order.order_id] = order
        self._by_client[order.symbol][order.client_order_id] = order
        self._sequence.append(order)
        if order.is_open:
            self._open[order.symbol][order.order_id] = order

    def closed(self, order: VenueOrder) -> None:
        """``order`` reached a final status: it no longer holds its client order id."""
        self._open[order.symbol].pop(order.order_id, None)

    def add_trade(self, order: VenueOrder, fill: Fill) -> None:
        self._trades.append(Trade(order, fill))

    # -- lookups -----------------------------------------------------------------------

    def open_client_id(self, symbol: str, client_order_id: str) -> bool:
        """True when an open order of ``symbol`` carries ``client_order_id``."""
        order = self._by_client[symbol].get(client_order_id)
        return order is not None and order.is_open

    def find(self, symbol: str, order_id: int | None, client_order_id: str | None) -> VenueOrder | None:
        """By order id (then its client id must match, if given), else by client order id."""
        if order_id is not None:
            order = self._orders[symbol].get(order_id)
            if order is not None and client_order_id is not None and order.client_order_id != client_order_id:
                return None
            return order
        if client_order_id is not None:
            return self._by_client[symbol].get(client_order_id)
        return None

    def get(self, symbol: str, order_id: int | None, client_order_id: str | None) -> VenueOrder:
        """As ``find``; -2013 when there is no such order."""
        order = self.find(symbol, order_id, client_order_id)
        if order is None:
            raise VenueError(-2013, NO_SUCH_ORDER)
        return order

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Open orders, oldest first (of one symbol, or of all)."""
        if symbol is not None:
            return list(self._open[symbol].values())
        return sorted(
            (order for orders in self._open.values() for order in orders.values()),
            key=lambda order: (order.created_ms, order.symbol, order.order_id),
        )

    def every_order(self) -> list[VenueOrder]:
        """All orders of the account in the order they were placed."""
        return list(self._sequence)

    def every_trade(self) -> list[Trade]:
        return list(self._trades)

    # -- endpoint queries ----------------------------------------------------------------

    def all_orders(
        self,
        symbol: str,
        *,
        from_order_id: int | None,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
    ) -> list[VenueOrder]:
        """allOrders: from an order id up, or within a time range, else the most recent."""
        check_range(start_ms, end_ms)
        orders = list(self._orders[symbol].values())
        if from_order_id is not None:
            return [order for order in orders if order.order_id >= from_order_id][:limit]
        orders = [order for order in orders if _within(order.created_ms, start_ms, end_ms)]
        return orders[:limit] if start_ms is not None else orders[-limit:]

    def my_trades(
        self,
        symbol: str,
        *,
        order_id: int | None,
        from_id: int | None,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
    ) -> list[Trade]:
        """myTrades: of one order, from a trade id up, within a time range, else the most recent."""
        if from_id is not None and (start_ms is not None or end_ms is not None):
            raise VenueError(-1128, "Combination of optional parameters invalid.")
        check_range(start_ms, end_ms)
        trades = [trade for trade in self._trades if trade.order.symbol == symbol]
        if order_id is not None:
            trades = [trade for trade in trades if trade.order.order_id == order_id]
        if from_id is not None:
            return [trade for trade in trades if trade.fill.trade_id >= from_id][:limit]
        trades = [trade for trade in trades if _within(trade.fill.time, start_ms, end_ms)]
        return trades[:limit] if start_ms is not None else trades[-limit:]


def check_range(start_ms: int | None, end_ms: int | None) -> None:
    """A time range the venue accepts: start before end, at most 24 hours apart."""
    if start_ms is not None and end_ms is not None:
        if end_ms < start_ms:
            raise VenueError(-1128, "Combination of optional parameters invalid.")
        if end_ms - start_ms > DAY_MS:
            raise VenueError(-1127, "More than 24 hours between startTime and endTime.")


def _within(time_ms: int, start_ms: int | None, end_ms: int | None) -> bool:
    return (start_ms is None or time_ms >= start_ms) and (end_ms is None or time_ms <= end_ms)
