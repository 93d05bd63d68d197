"""The paper venue's order book-keeping: the ids it gives, its working and recently closed orders.

Reconciliation reads the venue through these (``PaperOrder``), as it would query a real one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from adapters.brokers.paper.matching import RestingOrders, WorkingOrder
from application.messages import VenueOrder
from domain.identifiers import ClientOrderId, InstrumentId, TradeId, VenueOrderId
from domain.values import EXACT, ZERO

HISTORY = 10_000
"""Closed orders kept for ``get`` (reconciliation); the oldest are forgotten first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperOrder(VenueOrder):
    """What the paper venue knows of an order (reconciliation); SUBMITTED until it arrives."""

    queue_ahead: Decimal | None = None

    @property
    def leaves_quantity(self) -> Decimal:
        return ZERO if self.status.is_terminal else EXACT.subtract(self.quantity, self.filled_quantity)

    @classmethod
    def of(cls, order: WorkingOrder) -> PaperOrder:
        return cls(
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
            instrument_id=order.instrument_id,
            side=order.side,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            price=order.price,
            quantity=order.quantity,
            filled_quantity=order.filled,
            status=order.status,
            strategy_id=order.strategy_id,
            fills=tuple(order.fills),
            reason=order.reason,
            ts_last=order.ts_last,
            queue_ahead=order.queue_ahead,
        )


class VenueIds:
    """The counters behind the venue's ids: order and trade ids under ``prefix``, and a sequence.

    The sequence orders what the venue is sent (time priority among our orders at one price,
    arrival order among equal arrival times); ``orders`` and ``trades`` count the ids given,
    so ids continue after a restart and none is ever given twice.
    """

    __slots__ = ("orders", "prefix", "sequence", "trades")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.sequence = 0
        self.orders = 0
        self.trades = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def next_order_id(self) -> VenueOrderId:
        self.orders += 1
        return VenueOrderId(f"{self.prefix}-{self.orders}")

    def next_trade_id(self) -> TradeId:
        self.trades += 1
        return TradeId(f"{self.prefix}-T{self.trades}")


class VenueOrders:
    """Orders at the venue: working (and, for limits, resting by instrument) or recently closed.

    ``working`` keeps arrival order, so queries answer oldest first; ``resting`` holds only
    instruments with a resting order, so a market event elsewhere costs one dictionary miss.
    """

    __slots__ = ("closed", "resting", "working")

    def __init__(self) -> None:
        self.working: dict[ClientOrderId, WorkingOrder] = {}
        self.resting: dict[InstrumentId, RestingOrders] = {}
        self.closed: OrderedDict[ClientOrderId, WorkingOrder] = OrderedDict()

    def rest(self, order: WorkingOrder) -> None:
        """Put a working limit ``order`` on its instrument's side, in price-time priority."""
        resting = self.resting.get(order.instrument_id)
        if resting is None:
            resting = self.resting[order.instrument_id] = RestingOrders()
        resting.add(order)

    def close(self, order: WorkingOrder) -> None:
        """``order`` stopped working (filled, canceled, expired): keep it among the closed."""
        if self.working.get(order.client_order_id) is order:
            del self.working[order.client_order_id]
        resting = self.resting.get(order.instrument_id)
        if resting is not None:
            resting.remove(order)
            if not resting:
                del self.resting[order.instrument_id]
        self.remember(order)

    def remember(self, order: WorkingOrder) -> None:
        """Keep a closed ``order`` for queries; beyond ``HISTORY`` the oldest is forgotten."""
        closed = self.closed
        closed[order.client_order_id] = order
        closed.move_to_end(order.client_order_id)
        if len(closed) > HISTORY:
            closed.popitem(last=False)

    # -- reconciliation queries -----------------------------------------------------------

    def open_orders(self, instrument_id: InstrumentId | None = None) -> list[PaperOrder]:
        """Orders working at the venue (of ``instrument_id``, if given), oldest first."""
        return [
            PaperOrder.of(order)
            for order in self.working.values()
            if instrument_id is None or order.instrument_id == instrument_id
        ]

    def view(
        self, client_order_id: ClientOrderId, in_flight: Callable[[ClientOrderId], WorkingOrder | None]
    ) -> PaperOrder | None:
        """One order: working, else still travelling (``in_flight`` finds it), else recently closed."""
        order = self.working.get(client_order_id)
        if order is None:
            order = in_flight(client_order_id)
        if order is None:
            order = self.closed.get(client_order_id)
        return None if order is None else PaperOrder.of(order)
