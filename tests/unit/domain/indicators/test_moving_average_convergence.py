"""MACD: TA-Lib's aligned seeding, hand-computed values, parity, warm-up and reset."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from domain.indicators import MACD, macd
from tests.unit.domain.indicators.oracle import LENGTHS, SCALES, SEEDS, assert_matches, random_walk


def feed(indicator: MACD, values: list[float]) -> tuple[list[float], list[float], list[float]]:
    line, signal, histogram = [], [], []
    for value in values:
        indicator.update(value)
        line.append(indicator.macd)
        signal.append(indicator.signal)
        histogram.append(indicator.histogram)
    return line, signal, histogram


VALUES = [1.0, 2.0, 4.0, 8.0, 16.0]


def test_hand_computed_with_aligned_seeding() -> None:
    # fast=2 (α=2/3), slow=3 (α=1/2), signal=2 (α=2/3); both EMAs start at index 2:
    #   slow seed = mean(1, 2, 4) = 7/3, fast seed = mean(2, 4) = 3 (the 2 values ENDING at
    #   index 2, not the first 2), line[2] = 2/3.
    #   index 3: fast 19/3, slow 31/6, line 7/6; signal seed = mean(2/3, 7/6) = 11/12.
    #   index 4: fast 115/9, slow 127/12, line 79/36, signal 191/108, histogram 23/54.
    line, signal, histogram = feed(MACD(2, 3, 2), VALUES)
    assert all(math.isnan(v) for v in line[:3] + signal[:3] + histogram[:3])
    np.testing.assert_allclose(line[3:], [7 / 6, 79 / 36], rtol=1e-15)
    np.testing.assert_allclose(signal[3:], [11 / 12, 191 / 108], rtol=1e-15)
    np.testing.assert_allclose(histogram[3:], [1 / 4, 23 / 54], rtol=1e-14)
    for ours, theirs in zip(macd(VALUES, 2, 3, 2), talib.MACD(np.array(VALUES), 2, 3, 2), strict=True):
        assert_matches(ours, theirs, rel=1e-15)


def test_default_first_value_at_index_33() -> None:
    x = random_walk(60, 7, 100.0)
    line, signal, histogram = macd(x)
    for output in (line, signal, histogram):
        assert np.isnan(output[:33]).all()
        assert not np.isnan(output[33:]).any()
    indicator = MACD()
    assert (indicator.fast_period, indicator.slow_period, indicator.signal_period) == (12, 26, 9)
    assert (indicator.period, indicator.warmup) == (26, 34)
    for i, value in enumerate(x.tolist()):
        indicator.update(value)
        assert indicator.ready == (i >= 33)
        assert math.isnan(indicator.macd) == (i < 33)
    assert indicator.histogram == indicator.macd - indicator.signal


def test_signal_period_one_makes_signal_equal_macd() -> None:
    line, signal, histogram = macd(random_walk(10, 1, 50.0), 2, 3, 1)
    np.testing.assert_array_equal(line, signal)
    assert (histogram[2:] == 0.0).all()


def test_reset_forgets_everything() -> None:
    indicator = MACD(2, 3, 2)
    feed(indicator, [50.0, 40.0, 30.0, 20.0, 10.0])
    indicator.reset()
    assert (indicator.count, indicator.ready) == (0, False)
    assert math.isnan(indicator.macd)
    line, _, _ = feed(indicator, VALUES)
    assert math.isclose(line[-1], 79 / 36, rel_tol=1e-15)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (2, 3, 1), (5, 35, 5), (3, 10, 20)])
def test_matches_talib(scale: float, fast: int, slow: int, signal: int) -> None:
    # MACD and its histogram are differences of nearly equal EMAs: their rounding error is
    # a few ulps of the PRICE, not of the (possibly near-zero) difference, so the check
    # gets an absolute floor of 1e-12 × the price scale on top of 1e-9 relative.
    floor = 1e-12 * scale
    for length in LENGTHS:
        for seed in SEEDS:
            x = random_walk(length, seed, scale)
            reference = talib.MACD(x, fast, slow, signal)
            twin = macd(x, fast, slow, signal)
            ours = feed(MACD(fast, slow, signal), x.tolist())
            for output in range(3):
                assert_matches(twin[output], reference[output], floor=floor)
                assert_matches(ours[output], reference[output], floor=floor)
