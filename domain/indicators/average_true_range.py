"""Average true range with Wilder smoothing (TA-Lib ``ATR``), incremental and vectorized."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.errors import InvalidValue
from domain.indicators._base import SmoothedIndicator
from domain.indicators._common import (
    NAN,
    FloatArray,
    as_series,
    check_period,
    finite_float,
    nan_array,
    same_length,
)


class ATR(SmoothedIndicator):
    """Incremental average true range, exactly TA-Lib's ``ATR``.

    The true range of bar i ≥ 1 is ``max(high - low, |high - close[i-1]|,
    |low - close[i-1]|)``; bar 0 has none (TA-Lib skips it). The first ATR, after
    ``period + 1`` bars (index ``period``), is the mean of TR[1..period]; after that
    ``atr = (atr * (period - 1) + tr) / period`` (Wilder).

    Raises InvalidParameter when ``period`` is not an int in [1, 100000], and
    InvalidValue from ``update`` when a price is NaN, infinite or not a number, or when
    ``low`` is above ``high``.
    """

    __slots__ = ("_n", "_n_minus_1", "_previous_close", "_sum")

    # Set by reset().
    _previous_close: float
    _sum: float

    def __init__(self, period: int = 14) -> None:
        self._period = check_period(period, "period")
        self._warmup = self._period + 1
        self._n = float(self._period)
        self._n_minus_1 = float(self._period - 1)
        self.reset()

    def update(self, high: float, low: float, close: float) -> None:
        """Fold one bar in. Raises InvalidValue for a non-finite price or ``low > high``."""
        if type(high) is not float or high - high != 0.0:
            high = finite_float(high, "high")
        if type(low) is not float or low - low != 0.0:
            low = finite_float(low, "low")
        if type(close) is not float or close - close != 0.0:
            close = finite_float(close, "close")
        if low > high:
            raise InvalidValue("low", low, f"must not be above high ({high})")
        bars = self._count
        self._count = bars + 1
        previous = self._previous_close
        self._previous_close = close
        if bars == 0:
            return
        true_range = max(high - low, abs(high - previous), abs(low - previous))
        if bars > self._period:
            self._value = (self._value * self._n_minus_1 + true_range) / self._n
        else:
            self._sum += true_range
            if bars == self._period:
                self._value = self._sum / self._n

    def reset(self) -> None:
        """Forget every bar: back to the state right after construction."""
        self._previous_close = 0.0
        self._sum = 0.0
        self._value = NAN
        self._count = 0

    def __repr__(self) -> str:
        return f"ATR(period={self._period}, count={self._count}, value={self._value})"


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Vectorized twin of :class:`ATR` (TA-Lib ``ATR``): the same numbers for whole series.

    Returns a float64 array as long as the inputs, NaN for the first ``period`` entries.
    True ranges are computed with numpy; Wilder's recursion runs as a loop. Raises
    InvalidParameter for a bad ``period`` and InvalidValue when an input is not a
    one-dimensional array of finite numbers, the lengths differ, or a low is above its high.
    """
    n = check_period(period, "period")
    h = as_series(high, "high")
    lo = as_series(low, "low")
    c = as_series(close, "close")
    same_length("low", lo, h.shape[0])
    same_length("close", c, h.shape[0])
    above = lo > h
    if above.any():
        index = int(np.flatnonzero(above)[0])
        raise InvalidValue(f"low[{index}]", float(lo[index]), f"must not be above high ({h[index]})")
    out = nan_array(h.shape[0])
    if h.shape[0] <= n:
        return out
    previous = c[:-1]
    true_range = np.maximum(
        np.maximum(h[1:] - lo[1:], np.abs(h[1:] - previous)), np.abs(lo[1:] - previous)
    ).tolist()
    total = 0.0
    for value in true_range[:n]:
        total += value
    n_float = float(n)
    n_minus_1 = float(n - 1)
    average = total / n_float
    result = [average] * (len(true_range) - n + 1)
    for i, value in enumerate(true_range[n:], start=1):
        average = (average * n_minus_1 + value) / n_float
        result[i] = average
    out[n:] = result
    return out
