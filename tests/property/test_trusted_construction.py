"""Fast paths that skip checks already made must build exactly what the checked paths build."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValue
from domain.identifiers import InstrumentId, StrategyId
from domain.intents import OrderIntent
from domain.orders import Order, OrderType, TimeInForce
from domain.values import OrderSide, non_negative, positive, to_decimal
from tests.property.strategies import finite_decimals

PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2)
QUANTITIES = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=3)


@st.composite
def intents(draw: st.DrawFn) -> OrderIntent:
    kind = draw(st.sampled_from(list(OrderType)))
    return OrderIntent(
        strategy_id=StrategyId(draw(st.sampled_from(["sma", "s-1"]))),
        instrument_id=draw(st.sampled_from([InstrumentId("BTCUSDT.BINANCE"), "ETH-USD.COINBASE"])),  # type: ignore[arg-type]
        side=draw(st.sampled_from(list(OrderSide))),
        quantity=draw(QUANTITIES),
        order_type=kind,
        price=draw(PRICES) if kind.has_price else None,
        stop_price=draw(PRICES) if kind.has_stop else None,
        time_in_force=draw(st.sampled_from(list(TimeInForce))),
        reduce_only=draw(st.booleans()),
        post_only=kind is OrderType.LIMIT and draw(st.booleans()),
        ts_event=draw(st.integers(0, 2**62)),
    )


def _state(order: Order) -> tuple[object, ...]:
    slots = tuple(getattr(order, name) for name in Order.__slots__)
    return (*slots, type(order.instrument_id))


@given(intents(), st.integers(0, 2**62))
def test_an_order_from_its_intent_equals_the_order_built_term_by_term(intent: OrderIntent, ts: int) -> None:
    checked = Order(
        client_order_id="TP-1",
        instrument_id=intent.instrument_id,
        side=intent.side,
        order_type=intent.order_type,
        quantity=intent.quantity,
        price=intent.price,
        stop_price=intent.stop_price,
        time_in_force=intent.time_in_force,
        strategy_id=intent.strategy_id,
        reduce_only=intent.reduce_only,
        post_only=intent.post_only,
        ts_init=ts,
    )
    trusted = intent.to_order("TP-1", ts)
    assert _state(trusted) == _state(checked)


MARKET_BUY = OrderIntent(
    strategy_id=StrategyId("s"),
    instrument_id=InstrumentId("BTCUSDT.BINANCE"),
    side=OrderSide.BUY,
    quantity=Decimal(1),
    ts_event=0,
)


@pytest.mark.parametrize("ts", [-1, True, 1.5, "1"])
def test_an_order_from_an_intent_still_checks_its_time(ts: object) -> None:
    with pytest.raises(InvalidValue, match="ts_init"):
        MARKET_BUY.to_order("TP-1", ts)  # type: ignore[arg-type]


@pytest.mark.parametrize("coid", ["", "has space", "x" * 65])
def test_an_order_from_an_intent_still_checks_its_client_order_id(coid: str) -> None:
    with pytest.raises(InvalidValue, match="client_order_id"):
        MARKET_BUY.to_order(coid, 0)


def _outcome(check: Callable[[object, str], Decimal], value: object) -> tuple[str, object]:
    try:
        return "ok", check(value, "x")
    except InvalidValue as error:
        return "refused", error.problem


DECIMALS = st.one_of(
    finite_decimals(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("1e24"), Decimal("-1e24"), Decimal("-0"), Decimal("0E-8"), Decimal("1e-41")]),
)


@given(DECIMALS)
def test_positive_and_non_negative_treat_a_decimal_as_the_full_checks_do(value: Decimal) -> None:
    full = _outcome(to_decimal, value)
    checks: tuple[tuple[Callable[[object, str], Decimal], Callable[[Decimal], bool]], ...] = (
        (positive, lambda d: d > 0),
        (non_negative, lambda d: d >= 0),
    )
    for check, accepts in checks:
        got = _outcome(check, value)
        if full[0] == "refused":
            assert got[0] == "refused"
        else:
            expected = full[1]
            assert isinstance(expected, Decimal)
            assert got[0] == ("ok" if accepts(expected) else "refused")
            if got[0] == "ok":
                assert got[1] is value
