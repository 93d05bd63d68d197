"""EMA: hand-computed values, TA-Lib parity (SMA seed), warm-up and reset."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from domain.indicators import EMA, ema
from tests.unit.domain.indicators.oracle import LENGTHS, SCALES, SEEDS, assert_matches, random_walk, run


def test_hand_computed_with_sma_seed() -> None:
    # α = 2/(3+1) = 0.5; seed = mean(2, 4, 6) = 4; then 4 + 0.5·(8-4) = 6; 6 + 0.5·(4-6) = 5.
    indicator = EMA(3)
    assert indicator.alpha == 0.5
    out = run(indicator.update, lambda: indicator.value, [2.0, 4.0, 6.0, 8.0, 4.0])
    np.testing.assert_array_equal(out, [np.nan, np.nan, 4.0, 6.0, 5.0])
    np.testing.assert_array_equal(ema([2.0, 4.0, 6.0, 8.0, 4.0], 3), out)


def test_period_one_is_the_input() -> None:
    values = [3.5, -1.25, 7.0]
    indicator = EMA(1)
    assert run(indicator.update, lambda: indicator.value, values).tolist() == values
    assert ema(values, 1).tolist() == values


def test_warmup_ready_and_nan_before_ready() -> None:
    indicator = EMA(3)
    assert (indicator.period, indicator.warmup) == (3, 3)
    indicator.update(1.0)
    indicator.update(2.0)
    assert not indicator.ready
    assert math.isnan(indicator.value)
    indicator.update(3.0)
    assert indicator.ready
    assert indicator.value == 2.0
    assert indicator.count == 3


def test_reset_forgets_everything() -> None:
    indicator = EMA(2)
    for value in (100.0, 200.0, 300.0):
        indicator.update(value)
    indicator.reset()
    assert (indicator.count, indicator.ready) == (0, False)
    assert math.isnan(indicator.value)
    indicator.update(1.0)
    indicator.update(3.0)
    assert indicator.value == 2.0


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("period", [1, 2, 9, 20, 50])
def test_matches_talib(scale: float, period: int) -> None:
    for length in LENGTHS:
        for seed in SEEDS:
            x = random_walk(length, seed, scale)
            reference = talib.EMA(x, period)
            assert_matches(ema(x, period), reference)
            indicator = EMA(period)
            assert_matches(run(indicator.update, lambda i=indicator: i.value, x), reference)
