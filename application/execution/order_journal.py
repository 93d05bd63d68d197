"""The order journal: every order event appended to the trades store, and the orders in memory."""

from __future__ import annotations

from collections import deque

from application.messages import OrderUpdated
from application.ports import EventBus, TradeRepository
from domain.identifiers import ClientOrderId
from domain.orders import Order

RECENT_CLOSED_ORDERS = 10_000
"""Closed orders kept in memory for quick lookups; older ones are read from the trade store."""


class OrderJournal:
    """Knows every order of this session and writes each of its events exactly once.

    ``orders`` holds the working orders and the most recent closed ones; an older order is
    read back from the trades store when asked for (``find``), so memory stays flat on long
    runs. ``record`` appends the events an order made since it was last recorded to the
    store's unit of work and tells observers (OrderUpdated); nothing here commits.
    """

    __slots__ = ("_bus", "_closed", "_recorded", "_trades", "open_orders", "orders")

    def __init__(self, *, trades: TradeRepository, bus: EventBus) -> None:
        self._trades = trades
        self._bus = bus
        self._recorded: dict[ClientOrderId, int] = {}
        self._closed: deque[ClientOrderId] = deque()
        self.orders: dict[ClientOrderId, Order] = {}
        """Working orders and the most recent closed ones."""
        self.open_orders: dict[ClientOrderId, Order] = {}

    def add(self, order: Order) -> None:
        """A new order: into the store's unit of work (first: a store that refuses it leaves no
        trace here), then tracked and its first events recorded."""
        self._trades.add_order(order)
        self.track(order, recorded=0)
        self.record(order)

    def track(self, order: Order, *, recorded: int) -> None:
        """Track a working order whose first ``recorded`` events are in the store already."""
        coid = order.client_order_id
        self.orders[coid] = order
        self.open_orders[coid] = order
        self._recorded[coid] = recorded

    def find(self, client_order_id: ClientOrderId) -> Order | None:
        """An order of this session, or an older one from the trades store, or None."""
        order = self.orders.get(client_order_id)
        if order is not None:
            return order
        order = self._trades.get_order(client_order_id)
        if order is not None and client_order_id not in self._recorded:
            self._recorded[client_order_id] = len(order.events)  # the store has these already
        return order

    def record(self, order: Order) -> None:
        """Append the order's events not yet recorded, and tell observers about each."""
        coid = order.client_order_id
        done = self._recorded.get(coid, 0)
        events = order.events
        if done == len(events):
            return
        notify = self._bus.wants(OrderUpdated)
        for event in events[done:]:
            self._trades.append_order_event(event)
            if notify:
                self._bus.publish(
                    OrderUpdated(
                        event=event, instrument_id=order.instrument_id, strategy_id=order.strategy_id
                    )
                )
        self._recorded[coid] = len(events)

    def close(self, order: Order) -> None:
        """The order reached a terminal state: record it, and keep it only among the recent ones."""
        coid = order.client_order_id
        if self.open_orders.pop(coid, None) is not None:
            self._closed.append(coid)
        self.record(order)
        while len(self._closed) > RECENT_CLOSED_ORDERS:
            forgotten = self._closed.popleft()
            self.orders.pop(forgotten, None)
            self._recorded.pop(forgotten, None)
