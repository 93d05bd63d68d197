"""Recovery rules on the in-memory store: what a second engine takes from the first one's store."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from application.messages import OrderFilled
from application.recovery import recover
from domain.identifiers import TradeId
from domain.orders import Fill, Order, OrderStatus, OrderType
from domain.values import OrderSide
from tests.builders import make_instrument, make_intent
from tests.unit.application.harness import BTC, Harness, btc, eth

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


def _fill_paying_in(h: Harness, order: Order, quantity: str, price: str, *, fee: str, asset: str) -> None:
    """The venue reports a fill of ``order`` whose fee is paid in ``asset``."""
    h.bus.publish(
        OrderFilled(
            fill=Fill(
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                trade_id=TradeId(f"X-{order.client_order_id}-{len(order.fills) + 1}"),
                side=order.side,
                quantity=Decimal(quantity),
                price=Decimal(price),
                fee=Decimal(fee),
                fee_asset=asset,
                strategy_id=order.strategy_id,
                ts_event=h.advance(),
            )
        )
    )


def test_positions_and_fees_paid_in_the_base_asset_or_a_fee_token_are_rebuilt_identically(make: Make) -> None:
    bnb = make_instrument(base="BNB", lot_size="0.001")
    options = {"instruments": (btc(), eth(), bnb), "balances": {"USDT": "10000", "BNB": "1"}}
    first = make(broker="recording", **options)
    first.trade("100")
    first.trade("500", instrument_id=bnb.id)
    order = first.submit(make_intent(order_type=OrderType.LIMIT, quantity="4", price="100"))
    first.broker.accept(order, first.advance())
    _fill_paying_in(first, order, "1", "100", fee="0.001", asset="BTC")
    _fill_paying_in(first, order, "1", "100", fee="0.0002", asset="BNB")
    sell = first.submit(
        make_intent(side=OrderSide.SELL, order_type=OrderType.LIMIT, quantity="1", price="101")
    )
    first.broker.accept(sell, first.advance())
    _fill_paying_in(first, sell, "0.5", "101", fee="0.0005", asset="BTC")
    first.trades.commit()
    position = first.portfolio.positions[BTC]
    assert position.quantity == Decimal("1.4985")  # 2 bought, 0.001 fee, 0.5 sold and 0.0005 fee
    assert first.portfolio.account.balance("BTC") == position.quantity
    assert first.portfolio.fees_by_asset == {"BNB": Decimal("0.0002")}

    second = make(broker="recording", trades=first.trades, **options)
    report = recover(
        trades=second.trades,
        portfolio=second.portfolio,
        orders=second.orders,
        risk=second.risk,
        order_id_prefix="TP",
    )
    assert report.mismatches == []
    assert second.portfolio.positions[BTC].state() == position.state()
    assert second.portfolio.fees_by_asset == first.portfolio.fees_by_asset
    assert second.portfolio.account.balances == first.portfolio.account.balances
