"""Exponential moving average with TA-Lib's seeding, incremental and vectorized."""

from __future__ import annotations

import numpy.typing as npt

from domain.indicators._base import SmoothedIndicator
from domain.indicators._common import NAN, FloatArray, as_series, check_period, finite_float, nan_array


class EMA(SmoothedIndicator):
    """Incremental exponential moving average, exactly TA-Lib's ``EMA``.

    α = 2 / (period + 1). The first value, after ``period`` updates (index
    ``period - 1``), is the simple mean of the first ``period`` values; after that
    ``ema = (x - ema) * α + ema``, the same operations in the same order as TA-Lib, so
    the numbers agree to the last bit or so.

    Raises InvalidParameter when ``period`` is not an int in [1, 100000], and
    InvalidValue from ``update`` when the value is NaN, infinite or not a number.
    """

    __slots__ = ("_alpha", "_sum")

    _sum: float  # set by reset()

    def __init__(self, period: int) -> None:
        self._period = self._warmup = check_period(period, "period")
        self._alpha = 2.0 / (self._period + 1)
        self.reset()

    @property
    def alpha(self) -> float:
        """The smoothing factor 2 / (period + 1)."""
        return self._alpha

    def update(self, value: float) -> None:
        """Fold ``value`` in. Raises InvalidValue if it is not finite."""
        if type(value) is not float or value - value != 0.0:
            value = finite_float(value, "value")
        count = self._count + 1
        self._count = count
        if count > self._period:
            previous = self._value
            self._value = (value - previous) * self._alpha + previous
        elif count < self._period:
            self._sum += value
        else:
            self._value = (self._sum + value) / self._period

    def reset(self) -> None:
        """Forget every value: back to the state right after construction."""
        self._sum = 0.0
        self._value = NAN
        self._count = 0

    def __repr__(self) -> str:
        return f"EMA(period={self._period}, count={self._count}, value={self._value})"


def ema_tail(values: list[float], seed: float, alpha: float) -> list[float]:
    """Run the EMA recursion from ``seed`` over ``values``; one output per value.

    Shared by the EMA and MACD twins. The recursion has no exact vectorized form, so it
    is a plain loop over Python floats with TA-Lib's operation order.
    """
    out = [0.0] * len(values)
    previous = seed
    for i, value in enumerate(values):
        previous = (value - previous) * alpha + previous
        out[i] = previous
    return out


def seed_mean(values: list[float]) -> float:
    """Sequential left-to-right sum divided by the count, as TA-Lib seeds its averages."""
    total = 0.0
    for value in values:
        total += value
    return total / len(values)


def ema(values: npt.ArrayLike, period: int) -> FloatArray:
    """Vectorized twin of :class:`EMA` (TA-Lib ``EMA``): the same numbers for a whole series.

    Returns a float64 array as long as ``values``, NaN for the first ``period - 1``
    entries, the seed (mean of the first ``period`` values) at index ``period - 1``.
    Raises InvalidParameter for a bad ``period`` and InvalidValue when ``values`` is not
    a one-dimensional array of finite numbers.
    """
    n = check_period(period, "period")
    x = as_series(values, "values")
    out = nan_array(x.shape[0])
    if x.shape[0] >= n:
        seed = seed_mean(x[:n].tolist())
        out[n - 1] = seed
        out[n:] = ema_tail(x[n:].tolist(), seed, 2.0 / (n + 1))
    return out
