"""SMA: hand-computed values, TA-Lib parity, warm-up and reset."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from domain.indicators import SMA, sma
from tests.unit.domain.indicators.oracle import LENGTHS, SCALES, SEEDS, assert_matches, random_walk, run


def test_hand_computed_three_period_average() -> None:
    indicator = SMA(3)
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    out = run(indicator.update, lambda: indicator.value, values)
    np.testing.assert_array_equal(out, [np.nan, np.nan, 2.0, 3.0, 17.0 / 3.0])
    np.testing.assert_array_equal(sma(values, 3), out)


def test_period_one_is_the_input() -> None:
    values = [3.5, -1.25, 7.0]
    indicator = SMA(1)
    assert run(indicator.update, lambda: indicator.value, values).tolist() == values
    assert sma(values, 1).tolist() == values


def test_warmup_ready_and_nan_before_ready() -> None:
    indicator = SMA(4)
    assert (indicator.period, indicator.warmup, indicator.count) == (4, 4, 0)
    for i in range(1, 4):
        indicator.update(float(i))
        assert not indicator.ready
        assert math.isnan(indicator.value)
        assert indicator.count == i
    indicator.update(4.0)
    assert indicator.ready
    assert indicator.value == 2.5


def test_reset_forgets_everything() -> None:
    indicator = SMA(2)
    for value in (100.0, 200.0, 300.0):
        indicator.update(value)
    indicator.reset()
    assert (indicator.count, indicator.ready) == (0, False)
    assert math.isnan(indicator.value)
    indicator.update(1.0)
    indicator.update(3.0)
    assert indicator.value == 2.0


def test_a_spike_leaving_the_window_leaves_no_residue() -> None:
    # A running sum would keep ~1e-7 of rounding from the 1e9 spike; the periodic re-sum
    # from the ring buffer clears it once the spike has left the window.
    indicator = SMA(3)
    for value in [1e9, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0]:
        indicator.update(value)
    assert indicator.value == 2.0


def test_numpy_and_int_inputs_are_accepted_as_floats() -> None:
    indicator = SMA(2)
    indicator.update(np.float64(1.5))
    indicator.update(2)
    assert indicator.value == 1.75
    assert type(indicator.value) is float


def test_twin_of_a_short_or_empty_series_is_all_nan() -> None:
    assert sma([], 3).shape == (0,)
    assert np.isnan(sma([1.0, 2.0], 3)).all()


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("period", [1, 2, 14, 20, 50])
def test_matches_talib(scale: float, period: int) -> None:
    for length in LENGTHS:
        for seed in SEEDS:
            x = random_walk(length, seed, scale)
            reference = talib.SMA(x, period)
            assert_matches(sma(x, period), reference)
            indicator = SMA(period)
            assert_matches(run(indicator.update, lambda i=indicator: i.value, x), reference)
