"""ATR: true range from bar 1, mean seed then Wilder, TA-Lib parity, warm-up and reset."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from domain.indicators import ATR, atr
from tests.unit.domain.indicators.oracle import LENGTHS, SCALES, SEEDS, assert_matches, bars

# (high, low, close); true ranges from bar 1: 2, 3, 1, 9.5 (a gap up over the last close).
BARS = [(10.0, 8.0, 9.0), (11.0, 9.0, 10.0), (12.0, 9.0, 11.0), (11.0, 10.0, 10.5), (20.0, 19.0, 19.5)]


def feed(indicator: ATR, rows: list[tuple[float, float, float]]) -> list[float]:
    out = []
    for high, low, close in rows:
        indicator.update(high, low, close)
        out.append(indicator.value)
    return out


def test_hand_computed() -> None:
    # First ATR (index 2) = mean(2, 3) = 2.5; then (2.5·1 + 1)/2 = 1.75; (1.75 + 9.5)/2 = 5.625.
    expected = [np.nan, np.nan, 2.5, 1.75, 5.625]
    np.testing.assert_array_equal(feed(ATR(2), BARS), expected)
    high, low, close = (np.array(column) for column in zip(*BARS, strict=True))
    np.testing.assert_array_equal(atr(high, low, close, 2), expected)
    np.testing.assert_array_equal(talib.ATR(high, low, close, 2), expected)


def test_period_one_is_the_true_range() -> None:
    high, low, close = (np.array(column) for column in zip(*BARS, strict=True))
    np.testing.assert_array_equal(atr(high, low, close, 1), [np.nan, 2.0, 3.0, 1.0, 9.5])
    np.testing.assert_array_equal(feed(ATR(1), BARS), talib.TRANGE(high, low, close))


def test_warmup_is_period_plus_one() -> None:
    indicator = ATR(3)
    assert (indicator.period, indicator.warmup) == (3, 4)
    for row in BARS[:3]:
        indicator.update(*row)
        assert not indicator.ready
        assert math.isnan(indicator.value)
    indicator.update(*BARS[3])
    assert indicator.ready
    assert indicator.value == 2.0


def test_default_period_is_14() -> None:
    assert ATR().period == 14


def test_reset_forgets_everything() -> None:
    indicator = ATR(2)
    feed(indicator, [(100.0, 50.0, 75.0)] * 4)
    indicator.reset()
    assert (indicator.count, indicator.ready) == (0, False)
    assert math.isnan(indicator.value)
    assert feed(indicator, BARS)[-1] == 5.625


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("period", [1, 2, 14, 30])
def test_matches_talib(scale: float, period: int) -> None:
    for length in LENGTHS:
        for seed in SEEDS:
            high, low, close = bars(length, seed, scale)
            reference = talib.ATR(high, low, close, period)
            assert_matches(atr(high, low, close, period), reference)
            rows = list(zip(high.tolist(), low.tolist(), close.tolist(), strict=True))
            assert_matches(feed(ATR(period), rows), reference)
