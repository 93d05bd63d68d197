"""The order lifecycle under random sequences of venue reports and requests.

Every rule applies one method to an order drawn from a bundle, in any state. A model of the
lifecycle (written from the design, not from ``TRANSITIONS``) says whether the move is
legal and where it leads: a legal move must do exactly that and be recorded as an event;
an illegal one must raise IllegalTransition (or Overfill / DuplicateFill where those
apply) and leave the order exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from domain.errors import IllegalTransition, Overfill
from domain.orders import DuplicateFill, Fill, Order, OrderStatus, OrderType
from domain.values import OrderSide
from tests.builders import BTCUSDT, STEP_NS, TS, make_fill_for

S = OrderStatus
LOT = Decimal("0.001")
TICK = Decimal("0.01")
WORKING = {S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING}
"""States in which the venue may still fill, cancel or expire the order."""


@dataclass
class Expected:
    """What the model says an order must look like."""

    order: Order
    statuses: list[OrderStatus] = field(default_factory=lambda: [S.INITIALIZED])
    fills: list[Fill] = field(default_factory=list)
    acknowledged: bool = False

    @property
    def status(self) -> OrderStatus:
        return self.statuses[-1]

    @property
    def filled(self) -> Decimal:
        return sum((f.quantity for f in self.fills), Decimal(0))


def state_of(order: Order) -> tuple[object, ...]:
    return (
        order.status,
        order.filled_quantity,
        order.avg_fill_price,
        len(order.events),
        len(order.fills),
        order.venue_order_id,
        order.ts_last,
    )


class OrderLifecycle(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.expected: dict[str, Expected] = {}
        self.clock = TS
        self.trade_ids = 0

    def tick(self) -> int:
        self.clock += STEP_NS
        return self.clock

    def attempt(
        self,
        model: Expected,
        move: Callable[[], None],
        legal: bool,
        error: type[Exception] = IllegalTransition,
    ) -> bool:
        """Run ``move``; when illegal it must raise ``error`` and change nothing."""
        if legal:
            move()
            return True
        before = state_of(model.order)
        with pytest.raises(error) as caught:
            move()
        if isinstance(caught.value, IllegalTransition):
            assert caught.value.from_state == model.status.value
            assert f"from {caught.value.from_state} to {caught.value.to_state}" in str(caught.value)
        assert state_of(model.order) == before
        return False

    # -- creation ----------------------------------------------------------------------------

    @precondition(lambda self: sum(not m.order.is_terminal for m in self.expected.values()) < 2)
    @rule(
        target=orders,
        side=st.sampled_from(OrderSide),
        lots=st.integers(1, 5_000),
        order_type=st.sampled_from([OrderType.MARKET, OrderType.LIMIT]),
    )
    def new_order(self, side: OrderSide, lots: int, order_type: OrderType) -> Order:
        order = Order(
            client_order_id=f"O-{len(self.expected) + 1}",
            instrument_id=BTCUSDT,
            side=side,
            order_type=order_type,
            quantity=lots * LOT,
            price=Decimal(100) if order_type.has_price else None,
            ts_init=self.tick(),
        )
        self.expected[order.client_order_id] = Expected(order)
        return order

    # -- moves -------------------------------------------------------------------------------

    @rule(order=orders)
    def submit(self, order: Order) -> None:
        model = self.expected[order.client_order_id]
        legal = model.status is S.INITIALIZED
        if self.attempt(model, lambda: order.submit(self.tick()), legal):
            model.statuses.append(S.SUBMITTED)

    @rule(order=orders, venue_id=st.integers(1, 10**6))
    def accept(self, order: Order, venue_id: int) -> None:
        model = self.expected[order.client_order_id]
        # A late ack during a pending cancel is recorded and keeps the order CANCEL_PENDING.
        late = model.status is S.CANCEL_PENDING and order.venue_order_id is None
        legal = model.status is S.SUBMITTED or late
        if self.attempt(model, lambda: order.accept(f"V-{venue_id}", self.tick()), legal):
            model.statuses.append(S.CANCEL_PENDING if late else S.ACCEPTED)
            model.acknowledged = True

    @rule(order=orders)
    def reject(self, order: Order) -> None:
        model = self.expected[order.client_order_id]
        legal = model.status in (S.INITIALIZED, S.SUBMITTED, S.CANCEL_PENDING)
        if self.attempt(model, lambda: order.reject("refused", self.tick()), legal):
            model.statuses.append(S.REJECTED)

    @rule(order=orders, quarters=st.integers(1, 4), ticks=st.integers(9_000, 11_000), fee=st.integers(-5, 50))
    def fill(self, order: Order, quarters: int, ticks: int, fee: int) -> None:
        """A fill of a quarter to all of what is left, at least one lot (one lot when nothing is left)."""
        model = self.expected[order.client_order_id]
        left_lots = int((order.quantity - model.filled) / LOT)
        lots = max(1, left_lots * quarters // 4)
        self.trade_ids += 1
        report = make_fill_for(
            order,
            quantity=lots * LOT,
            price=ticks * TICK,
            fee=Decimal(fee) / 100,
            trade_id=f"T-{self.trade_ids}",
            venue_order_id=f"V-fill-{self.trade_ids}",
            ts_event=self.tick(),
        )
        legal = model.status in WORKING
        if self.attempt(model, lambda: order.fill(report), legal):
            model.fills.append(report)
            model.acknowledged = True  # the fill brought a venue order id
            completes = model.filled == order.quantity
            pending = model.status is S.CANCEL_PENDING
            model.statuses.append(
                S.FILLED if completes else S.CANCEL_PENDING if pending else S.PARTIALLY_FILLED
            )

    @rule(order=orders, extra_lots=st.integers(1, 100))
    def overfill(self, order: Order, extra_lots: int) -> None:
        model = self.expected[order.client_order_id]
        self.trade_ids += 1
        report = make_fill_for(
            order,
            quantity=order.quantity - model.filled + extra_lots * LOT,
            trade_id=f"T-{self.trade_ids}",
            ts_event=self.tick(),
        )
        error = Overfill if model.status in WORKING else IllegalTransition
        self.attempt(model, lambda: order.fill(report), legal=False, error=error)

    @rule(order=orders)
    def replay_a_fill(self, order: Order) -> None:
        model = self.expected[order.client_order_id]
        if model.fills:
            self.attempt(model, lambda: order.fill(model.fills[-1]), legal=False, error=DuplicateFill)

    @rule(order=orders)
    def request_cancel(self, order: Order) -> None:
        model = self.expected[order.client_order_id]
        legal = model.status in (S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED)
        if self.attempt(model, lambda: order.request_cancel(self.tick()), legal):
            model.statuses.append(S.CANCEL_PENDING)

    @rule(order=orders)
    def cancel_rejected(self, order: Order) -> None:
        model = self.expected[order.client_order_id]
        legal = model.status is S.CANCEL_PENDING
        if self.attempt(model, lambda: order.cancel_rejected("too late", self.tick()), legal):
            if model.fills:
                back = S.PARTIALLY_FILLED
            elif model.acknowledged:
                back = S.ACCEPTED
            else:
                back = S.SUBMITTED
            model.statuses.append(back)

    @rule(order=orders)
    def cancel(self, order: Order) -> None:
        model = self.expected[order.client_order_id]
        # An order held engine-side (INITIALIZED, e.g. a stop) may be canceled before it is sent.
        legal = model.status in WORKING or model.status is S.INITIALIZED
        if self.attempt(model, lambda: order.cancel(self.tick()), legal):
            model.statuses.append(S.CANCELED)

    @rule(order=orders)
    def expire(self, order: Order) -> None:
        model = self.expected[order.client_order_id]
        if self.attempt(model, lambda: order.expire(self.tick()), model.status in WORKING):
            model.statuses.append(S.EXPIRED)

    @rule(order=orders, data=st.data())
    def progress(self, order: Order, data: st.DataObject) -> None:
        """A legal move that keeps the order working, so deep states are reached as often as
        the early ones (the rules above end most orders within a few steps)."""
        status = self.expected[order.client_order_id].status
        moves = {
            S.INITIALIZED: ["submit"],
            S.SUBMITTED: ["accept", "fill", "request_cancel"],
            S.ACCEPTED: ["fill", "request_cancel"],
            S.PARTIALLY_FILLED: ["fill", "request_cancel"],
            S.CANCEL_PENDING: ["fill", "cancel_rejected"],
        }.get(status, [])
        if not moves:
            return
        move = data.draw(st.sampled_from(moves), label="move")
        if move == "accept":
            self.accept(order, venue_id=data.draw(st.integers(1, 10**6), label="venue_id"))
        elif move == "fill":
            self.fill(order, quarters=data.draw(st.integers(1, 3), label="quarters"), ticks=10_000, fee=1)
        else:
            getattr(self, move)(order)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def orders_match_the_model(self) -> None:
        for model in self.expected.values():
            order = model.order
            assert order.status is model.status
            assert [event.status for event in order.events] == model.statuses
            assert [event.fill for event in order.events if event.fill is not None] == model.fills
            assert order.fills == model.fills

    @invariant()
    def the_journal_rebuilds_every_order(self) -> None:
        """What persistence relies on: replaying an order's events gives the same order."""
        for model in self.expected.values():
            order = model.order
            rebuilt = Order(
                client_order_id=order.client_order_id,
                instrument_id=order.instrument_id,
                side=order.side,
                order_type=order.order_type,
                quantity=order.quantity,
                price=order.price,
                stop_price=order.stop_price,
                time_in_force=order.time_in_force,
                strategy_id=order.strategy_id,
                reduce_only=order.reduce_only,
                ts_init=order.ts_init,
            )
            rebuilt.replay(order.events[1:])
            assert state_of(rebuilt) == state_of(order)
            assert rebuilt.events == order.events
            assert rebuilt.fills == order.fills

    @invariant()
    def terminal_orders_stay_terminal(self) -> None:
        for model in self.expected.values():
            terminal = [i for i, status in enumerate(model.statuses) if status.is_terminal]
            assert terminal in ([], [len(model.statuses) - 1])  # nothing ever follows a terminal state

    @invariant()
    def quantities_add_up(self) -> None:
        for model in self.expected.values():
            order = model.order
            assert order.filled_quantity == sum((f.quantity for f in order.fills), Decimal(0))
            assert 0 <= order.filled_quantity <= order.quantity
            expected_leaves = 0 if order.is_terminal else order.quantity - order.filled_quantity
            assert order.leaves_quantity == expected_leaves
            assert order.is_open == (order.status in WORKING)

    @invariant()
    def average_fill_price_lies_within_the_fill_prices(self) -> None:
        for model in self.expected.values():
            order = model.order
            if not order.fills:
                assert order.avg_fill_price is None
                continue
            prices = [f.price for f in order.fills]
            assert order.avg_fill_price is not None
            assert min(prices) <= order.avg_fill_price <= max(prices)
            weighted = sum(Fraction(f.quantity) * Fraction(f.price) for f in order.fills)
            exact = weighted / Fraction(order.filled_quantity)
            assert abs(Fraction(order.avg_fill_price) - exact) <= exact / 10**39  # 40 significant digits

    @invariant()
    def events_are_in_time_order(self) -> None:
        for model in self.expected.values():
            times = [event.ts_event for event in model.order.events]
            assert times == sorted(times)
            assert model.order.ts_last == times[-1]


TestOrderLifecycle = OrderLifecycle.TestCase
