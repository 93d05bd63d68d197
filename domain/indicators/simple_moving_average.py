"""Simple moving average: the mean of the last ``period`` values, incremental and vectorized."""

from __future__ import annotations

from math import fsum

import numpy.typing as npt

from domain.indicators._base import PeriodIndicator
from domain.indicators._common import (
    NAN,
    FloatArray,
    as_series,
    check_period,
    finite_float,
    nan_array,
    window_mean_std,
)


class SMA(PeriodIndicator):
    """Incremental simple moving average over the last ``period`` values (TA-Lib ``SMA``).

    The first value is ready after ``period`` updates (index ``period - 1``). ``update`` is
    O(1): a running sum over a ring buffer. The sum is recomputed exactly (``math.fsum``)
    from the buffer every ``period`` updates, so rounding drift stays bounded by about
    ``2 * period`` ulps of the largest value seen in the last two windows.

    Raises InvalidParameter when ``period`` is not an int in [1, 100000], and
    InvalidValue from ``update`` when the value is NaN, infinite or not a number.
    """

    __slots__ = ("_buffer", "_index", "_sum")

    # Set by reset().
    _buffer: list[float]
    _sum: float
    _index: int

    def __init__(self, period: int) -> None:
        self._period = self._warmup = check_period(period, "period")
        self.reset()

    @property
    def value(self) -> float:
        """The current average, NaN while not ready."""
        if self._count >= self._period:
            return self._sum / self._period
        return NAN

    def push(self, value: float) -> float:
        """Add ``value``, drop the oldest one, and return the new ``value`` (one call on a
        strategy's per-tick path). Raises InvalidValue if ``value`` is not finite."""
        if type(value) is not float or value - value != 0.0:
            value = finite_float(value, "value")
        buffer = self._buffer
        index = self._index
        total = self._sum + (value - buffer[index])  # as update() does: same bits
        buffer[index] = value
        index += 1
        if index == self._period:
            index = 0
            total = fsum(buffer)
        self._sum = total
        self._index = index
        count = self._count = self._count + 1
        return total / self._period if count >= self._period else NAN

    def update(self, value: float) -> None:
        """Add ``value`` and drop the oldest one. Raises InvalidValue if it is not finite."""
        self.push(value)

    def reset(self) -> None:
        """Forget every value: back to the state right after construction."""
        self._buffer = [0.0] * self._period
        self._sum = 0.0
        self._index = 0
        self._count = 0

    def __repr__(self) -> str:
        return f"SMA(period={self._period}, count={self._count}, value={self.value})"


def sma(values: npt.ArrayLike, period: int) -> FloatArray:
    """Vectorized twin of :class:`SMA`: the same numbers for a whole series at once.

    Returns a float64 array as long as ``values``, NaN for the first ``period - 1``
    entries (TA-Lib ``SMA``). Each window is summed on its own (no running sum), so there
    is no drift. Raises InvalidParameter for a bad ``period`` and InvalidValue when
    ``values`` is not a one-dimensional array of finite numbers.
    """
    n = check_period(period, "period")
    x = as_series(values, "values")
    out = nan_array(x.shape[0])
    if x.shape[0] >= n:
        out[n - 1 :] = window_mean_std(x, n, with_std=False)[0]
    return out
