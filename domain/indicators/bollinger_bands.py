"""Bollinger Bands (SMA ± k population standard deviations), incremental and vectorized."""

from __future__ import annotations

from math import fsum, sqrt

import numpy.typing as npt

from domain.indicators._base import PeriodIndicator
from domain.indicators._common import (
    NAN,
    FloatArray,
    as_series,
    check_period,
    check_positive_real,
    finite_float,
    nan_array,
    window_mean_std,
)

_COLLAPSE = 1e-3
"""Recompute the window from scratch when its sum of squared deviations falls below this
fraction of the magnitudes folded into it since the last recompute: the running value has
then lost digits to cancellation (a spike just left the window). Worst-case relative error
of the variance is about ``period * 2.2e-16 / _COLLAPSE``."""


class BollingerBands(PeriodIndicator):
    """Incremental Bollinger Bands, TA-Lib's ``BBANDS`` with a simple moving average.

    ``middle`` is the mean of the last ``period`` values, ``upper``/``lower`` are
    ``middle ± num_std * σ`` with σ the population standard deviation (ddof=0), all first
    ready after ``period`` updates (index ``period - 1``).

    ``update`` is O(1) amortized: the window's mean and sum of squared deviations slide
    with Welford's update, and are recomputed two-pass from the ring buffer every
    ``period`` updates and whenever cancellation is detected, so the bands stay accurate
    after a spike leaves the window. TA-Lib computes σ by its own running-sum method; the
    bands agree to ~1e-12 relative (see the tests for the measured difference).

    Raises InvalidParameter when ``period`` is not an int in [2, 100000] (TA-Lib's range)
    or ``num_std`` is not a finite number above zero, and InvalidValue from ``update``
    when the value is NaN, infinite or not a number.
    """

    __slots__ = ("_budget", "_buffer", "_deviation", "_index", "_m2", "_mean", "_n", "_num_std")

    # Set by reset().
    _buffer: list[float]
    _index: int
    _mean: float
    _m2: float
    _budget: float
    _deviation: float

    def __init__(self, period: int = 20, num_std: float = 2.0) -> None:
        self._period = self._warmup = check_period(period, "period", minimum=2)
        self._num_std = check_positive_real(num_std, "num_std")
        self._n = float(self._period)
        self.reset()

    @property
    def num_std(self) -> float:
        """Width of the bands in standard deviations."""
        return self._num_std

    @property
    def upper(self) -> float:
        """``middle + num_std * σ``, NaN while not ready."""
        return self._mean + self._deviation

    @property
    def middle(self) -> float:
        """Mean of the window, NaN while not ready."""
        return self._mean

    @property
    def lower(self) -> float:
        """``middle - num_std * σ``, NaN while not ready."""
        return self._mean - self._deviation

    def update(self, value: float) -> None:
        """Add ``value`` and drop the oldest one. Raises InvalidValue if it is not finite."""
        if type(value) is not float or value - value != 0.0:
            value = finite_float(value, "value")
        buffer = self._buffer
        index = self._index
        old = buffer[index]
        buffer[index] = value
        count = self._count + 1
        self._count = count
        index += 1
        if index == self._period:
            self._index = 0
            self._recompute()
            return
        self._index = index
        if count < self._period:
            return
        # Welford's sliding update: replace ``old`` by ``value`` in the window.
        delta = value - old
        mean = self._mean
        new_mean = mean + delta / self._n
        term = delta * ((value - new_mean) + (old - mean))
        m2 = self._m2 + term
        budget = self._budget + (term if term > 0.0 else -term)
        if m2 < budget * _COLLAPSE:
            self._recompute()
            return
        self._mean = new_mean
        self._m2 = m2
        self._budget = budget
        self._deviation = self._num_std * sqrt(m2 / self._n)

    def _recompute(self) -> None:
        """Two-pass mean and squared deviations from the ring buffer (O(period))."""
        buffer = self._buffer
        mean = fsum(buffer) / self._n
        m2 = 0.0
        for value in buffer:
            d = value - mean
            m2 += d * d
        self._mean = mean
        self._m2 = m2
        self._budget = m2
        self._deviation = self._num_std * sqrt(m2 / self._n)

    def reset(self) -> None:
        """Forget every value: back to the state right after construction."""
        self._buffer = [0.0] * self._period
        self._index = 0
        self._count = 0
        self._mean = NAN
        self._m2 = 0.0
        self._budget = 0.0
        self._deviation = NAN

    def __repr__(self) -> str:
        return (
            f"BollingerBands(period={self._period}, num_std={self._num_std}, count={self._count}, "
            f"upper={self.upper}, middle={self.middle}, lower={self.lower})"
        )


def bollinger(
    values: npt.ArrayLike, period: int = 20, num_std: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Vectorized twin of :class:`BollingerBands`: ``(upper, middle, lower)`` for a series.

    Each array is as long as ``values`` and NaN for the first ``period - 1`` entries. Each
    window's mean and population σ are computed two-pass on its own (no running sums).
    Raises InvalidParameter for a bad ``period`` or ``num_std`` and InvalidValue when
    ``values`` is not a one-dimensional array of finite numbers.
    """
    n = check_period(period, "period", minimum=2)
    k = check_positive_real(num_std, "num_std")
    x = as_series(values, "values")
    upper = nan_array(x.shape[0])
    middle = nan_array(x.shape[0])
    lower = nan_array(x.shape[0])
    if x.shape[0] >= n:
        mean, std = window_mean_std(x, n, with_std=True)
        deviation = k * std
        middle[n - 1 :] = mean
        upper[n - 1 :] = mean + deviation
        lower[n - 1 :] = mean - deviation
    return upper, middle, lower
