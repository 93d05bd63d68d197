"""Incremental indicator == vectorized twin, after every update, for arbitrary finite series.

Each property feeds a generated series one value at a time and compares every output with
the twin's array at the same index: NaN exactly where the twin has NaN, otherwise equal
within 1e-9 relative. A few invariants of the indicators themselves ride along.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.indicators import (
    ATR,
    EMA,
    MACD,
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

REL = 1e-9
MAX_LENGTH = 90

prices = st.floats(min_value=1e-4, max_value=1e5, allow_nan=False, allow_infinity=False)
signed = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
# Ordinary values mixed with spikes eight or nine orders of magnitude larger.
jumpy = st.one_of(
    st.floats(min_value=1.0, max_value=2.0),
    st.floats(min_value=1e8, max_value=1e9),
    st.floats(min_value=-1e9, max_value=-1e8),
)


@st.composite
def random_walks(draw: st.DrawFn) -> list[float]:
    """Multiplicative random walks at a price scale from 1e-4 to 1e5."""
    start = draw(st.floats(min_value=1e-4, max_value=1e5))
    steps = draw(st.lists(st.floats(min_value=-0.05, max_value=0.05), max_size=MAX_LENGTH))
    return (start * np.exp(np.cumsum(steps))).tolist()


series = st.one_of(
    st.lists(prices, max_size=MAX_LENGTH),
    st.lists(signed, max_size=MAX_LENGTH),
    random_walks(),
    st.builds(lambda value, n: [value] * n, signed, st.integers(min_value=0, max_value=MAX_LENGTH)),
    st.lists(jumpy, max_size=MAX_LENGTH),
)
periods = st.integers(min_value=1, max_value=30)
periods_from_2 = st.integers(min_value=2, max_value=30)


def scale_of(*arrays: Sequence[float]) -> float:
    """Largest magnitude in the inputs.

    The absolute floor of the comparison is 1e-9 × this scale. O(1) updates keep running
    sums (SMA, Bollinger, VWAP) or subtract nearly equal EMAs (MACD), so their rounding
    error is a few ulps of the largest value that passed through, not of the output: after
    a 1e9 spike leaves a window of values near 1, or where MACD crosses zero, the output is
    near 0 while its error is ~1e-16 × 1e9. A floor of 1e-9 × scale is still ~10^6 times
    that rounding, so it only forgives rounding, never a wrong formula.
    """
    return max((abs(v) for values in arrays for v in values), default=0.0)


def assert_same(step: int, incremental: float, twin: float, scale: float) -> None:
    assert math.isnan(incremental) == math.isnan(twin), (step, incremental, twin)
    if not math.isnan(twin):
        assert math.isclose(incremental, twin, rel_tol=REL, abs_tol=REL * scale), (step, incremental, twin)


@settings(deadline=None)
@given(values=series, period=periods)
def test_sma_incremental_equals_twin(values: list[float], period: int) -> None:
    indicator = SMA(period)
    twin = sma(values, period)
    scale = scale_of(values)
    for i, value in enumerate(values):
        indicator.update(value)
        assert_same(i, indicator.value, twin[i], scale)


@settings(deadline=None)
@given(values=series, period=periods)
def test_sma_push_returns_the_value_the_twin_computes(values: list[float], period: int) -> None:
    indicator = SMA(period)
    twin = sma(values, period)
    scale = scale_of(values)
    for i, value in enumerate(values):
        returned = indicator.push(value)
        assert_same(i, returned, twin[i], scale)
        assert returned == indicator.value or (math.isnan(returned) and math.isnan(indicator.value))


@given(values=series, period=periods)
def test_ema_incremental_equals_twin(values: list[float], period: int) -> None:
    indicator = EMA(period)
    twin = ema(values, period)
    scale = scale_of(values)
    for i, value in enumerate(values):
        indicator.update(value)
        assert_same(i, indicator.value, twin[i], scale)


@settings(deadline=None)
@given(values=series, period=periods_from_2)
def test_rsi_incremental_equals_twin_and_stays_in_0_100(values: list[float], period: int) -> None:
    indicator = RSI(period)
    twin = rsi(values, period)
    for i, value in enumerate(values):
        indicator.update(value)
        # RSI is bounded by 100 whatever the prices, so 100 is its scale.
        assert_same(i, indicator.value, twin[i], 100.0)
        if indicator.ready:
            assert 0.0 <= indicator.value <= 100.0


@settings(deadline=None)
@given(
    values=series,
    period=periods_from_2,
    num_std=st.floats(min_value=0.1, max_value=4.0),
)
def test_bollinger_incremental_equals_twin_and_bands_are_ordered(
    values: list[float], period: int, num_std: float
) -> None:
    indicator = BollingerBands(period, num_std)
    upper, middle, lower = bollinger(values, period, num_std)
    scale = scale_of(values)
    for i, value in enumerate(values):
        indicator.update(value)
        assert_same(i, indicator.upper, upper[i], scale)
        assert_same(i, indicator.middle, middle[i], scale)
        assert_same(i, indicator.lower, lower[i], scale)
        if indicator.ready:
            assert indicator.lower <= indicator.middle <= indicator.upper


@st.composite
def macd_parameters(draw: st.DrawFn) -> tuple[int, int, int]:
    fast = draw(st.integers(min_value=2, max_value=15))
    slow = draw(st.integers(min_value=fast + 1, max_value=30))
    signal = draw(st.integers(min_value=1, max_value=12))
    return fast, slow, signal


@settings(deadline=None)
@given(values=series, parameters=macd_parameters())
def test_macd_incremental_equals_twin(values: list[float], parameters: tuple[int, int, int]) -> None:
    indicator = MACD(*parameters)
    line, signal, histogram = macd(values, *parameters)
    scale = scale_of(values)
    for i, value in enumerate(values):
        indicator.update(value)
        assert_same(i, indicator.macd, line[i], scale)
        assert_same(i, indicator.signal, signal[i], scale)
        assert_same(i, indicator.histogram, histogram[i], scale)


@st.composite
def bar_series(draw: st.DrawFn) -> tuple[list[float], list[float], list[float]]:
    """Bars built from a close series: high/low spread around it, high >= low always."""
    closes = draw(series)
    spreads = draw(
        st.lists(st.floats(min_value=0.0, max_value=0.2), min_size=len(closes), max_size=len(closes))
    )
    highs = [c + abs(c) * s for c, s in zip(closes, spreads, strict=True)]
    lows = [c - abs(c) * s for c, s in zip(closes, spreads, strict=True)]
    return highs, lows, closes


@settings(deadline=None)
@given(bars=bar_series(), period=periods)
def test_atr_incremental_equals_twin_and_is_not_negative(
    bars: tuple[list[float], list[float], list[float]], period: int
) -> None:
    highs, lows, closes = bars
    indicator = ATR(period)
    twin = atr(highs, lows, closes, period)
    scale = scale_of(highs, lows, closes)
    for i, (high, low, close) in enumerate(zip(highs, lows, closes, strict=True)):
        indicator.update(high, low, close)
        assert_same(i, indicator.value, twin[i], scale)
        if indicator.ready:
            assert indicator.value >= 0.0


@settings(deadline=None)
@given(
    trades=st.lists(
        st.tuples(
            st.one_of(prices, signed, jumpy),
            st.one_of(st.just(0.0), st.floats(min_value=1e-8, max_value=1e6)),
        ),
        max_size=MAX_LENGTH,
    )
)
def test_vwap_incremental_equals_twin_and_lies_within_traded_prices(
    trades: list[tuple[float, float]],
) -> None:
    indicator = VWAP()
    twin = vwap([p for p, _ in trades], [v for _, v in trades])
    scale = scale_of([p for p, _ in trades])
    traded: list[float] = []
    for i, (price, volume) in enumerate(trades):
        indicator.update(price, volume)
        assert_same(i, indicator.value, twin[i], scale)
        if volume > 0.0:
            traded.append(price)
        if indicator.ready:
            slack = 1e-12 * scale
            assert min(traded) - slack <= indicator.value <= max(traded) + slack
