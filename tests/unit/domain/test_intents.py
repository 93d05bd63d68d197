"""domain.intents: an order intent (what sizing/strategies ask for) validates itself."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from domain.intents import OrderIntent
from domain.orders import OrderType, TimeInForce
from domain.values import OrderSide
from tests.builders import BTCUSDT, STRATEGY, TS, make_intent

NOT_POSITIVE = ["0", "-1", "-0.001", 0, -1]
NOT_A_DECIMAL = ["nan", "inf", "-inf", "1e999999", "", "abc", 1.5, True]


def test_market_intent_parses_its_quantity_and_has_no_prices() -> None:
    intent = make_intent(quantity="0.5")
    assert intent.strategy_id == STRATEGY
    assert intent.instrument_id == BTCUSDT
    assert intent.quantity == Decimal("0.5")
    assert intent.order_type is OrderType.MARKET
    assert intent.price is None
    assert intent.stop_price is None
    assert intent.time_in_force is TimeInForce.GTC
    assert intent.reduce_only is False
    assert intent.ts_event == TS


@pytest.mark.parametrize(
    ("order_type", "price", "stop_price"),
    [
        (OrderType.LIMIT, Decimal("100.5"), None),
        (OrderType.STOP_MARKET, None, Decimal("99")),
        (OrderType.STOP_LIMIT, Decimal("98.5"), Decimal("99")),
    ],
)
def test_intent_parses_the_prices_its_type_needs(
    order_type: OrderType, price: Decimal | None, stop_price: Decimal | None
) -> None:
    intent = make_intent(
        order_type=order_type,
        price=None if price is None else str(price),
        stop_price=None if stop_price is None else str(stop_price),
    )
    assert (intent.price, intent.stop_price) == (price, stop_price)


@pytest.mark.parametrize(
    ("side", "signed"), [(OrderSide.BUY, Decimal("2.5")), (OrderSide.SELL, Decimal("-2.5"))]
)
def test_intent_signed_quantity_is_negative_for_a_sell(side: OrderSide, signed: Decimal) -> None:
    assert make_intent(side=side, quantity="2.5").signed_quantity == signed


def test_intent_signed_quantity_keeps_every_digit() -> None:
    quantity = "1234567890123456789.0123456789"  # 29 digits: more than the default context holds
    assert make_intent(side=OrderSide.SELL, quantity=quantity).signed_quantity == Decimal("-" + quantity)


def test_intent_is_immutable() -> None:
    with pytest.raises(AttributeError):
        make_intent().quantity = Decimal(2)  # type: ignore[misc]


@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL + [None])
def test_intent_refuses_a_quantity_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="quantity"):
        make_intent(quantity=raw)


@pytest.mark.parametrize("order_type", [OrderType.LIMIT, OrderType.STOP_LIMIT])
@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_intent_refuses_a_limit_price_that_is_not_a_positive_decimal(
    order_type: OrderType, raw: object
) -> None:
    with pytest.raises(InvalidValue, match="price"):
        make_intent(order_type=order_type, price=raw)


@pytest.mark.parametrize("order_type", [OrderType.LIMIT, OrderType.STOP_LIMIT])
def test_intent_refuses_a_limit_type_without_a_price(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match="price"):
        OrderIntent(
            strategy_id=STRATEGY,
            instrument_id=BTCUSDT,
            side=OrderSide.BUY,
            quantity=Decimal(1),
            order_type=order_type,
            price=None,
            stop_price=Decimal(105) if order_type.has_stop else None,
            ts_event=TS,
        )


@pytest.mark.parametrize("order_type", [OrderType.STOP_MARKET, OrderType.STOP_LIMIT])
def test_intent_refuses_a_stop_type_without_a_stop_price(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match="stop_price"):
        OrderIntent(
            strategy_id=STRATEGY,
            instrument_id=BTCUSDT,
            side=OrderSide.BUY,
            quantity=Decimal(1),
            order_type=order_type,
            price=Decimal(100) if order_type.has_price else None,
            stop_price=None,
            ts_event=TS,
        )


@pytest.mark.parametrize("order_type", [OrderType.MARKET, OrderType.STOP_MARKET])
def test_intent_refuses_a_price_on_a_market_type(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match=f"price must not be set on a {order_type.value} order"):
        make_intent(order_type=order_type, price="100")


@pytest.mark.parametrize("order_type", [OrderType.STOP_MARKET, OrderType.STOP_LIMIT])
@pytest.mark.parametrize("raw", NOT_POSITIVE + NOT_A_DECIMAL)
def test_intent_refuses_a_stop_price_that_is_not_a_positive_decimal(
    order_type: OrderType, raw: object
) -> None:
    with pytest.raises(InvalidValue, match="stop_price"):
        make_intent(order_type=order_type, stop_price=raw)


@pytest.mark.parametrize("order_type", [OrderType.MARKET, OrderType.LIMIT])
def test_intent_refuses_a_stop_price_on_a_type_without_a_stop(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match=f"stop_price must not be set on a {order_type.value} order"):
        make_intent(order_type=order_type, stop_price="99")


@pytest.mark.parametrize("raw", ["BUY", "SELL", 1, -1, True, None])
def test_intent_refuses_a_side_that_is_not_an_order_side(raw: object) -> None:
    with pytest.raises(InvalidValue, match="side"):
        make_intent(side=raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["LIMIT", "MARKET", None, 1])
def test_intent_refuses_an_order_type_that_is_not_an_order_type(raw: object) -> None:
    with pytest.raises(InvalidValue, match="order_type"):
        OrderIntent(
            strategy_id=STRATEGY,
            instrument_id=BTCUSDT,
            side=OrderSide.BUY,
            quantity=Decimal(1),
            order_type=raw,  # type: ignore[arg-type]
            ts_event=TS,
        )


@pytest.mark.parametrize("raw", ["GTC", "IOC", None, 0])
def test_intent_refuses_a_time_in_force_that_is_not_a_time_in_force(raw: object) -> None:
    with pytest.raises(InvalidValue, match="time_in_force"):
        make_intent(time_in_force=raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [-1, True, 1.5, "1700000000000000000", None])
def test_intent_refuses_a_timestamp_that_is_not_non_negative_nanoseconds(raw: object) -> None:
    with pytest.raises(InvalidValue, match="ts_event must be a non-negative integer of nanoseconds"):
        make_intent(ts_event=raw)  # type: ignore[arg-type]


def test_an_intent_is_not_post_only_unless_asked() -> None:
    assert make_intent().post_only is False
    assert replace(make_intent(order_type=OrderType.LIMIT), post_only=True).post_only is True


@pytest.mark.parametrize("order_type", [OrderType.MARKET, OrderType.STOP_MARKET, OrderType.STOP_LIMIT])
def test_intent_refuses_post_only_on_a_type_that_is_not_a_limit(order_type: OrderType) -> None:
    with pytest.raises(InvalidValue, match=f"post_only is only for a LIMIT order, not {order_type.value}"):
        replace(make_intent(order_type=order_type), post_only=True)


@pytest.mark.parametrize("raw", [1, "true", None])
def test_intent_refuses_a_post_only_that_is_not_a_bool(raw: object) -> None:
    with pytest.raises(InvalidValue, match="post_only must be true or false"):
        replace(make_intent(order_type=OrderType.LIMIT), post_only=raw)  # type: ignore[arg-type]
