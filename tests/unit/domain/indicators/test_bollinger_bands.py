"""Bollinger Bands: population σ, hand-computed values, TA-Lib parity, spikes, reset."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib
from numpy.lib.stride_tricks import sliding_window_view

import domain.indicators._common as common
from domain.indicators import BollingerBands, bollinger, sma
from tests.unit.domain.indicators.oracle import LENGTHS, SCALES, SEEDS, assert_matches, random_walk


def feed(indicator: BollingerBands, values: list[float]) -> tuple[list[float], list[float], list[float]]:
    upper, middle, lower = [], [], []
    for value in values:
        indicator.update(value)
        upper.append(indicator.upper)
        middle.append(indicator.middle)
        lower.append(indicator.lower)
    return upper, middle, lower


def test_hand_computed_population_standard_deviation() -> None:
    # mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, σ_population = √(32/8) = 2.
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    indicator = BollingerBands(8, 2.0)
    feed(indicator, values)
    assert (indicator.upper, indicator.middle, indicator.lower) == (9.0, 5.0, 1.0)
    upper, middle, lower = bollinger(values, 8, 2.0)
    assert (upper[-1], middle[-1], lower[-1]) == (9.0, 5.0, 1.0)
    assert np.isnan(upper[:-1]).all()


def test_num_std_scales_the_width() -> None:
    indicator = BollingerBands(3, 1.5)
    feed(indicator, [1.0, 2.0, 3.0])
    width = 1.5 * math.sqrt(2.0 / 3.0)
    assert indicator.middle == 2.0
    assert math.isclose(indicator.upper, 2.0 + width, rel_tol=1e-15)
    assert math.isclose(indicator.lower, 2.0 - width, rel_tol=1e-15)


def test_constant_series_has_zero_width() -> None:
    indicator = BollingerBands(5)
    feed(indicator, [42.0] * 12)
    assert indicator.upper == indicator.middle == indicator.lower == 42.0


def test_a_spike_leaving_the_window_is_forgotten_exactly() -> None:
    # Sliding the variance past a 1e9 spike cancels ~18 digits; the collapse detector
    # recomputes the window from the ring buffer, so the bands are exact again.
    values = [1e9, 1.0, 2.0, 3.0, 1.0, 2.0]
    indicator = BollingerBands(3, 2.0)
    upper, middle, lower = feed(indicator, values)
    expected = 2.0 + 2.0 * math.sqrt(2.0 / 3.0)
    assert middle[3:] == [2.0, 2.0, 2.0]
    assert [math.isclose(u, expected, rel_tol=1e-15) for u in upper[3:]] == [True] * 3
    twin = bollinger(values, 3, 2.0)
    assert_matches(upper, twin[0], rel=1e-15)
    assert_matches(lower, twin[2], rel=1e-15)


def test_warmup_ready_and_nan_before_ready() -> None:
    indicator = BollingerBands(3)
    assert (indicator.period, indicator.num_std, indicator.warmup) == (3, 2.0, 3)
    for value in (1.0, 2.0):
        indicator.update(value)
        assert not indicator.ready
        assert math.isnan(indicator.upper)
        assert math.isnan(indicator.middle)
        assert math.isnan(indicator.lower)
    indicator.update(3.0)
    assert indicator.ready
    assert indicator.middle == 2.0


def test_defaults_are_20_and_2() -> None:
    indicator = BollingerBands()
    assert (indicator.period, indicator.num_std) == (20, 2.0)


def test_reset_forgets_everything() -> None:
    indicator = BollingerBands(2, 1.0)
    feed(indicator, [100.0, 300.0, 500.0])
    indicator.reset()
    assert (indicator.count, indicator.ready) == (0, False)
    assert math.isnan(indicator.upper)
    feed(indicator, [1.0, 3.0])
    assert (indicator.upper, indicator.middle, indicator.lower) == (3.0, 2.0, 1.0)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("period", [2, 5, 20, 50])
@pytest.mark.parametrize("num_std", [1.0, 2.0, 2.5])
def test_matches_talib(scale: float, period: int, num_std: float) -> None:
    for length in LENGTHS:
        for seed in SEEDS:
            x = random_walk(length, seed, scale)
            reference = talib.BBANDS(x, period, num_std, num_std)
            twin = bollinger(x, period, num_std)
            ours = feed(BollingerBands(period, num_std), x.tolist())
            for band in range(3):
                assert_matches(twin[band], reference[band])
                assert_matches(ours[band], reference[band])


def test_twins_work_block_by_block(monkeypatch: pytest.MonkeyPatch) -> None:
    # Force blocks of a few windows so the block boundaries are exercised.
    x = random_walk(101, 4, 30_000.0)
    monkeypatch.setattr(common, "_BLOCK_ELEMENTS", 17)
    upper, middle, _ = bollinger(x, 5, 2.0)
    windows = sliding_window_view(x, 5)
    np.testing.assert_array_equal(middle[4:], windows.mean(axis=1))
    np.testing.assert_array_equal(upper[4:], windows.mean(axis=1) + 2.0 * windows.std(axis=1))
    np.testing.assert_array_equal(sma(x, 5)[4:], windows.mean(axis=1))
