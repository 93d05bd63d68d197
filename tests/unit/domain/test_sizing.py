"""Sizing: fixed quantity, fixed fraction and volatility target, rounded down to what the venue takes."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from domain.errors import InstrumentRuleViolation, InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId, StrategyId
from domain.instrument import Instrument
from domain.intents import OrderIntent
from domain.orders import OrderType
from domain.sizing import (
    FixedFraction,
    FixedQuantity,
    SizingResult,
    VolatilityTarget,
    intent_for_target,
    target_position,
)
from domain.values import OrderSide

BTC = Instrument(
    id=InstrumentId("BTCUSDT.BINANCE"),
    base="BTC",
    quote="USDT",
    price_tick=Decimal("0.01"),
    lot_size=Decimal("0.001"),
)
STRICT = Instrument(
    id=InstrumentId("ETHUSDT.BINANCE"),
    base="ETH",
    quote="USDT",
    price_tick=Decimal("0.01"),
    lot_size=Decimal("0.01"),
    min_quantity=Decimal("0.05"),
    min_notional=Decimal("10"),
)
STRATEGY = StrategyId("test")


def size(
    sizer: object, *, instrument: Instrument = BTC, price: str = "100", equity: str = "10000", **kw: object
) -> SizingResult:
    return sizer.size(instrument=instrument, price=Decimal(price), equity=Decimal(equity), **kw)  # type: ignore[attr-defined, no-any-return]


# -- fixed quantity -----------------------------------------------------------------------------


def test_a_fixed_quantity_is_rounded_down_to_the_lot() -> None:
    result = size(FixedQuantity(Decimal("1.2349")))

    assert result.quantity == Decimal("1.234")
    assert result.reason == "fixed quantity 1.2349 = 1.2349, rounded down to the lot 0.001"


def test_a_fixed_quantity_ignores_strength_except_zero() -> None:
    assert size(FixedQuantity(Decimal(1)), strength=0.1).quantity == 1
    assert size(FixedQuantity(Decimal(1)), strength=0.0) == SizingResult(Decimal(0), "signal strength is 0")


# -- fixed fraction -----------------------------------------------------------------------------


def test_a_fixed_fraction_spends_that_share_of_equity_scaled_by_strength() -> None:
    sizer = FixedFraction(Decimal("0.1"))

    assert size(sizer, price="300").quantity == Decimal("3.333")
    half = size(sizer, price="300", strength=0.5)
    assert half.quantity == Decimal("1.666")
    assert half.reason == (
        "equity 10000 × fraction 0.1 × strength 0.5 / price 300 = 1.666666666666666666666666666666666666666,"
        " rounded down to the lot 0.001"
    )


def test_a_fixed_fraction_of_no_equity_is_nothing() -> None:
    assert size(FixedFraction(Decimal("0.1")), equity="0") == SizingResult(
        Decimal(0), "equity 0 is not positive"
    )
    assert size(FixedFraction(Decimal("0.1")), equity="-5").quantity == 0


def test_less_than_one_lot_is_zero_with_the_reason() -> None:
    result = size(FixedFraction(Decimal("0.01")), equity="1", price="30000")

    assert result.quantity == 0
    assert "less than one lot 0.001 of BTCUSDT.BINANCE" in result.reason


def test_below_the_minimum_quantity_is_zero_and_says_so() -> None:
    assert size(FixedQuantity(Decimal("0.05")), instrument=STRICT, price="200").quantity == Decimal("0.05")

    result = size(FixedQuantity(Decimal("0.0499")), instrument=STRICT, price="200")

    assert result.quantity == 0
    assert result.reason.endswith("rounded down to 0.04: below the minimum quantity 0.05 of ETHUSDT.BINANCE")


def test_below_the_minimum_notional_is_zero_and_says_so() -> None:
    assert size(FixedQuantity(Decimal("0.1")), instrument=STRICT, price="100").quantity == Decimal("0.1")

    result = size(FixedQuantity(Decimal("0.1")), instrument=STRICT, price="99.99")

    assert result.quantity == 0
    assert result.reason.endswith("notional 9.999 is below the minimum notional 10 of ETHUSDT.BINANCE")


# -- volatility target --------------------------------------------------------------------------


def test_a_volatility_target_risks_a_fraction_of_equity_per_atr_move() -> None:
    sizer = VolatilityTarget(Decimal("0.01"), Decimal(2))

    result = size(sizer, atr=2.5)  # 10000 × 0.01 / (2.5 × 2) = 20

    assert result.quantity == 20
    assert result.reason.startswith("equity 10000 × risk 0.01 × strength 1 / (ATR 2.5 × 2) = 20")


def test_the_atr_float_enters_as_its_shortest_decimal_not_its_binary_expansion() -> None:
    # Decimal(0.1) would be 0.1000000000000000055511151231257827...: 100 / that is 999.99...
    result = size(VolatilityTarget(Decimal("0.01"), Decimal(1)), atr=0.1)  # 100 / 0.1 = 1000 exactly

    assert result.quantity == 1000
    assert "ATR 0.1 " in result.reason


@pytest.mark.parametrize(
    ("atr", "reason"),
    [
        (None, "no ATR yet"),
        (math.nan, "ATR is NaN (the indicator is still warming up)"),
        (0.0, "ATR is 0: no volatility measured, the size would be unbounded"),
    ],
)
def test_no_usable_atr_sizes_to_zero_with_the_reason(atr: float | None, reason: str) -> None:
    assert size(VolatilityTarget(Decimal("0.01"), Decimal(2)), atr=atr) == SizingResult(Decimal(0), reason)


def test_a_size_beyond_any_market_is_zero_rather_than_an_absurd_order() -> None:
    result = size(VolatilityTarget(Decimal(1), Decimal("0.1")), atr=1e-300)

    assert result.quantity == 0
    assert "(ATR 1E-300 × 0.1) = 1.00000E+305: beyond any tradable quantity" in result.reason


@pytest.mark.parametrize("atr", [-1.0, math.inf, True, "2.5"])
def test_a_negative_infinite_or_non_numeric_atr_is_a_bug(atr: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        size(VolatilityTarget(Decimal("0.01"), Decimal(2)), atr=atr)

    assert caught.value.field == "atr"


def test_a_volatility_target_with_no_equity_or_no_strength_is_nothing() -> None:
    sizer = VolatilityTarget(Decimal("0.01"), Decimal(2))

    assert size(sizer, atr=1.0, equity="-1").reason == "equity -1 is not positive"
    assert size(sizer, atr=1.0, strength=0).reason == "signal strength is 0"


# -- parameters and inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field", "problem"),
    [
        (lambda: FixedQuantity(Decimal(0)), "quantity", "greater than zero"),
        (lambda: FixedQuantity(1.5), "quantity", "binary float"),  # type: ignore[arg-type]
        (lambda: FixedFraction(Decimal("1.5")), "fraction", "fraction in"),
        (lambda: FixedFraction(Decimal("NaN")), "fraction", "finite"),
        (lambda: FixedFraction(True), "fraction", "bool"),  # type: ignore[arg-type]
        (lambda: VolatilityTarget(Decimal(0), Decimal(1)), "risk_fraction", "greater than zero"),
        (lambda: VolatilityTarget(Decimal("0.01"), Decimal("-2")), "atr_multiple", "greater than zero"),
        (lambda: VolatilityTarget(Decimal("0.01"), Decimal("Infinity")), "atr_multiple", "finite"),
    ],
)
def test_bad_sizer_parameters_are_refused_naming_the_field(build: object, field: str, problem: str) -> None:
    with pytest.raises(InvalidParameter, match=problem) as caught:
        build()  # type: ignore[operator]

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"strength": 1.5}, "strength"),
        ({"strength": -0.1}, "strength"),
        ({"strength": math.nan}, "strength"),
        ({"strength": True}, "strength"),
        ({"strength": "1"}, "strength"),
        ({"price": Decimal(0)}, "price"),
        ({"price": 100.0}, "price"),
        ({"equity": 100.0}, "equity"),
    ],
)
def test_bad_inputs_are_refused_naming_them(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {
        "instrument": BTC,
        "price": Decimal(100),
        "equity": Decimal(1000),
    } | kwargs

    with pytest.raises(InvalidValue) as caught:
        FixedFraction(Decimal("0.1")).size(**arguments)  # type: ignore[arg-type]

    assert caught.value.field == field


# -- target positions and the orders that reach them --------------------------------------------


def test_target_position_from_a_side() -> None:
    assert target_position(OrderSide.BUY, Decimal(2), allow_short=False) == 2
    assert target_position(OrderSide.SELL, Decimal(2), allow_short=True) == -2
    assert target_position(OrderSide.SELL, Decimal(2), allow_short=False) == 0
    with pytest.raises(InvalidValue):
        target_position(OrderSide.BUY, Decimal(-1), allow_short=True)
    with pytest.raises(InvalidValue):
        target_position("BUY", Decimal(1), allow_short=True)  # type: ignore[arg-type]


def to_target(
    target: str,
    current: str,
    *,
    instrument: Instrument = BTC,
    price: str = "100",
    limit_price: Decimal | None = None,
) -> OrderIntent | None:
    return intent_for_target(
        Decimal(target),
        Decimal(current),
        instrument,
        price=Decimal(price),
        strategy_id=STRATEGY,
        ts_event=5,
        reason="rebalance",
        limit_price=limit_price,
    )


def must(intent: OrderIntent | None) -> OrderIntent:
    assert intent is not None
    return intent


def test_intent_for_target_orders_the_delta_rounded_down_to_the_lot() -> None:
    buy = must(to_target("2.0009", "0.5"))

    assert (buy.side, buy.quantity, buy.order_type, buy.reduce_only) == (
        OrderSide.BUY,
        Decimal("1.5"),
        OrderType.MARKET,
        False,
    )
    assert (buy.strategy_id, buy.instrument_id, buy.reason, buy.ts_event) == (
        STRATEGY,
        BTC.id,
        "rebalance",
        5,
    )


def test_intent_for_target_marks_an_order_that_only_reduces_as_reduce_only() -> None:
    cut = must(to_target("0.5", "2"))
    close = must(to_target("0", "-2"))
    flip = must(to_target("-1", "2"))

    assert (cut.side, cut.quantity, cut.reduce_only) == (OrderSide.SELL, Decimal("1.5"), True)
    assert (close.side, close.quantity, close.reduce_only) == (OrderSide.BUY, Decimal(2), True)
    assert (flip.side, flip.quantity, flip.reduce_only) == (OrderSide.SELL, Decimal(3), False)


def test_intent_for_target_is_none_when_there_is_nothing_worth_sending() -> None:
    assert to_target("1", "1") is None
    assert to_target("1.0009", "1") is None  # less than a lot
    assert to_target("0.14", "0.1", instrument=STRICT) is None  # 0.04 < min quantity 0.05
    assert to_target("0.19", "0.1", instrument=STRICT, price="100") is None  # 0.09 × 100 < min notional 10
    assert to_target("0.2", "0.1", instrument=STRICT, price="100") is not None


def test_intent_for_target_can_place_a_limit_on_the_tick() -> None:
    order = must(to_target("1", "0", limit_price=Decimal("99.5")))

    assert (order.order_type, order.price) == (OrderType.LIMIT, Decimal("99.5"))
    with pytest.raises(InstrumentRuleViolation):
        to_target("1", "0", limit_price=Decimal("99.555"))
