"""RSI: hand-computed Wilder smoothing, TA-Lib parity, flat windows, warm-up and reset."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from domain.indicators import RSI, rsi
from tests.unit.domain.indicators.oracle import LENGTHS, SCALES, SEEDS, assert_matches, random_walk, run


def test_hand_computed_wilder_smoothing() -> None:
    # Changes +1, -0.5, +1, -0.5 with period 2:
    #   index 2: gain 1/2, loss 0.5/2           -> 100·0.5/0.75     = 200/3
    #   index 3: gain (0.5+1)/2, loss 0.25/2    -> 100·0.75/0.875   = 600/7
    #   index 4: gain 0.75/2, loss (0.125+.5)/2 -> 100·0.375/0.6875 = 600/11
    values = [1.0, 2.0, 1.5, 2.5, 2.0]
    indicator = RSI(2)
    out = run(indicator.update, lambda: indicator.value, values)
    expected = [np.nan, np.nan, 200 / 3, 600 / 7, 600 / 11]
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    np.testing.assert_array_equal(rsi(values, 2), out)


def test_only_gains_is_100_only_losses_is_0_flat_is_0() -> None:
    rising = np.arange(20, dtype=np.float64)
    assert rsi(rising, 14)[14:].tolist() == [100.0] * 6
    assert rsi(-rising, 14)[14:].tolist() == [0.0] * 6
    flat = np.full(20, 5.0)
    assert rsi(flat, 14)[14:].tolist() == [0.0] * 6
    for series in (rising, -rising, flat):
        np.testing.assert_array_equal(rsi(series, 14), talib.RSI(series, 14))


def test_tiny_price_steps_are_not_zeroed_like_talib_08() -> None:
    # TA-Lib 0.8 answers 0.0 only for an exactly flat window (older releases used a fixed
    # 1e-8 band, which zeroed instruments quoted in tiny steps); so do we.
    series = 1e-4 + np.array([0.0, 1e-12] * 15)
    ours = rsi(series, 14)
    assert ours[14] == 50.0
    assert_matches(ours, talib.RSI(series, 14))


def test_warmup_is_period_plus_one() -> None:
    indicator = RSI(3)
    assert (indicator.period, indicator.warmup) == (3, 4)
    for value in (1.0, 2.0, 3.0):
        indicator.update(value)
        assert not indicator.ready
        assert math.isnan(indicator.value)
    indicator.update(4.0)
    assert indicator.ready
    assert indicator.value == 100.0


def test_default_period_is_14() -> None:
    assert RSI().period == 14


def test_reset_forgets_everything() -> None:
    indicator = RSI(2)
    for value in (5.0, 4.0, 3.0, 2.0):
        indicator.update(value)
    assert indicator.value == 0.0
    indicator.reset()
    assert (indicator.count, indicator.ready) == (0, False)
    assert math.isnan(indicator.value)
    for value in (1.0, 2.0, 3.0):
        indicator.update(value)
    assert indicator.value == 100.0


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("period", [2, 5, 14, 30])
def test_matches_talib(scale: float, period: int) -> None:
    for length in LENGTHS:
        for seed in SEEDS:
            x = random_walk(length, seed, scale)
            reference = talib.RSI(x, period)
            assert_matches(rsi(x, period), reference)
            indicator = RSI(period)
            assert_matches(run(indicator.update, lambda i=indicator: i.value, x), reference)
