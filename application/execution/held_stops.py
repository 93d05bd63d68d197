"""Stop orders the engine holds for a venue without native stops, until the market trades through."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from domain.identifiers import ClientOrderId
from domain.market_data import TradeTick
from domain.orders import Order, OrderStatus
from domain.values import OrderSide


class HeldStops:
    """The stop orders journaled but not sent: each waits for a trade at or through its stop.

    A held order is INITIALIZED, has a stop price and was never triggered. A buy stop triggers
    on a trade at or above its stop, a sell stop at or below. ``on_change`` is called when the
    first order is held and when the last one is released (the stop manager watches trades
    only while there is something to watch).
    """

    __slots__ = ("on_change", "orders")

    def __init__(self) -> None:
        self.orders: dict[ClientOrderId, Order] = {}
        """The held orders by client order id."""
        self.on_change: Callable[[], None] | None = None

    @staticmethod
    def should_hold(order: Order, *, native_stops: bool) -> bool:
        """True for a stop order the venue cannot hold itself and that has not triggered yet."""
        return (
            not native_stops
            and order.order_type.has_stop
            and order.triggered_price is None
            and order.status is OrderStatus.INITIALIZED
        )

    def add(self, order: Order) -> None:
        was_empty = not self.orders
        self.orders[order.client_order_id] = order
        if was_empty:
            self._changed()

    def pop(self, client_order_id: ClientOrderId) -> Order | None:
        """Stop holding the order (it was canceled); None when it was not held."""
        order = self.orders.pop(client_order_id, None)
        if order is not None and not self.orders:
            self._changed()
        return order

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self.orders

    def __iter__(self) -> Iterator[Order]:
        return iter(tuple(self.orders.values()))

    def crossed(self, tick: TradeTick) -> list[Order]:
        """The held orders ``tick`` triggers, in the order they were held; they are no longer held."""
        crossed = []
        price = tick.price
        for order in tuple(self.orders.values()):
            stop = order.stop_price
            if order.instrument_id != tick.instrument_id or stop is None:
                continue
            if price >= stop if order.side is OrderSide.BUY else price <= stop:
                del self.orders[order.client_order_id]
                crossed.append(order)
        if crossed and not self.orders:
            self._changed()
        return crossed

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
