"""Orders to POST parameters (exact decimal strings), and the venue's answers back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.brokers.binance.errors import MalformedPayload
from adapters.brokers.binance.order_params import (
    fill_of_trade,
    fills_of_response,
    new_order_params,
    parse_order,
    venue_order,
)
from domain.orders import LiquiditySide, Order, OrderStatus, OrderType, TimeInForce
from domain.values import OrderSide
from tests.builders import BTCUSDT, make_order
from tests.unit.adapters.brokers.binance.payloads import T0_MS, my_trade, order_answer


def _params(order: Order) -> dict[str, object]:
    return dict(new_order_params(order))


def test_a_market_order() -> None:
    params = _params(make_order(order_type=OrderType.MARKET, side=OrderSide.SELL, quantity="0.5"))

    assert params == {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "MARKET",
        "quantity": "0.5",
        "newClientOrderId": "O-1",
        "newOrderRespType": "FULL",
    }


@pytest.mark.parametrize("tif", list(TimeInForce))
def test_a_limit_order_carries_its_time_in_force(tif: TimeInForce) -> None:
    params = _params(make_order(order_type=OrderType.LIMIT, price="100.50", time_in_force=tif))

    assert params["type"] == "LIMIT"
    assert params["timeInForce"] == tif.value
    assert params["price"] == "100.50"
    assert "stopPrice" not in params


def test_a_post_only_limit_is_a_limit_maker_without_time_in_force() -> None:
    order = Order(
        client_order_id="O-1",
        instrument_id=BTCUSDT,
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity="1",
        price="99",
        post_only=True,
        ts_init=1,
    )

    params = _params(order)

    assert params["type"] == "LIMIT_MAKER"
    assert "timeInForce" not in params
    assert params["price"] == "99"


def test_stop_orders() -> None:
    stop = _params(make_order(order_type=OrderType.STOP_MARKET, stop_price="105"))
    stop_limit = _params(make_order(order_type=OrderType.STOP_LIMIT, stop_price="105", price="104"))

    assert (stop["type"], stop["stopPrice"]) == ("STOP_LOSS", "105")
    assert "price" not in stop
    assert "timeInForce" not in stop
    assert (stop_limit["type"], stop_limit["stopPrice"], stop_limit["price"]) == (
        "STOP_LOSS_LIMIT",
        "105",
        "104",
    )
    assert stop_limit["timeInForce"] == "GTC"


@given(
    st.decimals(
        min_value=Decimal("1e-12"), max_value=Decimal("1e9"), places=12, allow_nan=False, allow_infinity=False
    )
)
def test_quantities_go_out_exactly_and_never_in_exponent_notation(quantity: Decimal) -> None:
    params = _params(make_order(order_type=OrderType.MARKET, quantity=quantity))

    sent = params["quantity"]
    assert isinstance(sent, str)
    assert "e" not in sent.lower()
    assert Decimal(sent) == quantity


def test_an_order_answer_is_read() -> None:
    state = parse_order(order_answer(status="PARTIALLY_FILLED", executedQty="0.4", updateTime=T0_MS + 5))

    assert state.order_id == "7"
    assert state.client_order_id == "O-1"
    assert state.our_status is OrderStatus.PARTIALLY_FILLED
    assert state.executed == Decimal("0.4")
    assert state.ts_ns == (T0_MS + 5) * 1_000_000


def test_a_cancel_answer_names_the_order_by_its_original_id() -> None:
    state = parse_order(order_answer(status="CANCELED", clientOrderId="cancel-x", origClientOrderId="O-1"))

    assert state.client_order_id == "O-1"
    assert state.our_status is OrderStatus.CANCELED


@pytest.mark.parametrize("drop", ["symbol", "orderId", "status", "side"])
def test_an_order_answer_without_a_needed_field_is_refused(drop: str) -> None:
    answer = order_answer()
    del answer[drop]
    with pytest.raises(MalformedPayload):
        parse_order(answer)


def test_the_fills_of_a_full_answer_are_taker_fills_with_their_fee_asset() -> None:
    answer = order_answer(
        status="FILLED",
        executedQty="1",
        fills=[
            {"price": "100.1", "qty": "0.4", "commission": "0.0004", "commissionAsset": "BTC", "tradeId": 56},
            {"price": "100.2", "qty": "0.6", "commission": "0.01", "commissionAsset": "BNB", "tradeId": 57},
        ],
    )
    state = parse_order(answer)

    fills = fills_of_response(answer, state, BTCUSDT, 0)

    assert [(f.trade_id, f.quantity, f.price, f.fee, f.fee_asset) for f in fills] == [
        ("56", Decimal("0.4"), Decimal("100.1"), Decimal("0.0004"), "BTC"),
        ("57", Decimal("0.6"), Decimal("100.2"), Decimal("0.01"), "BNB"),
    ]
    assert all(f.liquidity is LiquiditySide.TAKER for f in fills)
    assert all(f.venue_order_id == "7" and f.client_order_id == "O-1" for f in fills)
    assert fills[0].ts_event == T0_MS * 1_000_000


def test_a_trade_is_a_fill() -> None:
    fill = fill_of_trade(my_trade(12, "0.25"), client_order_id="O-1", instrument_id=BTCUSDT, fallback_ns=0)

    assert fill.trade_id == "12"
    assert fill.venue_order_id == "7"
    assert fill.side is OrderSide.BUY
    assert fill.liquidity is LiquiditySide.MAKER
    assert (fill.quantity, fill.fee, fill.fee_asset) == (Decimal("0.25"), Decimal("0.001"), "BNB")
    assert fill.ts_event == (T0_MS + 12) * 1_000_000
    assert fill.strategy_id is None


def test_a_venue_order_for_reconciliation() -> None:
    state = parse_order(order_answer(status="CANCELED", executedQty="0.25", type="LIMIT_MAKER"))
    fill = fill_of_trade(my_trade(12, "0.25"), client_order_id="O-1", instrument_id=BTCUSDT, fallback_ns=0)

    view = venue_order(state, (fill,), instrument_id=BTCUSDT, fallback_ns=0)

    assert view.status is OrderStatus.CANCELED
    assert view.order_type is OrderType.LIMIT
    assert view.price == Decimal("100")
    assert view.filled_quantity == Decimal("0.25")
    assert view.fills == (fill,)
    assert view.reason == "canceled at the venue"
    assert view.post_only  # a LIMIT_MAKER taken in stays post-only


def test_a_plain_limit_venue_order_is_not_post_only() -> None:
    state = parse_order(order_answer(type="LIMIT"))

    assert not venue_order(state, (), instrument_id=BTCUSDT, fallback_ns=0).post_only


def test_a_market_venue_order_has_no_price() -> None:
    state = parse_order(order_answer(type="MARKET", price="0.00000000"))

    assert venue_order(state, (), instrument_id=BTCUSDT, fallback_ns=0).price is None
