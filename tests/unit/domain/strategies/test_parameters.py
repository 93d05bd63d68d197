"""Parameter dataclasses: strings and typed values in, unknown keys, bools and bad ranges out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidParameter
from domain.strategies import (
    BollingerBreakoutParams,
    PriceSource,
    RsiMeanReversionParams,
    SmaCrossoverParams,
)


def test_defaults() -> None:
    assert SmaCrossoverParams.from_mapping({}) == SmaCrossoverParams(
        fast=10, slow=30, source=PriceSource.TRADE
    )
    assert RsiMeanReversionParams.from_mapping({}) == RsiMeanReversionParams(
        period=14, oversold=30.0, overbought=70.0
    )
    assert BollingerBreakoutParams.from_mapping({}) == BollingerBreakoutParams(period=20, num_std=2.0)


def test_strings_from_the_command_line_are_parsed() -> None:
    params = SmaCrossoverParams.from_mapping({"fast": " 5 ", "slow": "+20", "source": "MID"})

    assert params == SmaCrossoverParams(fast=5, slow=20, source=PriceSource.MID)
    assert type(params.fast) is int


def test_numbers_are_stored_as_floats_whatever_form_they_came_in() -> None:
    from_text = RsiMeanReversionParams.from_mapping({"oversold": "25", "overbought": "7.5e1"})
    from_int = RsiMeanReversionParams.from_mapping({"oversold": 25, "overbought": Decimal("75")})

    assert from_text == from_int == RsiMeanReversionParams(oversold=25.0, overbought=75.0)
    assert type(from_int.oversold) is float
    assert type(BollingerBreakoutParams(num_std=3).num_std) is float


def test_typed_construction_normalizes_the_source() -> None:
    params = BollingerBreakoutParams(source="bar")  # type: ignore[arg-type]

    assert params.source is PriceSource.BAR


def test_unknown_key_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(InvalidParameter) as raised:
        SmaCrossoverParams.from_mapping({"fast": 5, "sloww": 20})

    assert raised.value.field == "sloww"
    assert "sma_crossover" in str(raised.value)
    assert "allowed: fast, slow, source" in str(raised.value)


def test_a_key_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="must be strings"):
        SmaCrossoverParams.from_mapping({1: 5})  # type: ignore[dict-item]


def test_a_mapping_is_required() -> None:
    with pytest.raises(InvalidParameter, match="mapping"):
        SmaCrossoverParams.from_mapping([("fast", 5)])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("params_type", "mapping", "field", "problem"),
    [
        # bools are not ints, nor numbers
        (SmaCrossoverParams, {"fast": True}, "fast", "must be an int, not bool"),
        (RsiMeanReversionParams, {"oversold": False}, "oversold", "must be a number, not bool"),
        (BollingerBreakoutParams, {"num_std": True}, "num_std", "must be a number, not bool"),
        # wrong types and malformed strings
        (SmaCrossoverParams, {"fast": 5.0}, "fast", "must be an int, not float"),
        (SmaCrossoverParams, {"fast": "5.0"}, "fast", "must be an integer"),
        (SmaCrossoverParams, {"slow": ""}, "slow", "must be an integer"),
        (SmaCrossoverParams, {"slow": None}, "slow", "must be an int, not NoneType"),
        (RsiMeanReversionParams, {"overbought": "high"}, "overbought", "must be a number"),
        (BollingerBreakoutParams, {"num_std": [2]}, "num_std", "must be a number, not list"),
        (BollingerBreakoutParams, {"source": "book"}, "source", "must be one of trade, bar, mid"),
        (BollingerBreakoutParams, {"source": 1}, "source", "must be one of trade, bar, mid"),
        # out of range
        (SmaCrossoverParams, {"fast": 0}, "fast", "between 1 and 100000"),
        (SmaCrossoverParams, {"fast": "-3"}, "fast", "between 1 and 100000"),
        (SmaCrossoverParams, {"slow": 100_001}, "slow", "between 2 and 100000"),
        (RsiMeanReversionParams, {"period": 1}, "period", "between 2 and 100000"),
        (RsiMeanReversionParams, {"oversold": 0}, "oversold", "greater than 0"),
        (RsiMeanReversionParams, {"overbought": "100"}, "overbought", "less than 100"),
        (RsiMeanReversionParams, {"oversold": "nan"}, "oversold", "must be finite"),
        (BollingerBreakoutParams, {"period": 1}, "period", "between 2 and 100000"),
        (BollingerBreakoutParams, {"num_std": "0"}, "num_std", "greater than 0"),
        (BollingerBreakoutParams, {"num_std": -1}, "num_std", "greater than 0"),
        (BollingerBreakoutParams, {"num_std": "inf"}, "num_std", "must be finite"),
        (BollingerBreakoutParams, {"num_std": 10.5}, "num_std", "at most 10"),
        # cross-field rules
        (SmaCrossoverParams, {"fast": 30, "slow": 30}, "fast", "less than slow (30)"),
        (SmaCrossoverParams, {"fast": "40"}, "fast", "less than slow (30)"),
        (RsiMeanReversionParams, {"oversold": 70, "overbought": 70}, "oversold", "less than overbought (70)"),
        (RsiMeanReversionParams, {"oversold": "80", "overbought": "20"}, "oversold", "less than overbought"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    params_type: type[SmaCrossoverParams | RsiMeanReversionParams | BollingerBreakoutParams],
    mapping: dict[str, object],
    field: str,
    problem: str,
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        params_type.from_mapping(mapping)

    assert raised.value.field == field
    assert problem in str(raised.value)


def test_typed_construction_runs_the_same_checks() -> None:
    with pytest.raises(InvalidParameter, match="fast must be an int, not bool"):
        SmaCrossoverParams(fast=True)
    with pytest.raises(InvalidParameter, match="less than slow"):
        SmaCrossoverParams(fast=50)
    with pytest.raises(InvalidParameter, match="less than overbought"):
        RsiMeanReversionParams(oversold=75.0)


def test_parameters_are_frozen() -> None:
    params = SmaCrossoverParams()

    with pytest.raises(AttributeError):
        params.fast = 3  # type: ignore[misc]
