"""Recovery rules on the in-memory store: what a second engine takes from the first one's store."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from application.recovery import recover
from domain.orders import OrderStatus, OrderType
from domain.values import OrderSide
from tests.builders import make_intent
from tests.unit.application.harness import BTC, Harness

Make = Callable[..., Harness]


def _second(make: Make, first: Harness) -> Harness:
    """A new engine on the first one's trade store (as after a restart)."""
    return make(broker="recording", trades=first.trades)


def test_a_new_store_gets_the_opening_balances(make: Make) -> None:
    h = make(broker="recording")
    report = recover(
        trades=h.trades, portfolio=h.portfolio, orders=h.orders, risk=h.risk, order_id_prefix="TP"
    )
    assert report.fresh_store
    assert h.trades.stored_balances() == h.portfolio.account.balances


def test_positions_come_from_the_fills_and_a_disagreeing_projection_is_reported(make: Make) -> None:
    first = make(broker="recording")
    first.trade("100")
    order = first.submit(make_intent(order_type=OrderType.LIMIT, quantity="2", price="100"))
    first.broker.accept(order, first.advance())
    first.broker.fill(order, "2", "100", first.advance(), fee="0.1")
    expected = first.portfolio.positions[BTC].state()
    first.trades.positions[BTC] = (Decimal(9), Decimal(0), Decimal(0), Decimal(0), 1)  # a bad projection

    second = _second(make, first)
    report = recover(
        trades=second.trades,
        portfolio=second.portfolio,
        orders=second.orders,
        risk=second.risk,
        order_id_prefix="TP",
    )
    assert second.portfolio.positions[BTC].state() == expected
    assert len(report.mismatches) == 1
    assert "differs from the fold" in report.mismatches[0]
    assert second.portfolio.account.balances == first.portfolio.account.balances


def test_working_orders_are_adopted_in_flight_ones_stay_in_flight_and_ids_continue(make: Make) -> None:
    first = make(broker="recording")
    first.trade("100")
    acked = first.submit(make_intent(order_type=OrderType.LIMIT, quantity="1", price="90"))
    first.broker.accept(acked, first.advance())
    in_flight = first.submit(make_intent(order_type=OrderType.LIMIT, quantity="1", price="91"))
    stop = first.submit(make_intent(order_type=OrderType.STOP_MARKET, side=OrderSide.SELL, stop_price="80"))
    first.trades.commit()

    second = _second(make, first)
    report = recover(
        trades=second.trades,
        portfolio=second.portfolio,
        orders=second.orders,
        risk=second.risk,
        order_id_prefix="TP",
    )
    assert set(second.orders.open_orders) == {
        acked.client_order_id,
        in_flight.client_order_id,
        stop.client_order_id,
    }
    assert report.in_flight == 1
    assert second.orders.open_orders[in_flight.client_order_id].status is OrderStatus.SUBMITTED
    assert [held.client_order_id for held in second.orders.held_stops] == [stop.client_order_id]
    second.trade("100")
    assert (
        second.submit(make_intent(order_type=OrderType.LIMIT, quantity="1", price="90")).client_order_id
        == "TP-4"
    )
    # the adopted order's journal continues where it stopped (no event written twice)
    second.broker.accept(second.orders.open_orders[in_flight.client_order_id], second.advance())
    assert [e.status for e in second.trades.journal(in_flight.client_order_id)] == [
        OrderStatus.INITIALIZED,
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
    ]
