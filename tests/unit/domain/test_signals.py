"""domain.signals: a strategy's intent (side or target position), strength, reason, time."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from domain.values import OrderSide
from tests.builders import BTCUSDT, STRATEGY, TS, make_signal


def test_signal_with_a_side_carries_who_what_how_strong_why_and_when() -> None:
    signal = make_signal(side=OrderSide.SELL, strength=0.25, reason="RSI above 70")
    assert signal.strategy_id == STRATEGY
    assert signal.instrument_id == BTCUSDT
    assert signal.side is OrderSide.SELL
    assert signal.target_position is None
    assert signal.strength == 0.25
    assert signal.reason == "RSI above 70"
    assert signal.ts_event == TS


@pytest.mark.parametrize(("raw", "expected"), [("-0.5", Decimal("-0.5")), ("0", Decimal(0)), (3, Decimal(3))])
def test_signal_with_a_target_position_parses_it_signed(raw: object, expected: Decimal) -> None:
    signal = make_signal(side=None, target_position=raw)
    assert signal.side is None
    assert signal.target_position == expected


def test_signal_is_immutable() -> None:
    signal = make_signal()
    with pytest.raises(AttributeError):
        signal.strength = 0.5  # type: ignore[misc]


@pytest.mark.parametrize("strength", [0, 0.0, 1, 0.5, 1.0])
def test_signal_accepts_strength_within_zero_and_one(strength: float) -> None:
    assert make_signal(strength=strength).strength == strength


def test_signal_refuses_both_a_side_and_a_target() -> None:
    with pytest.raises(InvalidValue, match="side/target_position exactly one must be set"):
        make_signal(side=OrderSide.BUY, target_position="1")


def test_signal_refuses_neither_a_side_nor_a_target() -> None:
    with pytest.raises(InvalidValue, match="side/target_position exactly one must be set"):
        make_signal(side=None, target_position=None)


@pytest.mark.parametrize("raw", ["BUY", "buy", 1, -1, True, "SELL"])
def test_signal_refuses_a_side_that_is_not_an_order_side(raw: object) -> None:
    with pytest.raises(InvalidValue, match="side"):
        make_signal(side=raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1e999999", "", "abc", 0.5, True])
def test_signal_refuses_a_target_position_that_is_not_a_finite_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="target_position"):
        make_signal(side=None, target_position=raw)


@pytest.mark.parametrize("raw", [-0.01, 1.01, 2, -1, float("nan"), float("inf"), float("-inf")])
def test_signal_refuses_a_strength_outside_zero_and_one(raw: float) -> None:
    with pytest.raises(InvalidValue, match="strength must be within"):
        make_signal(strength=raw)


@pytest.mark.parametrize("raw", [True, False, "1", Decimal("0.5"), None])
def test_signal_refuses_a_strength_that_is_not_a_number(raw: object) -> None:
    with pytest.raises(InvalidValue, match="strength must be a number"):
        make_signal(strength=raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["", "   ", "\n", None, 5])
def test_signal_refuses_an_empty_reason(raw: object) -> None:
    with pytest.raises(InvalidValue, match="reason must be a non-empty sentence"):
        make_signal(reason=raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [-1, True, 1.5, "1700000000000000000", None])
def test_signal_refuses_a_timestamp_that_is_not_non_negative_nanoseconds(raw: object) -> None:
    with pytest.raises(InvalidValue, match="ts_event must be a non-negative integer of nanoseconds"):
        make_signal(ts_event=raw)  # type: ignore[arg-type]
