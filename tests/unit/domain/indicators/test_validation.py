"""Bad parameters and bad inputs raise domain errors that name the offending field."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from domain.errors import InvalidParameter, InvalidValue
from domain.indicators import (
    ATR,
    EMA,
    MACD,
    MAX_PERIOD,
    RSI,
    SMA,
    VWAP,
    BollingerBands,
    atr,
    bollinger,
    ema,
    macd,
    rsi,
    sma,
    vwap,
)

SERIES = np.array([1.0, 2.0, 3.0])

# name -> (build with a period, smallest legal period)
PERIODIC: dict[str, tuple[Callable[[Any], object], int]] = {
    "SMA": (SMA, 1),
    "EMA": (EMA, 1),
    "RSI": (RSI, 2),
    "BollingerBands": (BollingerBands, 2),
    "ATR": (ATR, 1),
    "sma": (lambda p: sma(SERIES, p), 1),
    "ema": (lambda p: ema(SERIES, p), 1),
    "rsi": (lambda p: rsi(SERIES, p), 2),
    "bollinger": (lambda p: bollinger(SERIES, p), 2),
    "atr": (lambda p: atr(SERIES, SERIES, SERIES, p), 1),
}

BAD_PERIODS = [0, -1, True, False, 2.0, 14.5, float("nan"), "14", None, MAX_PERIOD + 1]


def assert_names(error: pytest.ExceptionInfo[InvalidValue], field: str) -> None:
    assert error.value.field == field
    assert str(error.value).startswith(f"{field} ")


@pytest.mark.parametrize("name", PERIODIC)
@pytest.mark.parametrize("period", BAD_PERIODS, ids=repr)
def test_bad_period_is_refused(name: str, period: object) -> None:
    build, _ = PERIODIC[name]
    with pytest.raises(InvalidParameter) as error:
        build(period)
    assert_names(error, "period")


@pytest.mark.parametrize("name", PERIODIC)
def test_period_minimum_and_maximum(name: str) -> None:
    build, minimum = PERIODIC[name]
    build(minimum)
    build(np.int64(minimum))
    build(MAX_PERIOD)
    if minimum > 1:
        with pytest.raises(InvalidParameter, match=f"at least {minimum}"):
            build(minimum - 1)


@pytest.mark.parametrize(
    "num_std", [0, 0.0, -1.0, float("nan"), float("inf"), -float("inf"), True, "2", None]
)
@pytest.mark.parametrize(
    "build", [BollingerBands, lambda p, k: bollinger(SERIES, p, k)], ids=["class", "twin"]
)
def test_bad_num_std_is_refused(build: Callable[[int, object], object], num_std: object) -> None:
    with pytest.raises(InvalidParameter) as error:
        build(3, num_std)
    assert_names(error, "num_std")


def test_integer_num_std_is_accepted() -> None:
    assert BollingerBands(3, 2).num_std == 2.0


@pytest.mark.parametrize(
    ("fast", "slow", "signal", "field"),
    [
        (26, 12, 9, "fast"),
        (12, 12, 9, "fast"),
        (1, 26, 9, "fast"),
        (0, 26, 9, "fast"),
        (True, 26, 9, "fast"),
        (12.0, 26, 9, "fast"),
        (12, 1, 9, "slow"),
        (12, "26", 9, "slow"),
        (12, 26, 0, "signal"),
        (12, 26, -9, "signal"),
        (12, 26, 9.5, "signal"),
        (12, MAX_PERIOD + 1, 9, "slow"),
    ],
)
@pytest.mark.parametrize("build", [MACD, lambda f, s, g: macd(SERIES, f, s, g)], ids=["class", "twin"])
def test_bad_macd_parameters_are_refused(
    build: Callable[[object, object, object], object], fast: object, slow: object, signal: object, field: str
) -> None:
    with pytest.raises(InvalidParameter) as error:
        build(fast, slow, signal)
    assert_names(error, field)


def test_fast_not_below_slow_says_so() -> None:
    with pytest.raises(InvalidParameter, match=r"fast must be less than slow \(12\) \(was 26\)"):
        MACD(26, 12, 9)


BAD_VALUES = [float("nan"), float("inf"), -float("inf"), np.float64("nan"), Decimal("1.5"), "1.5", None, True]


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
@pytest.mark.parametrize(
    "build",
    [lambda: SMA(2), lambda: EMA(2), lambda: RSI(2), lambda: BollingerBands(2), lambda: MACD(2, 3, 1)],
)
def test_bad_update_value_is_refused_and_changes_nothing(build: Callable[[], Any], value: object) -> None:
    indicator = build()
    for x in (1.0, 2.0, 4.0):
        indicator.update(x)
    before = repr(indicator)
    with pytest.raises(InvalidValue) as error:
        indicator.update(value)
    assert type(error.value) is InvalidValue
    assert_names(error, "value")
    assert repr(indicator) == before
    assert indicator.count == 3


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
@pytest.mark.parametrize("position", [0, 1, 2])
def test_bad_atr_input_is_refused_and_names_it(position: int, value: object) -> None:
    indicator = ATR(2)
    indicator.update(10.0, 9.0, 9.5)
    bar: list[object] = [10.0, 9.0, 9.5]
    bar[position] = value
    with pytest.raises(InvalidValue) as error:
        indicator.update(*bar)
    assert_names(error, ("high", "low", "close")[position])
    assert indicator.count == 1


def test_atr_low_above_high_is_refused() -> None:
    indicator = ATR(2)
    with pytest.raises(InvalidValue, match=r"low must not be above high \(9.0\) \(was 10.0\)") as error:
        indicator.update(9.0, 10.0, 9.5)
    assert error.value.field == "low"
    assert indicator.count == 0


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
@pytest.mark.parametrize("position", [0, 1])
def test_bad_vwap_input_is_refused_and_names_it(position: int, value: object) -> None:
    indicator = VWAP()
    trade: list[object] = [100.0, 1.0]
    trade[position] = value
    with pytest.raises(InvalidValue) as error:
        indicator.update(*trade)
    assert_names(error, ("price", "volume")[position])
    assert indicator.count == 0


def test_vwap_negative_volume_is_refused() -> None:
    with pytest.raises(InvalidValue, match="volume must not be negative") as error:
        VWAP().update(100.0, -1.0)
    assert error.value.field == "volume"


@pytest.mark.parametrize(
    "call",
    [
        lambda x: sma(x, 2),
        lambda x: ema(x, 2),
        lambda x: rsi(x, 2),
        lambda x: bollinger(x, 2),
        lambda x: macd(x, 2, 3, 1),
    ],
)
def test_twin_refuses_non_finite_and_names_the_index(call: Callable[[Any], object]) -> None:
    with pytest.raises(InvalidValue) as error:
        call([1.0, 2.0, float("nan"), 3.0])
    assert_names(error, "values[2]")
    with pytest.raises(InvalidValue) as error:
        call(np.ones((2, 3)))
    assert_names(error, "values")
    with pytest.raises(InvalidValue) as error:
        call(["a", "b"])
    assert_names(error, "values")


def test_atr_twin_checks_each_input() -> None:
    ok = np.array([2.0, 3.0, 4.0])
    with pytest.raises(InvalidValue) as error:
        atr(ok, ok, [1.0, float("inf"), 1.0], 1)
    assert_names(error, "close[1]")
    with pytest.raises(InvalidValue) as error:
        atr(ok, ok[:2], ok, 1)
    assert_names(error, "low")
    with pytest.raises(InvalidValue) as error:
        atr(ok, [1.0, 5.0, 1.0], ok, 1)
    assert_names(error, "low[1]")


def test_vwap_twin_checks_each_input() -> None:
    with pytest.raises(InvalidValue) as error:
        vwap([1.0, 2.0], [1.0, -1.0])
    assert_names(error, "volume[1]")
    with pytest.raises(InvalidValue) as error:
        vwap([1.0, 2.0], [1.0])
    assert_names(error, "volume")
    with pytest.raises(InvalidValue) as error:
        vwap([float("nan")], [1.0])
    assert_names(error, "price[0]")
