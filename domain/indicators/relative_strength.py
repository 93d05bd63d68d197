"""Relative strength index with Wilder smoothing (TA-Lib ``RSI``), incremental and vectorized."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.indicators._base import SmoothedIndicator
from domain.indicators._common import NAN, FloatArray, as_series, check_period, finite_float, nan_array


class RSI(SmoothedIndicator):
    """Incremental relative strength index, exactly TA-Lib's ``RSI`` (Wilder smoothing).

    A change is ``x[i] - x[i-1]``, so there is none at the first value. After ``period``
    changes (``period + 1`` updates, first value at index ``period``) the average gain
    and loss are the simple means of those changes; after that each is smoothed as
    ``(previous * (period - 1) + today) / period``. ``RSI = 100 * gain / (gain + loss)``,
    and 0.0 when ``gain + loss`` is zero (a flat window), as the TA-Lib 0.8 oracle does
    (older TA-Lib releases also answered 0.0 below a fixed 1e-8, which zeroed instruments
    quoted with tiny price steps).

    Raises InvalidParameter when ``period`` is not an int in [2, 100000] (TA-Lib's
    range), and InvalidValue from ``update`` when the value is NaN, infinite or not a
    number.
    """

    __slots__ = ("_gain", "_loss", "_n", "_n_minus_1", "_previous")

    # Set by reset().
    _previous: float
    _gain: float
    _loss: float

    def __init__(self, period: int = 14) -> None:
        self._period = check_period(period, "period", minimum=2)
        self._warmup = self._period + 1
        self._n = float(self._period)
        self._n_minus_1 = float(self._period - 1)
        self.reset()

    def update(self, value: float) -> None:
        """Fold ``value`` in. Raises InvalidValue if it is not finite."""
        if type(value) is not float or value - value != 0.0:
            value = finite_float(value, "value")
        changes = self._count
        self._count = changes + 1
        if changes == 0:
            self._previous = value
            return
        change = value - self._previous
        self._previous = value
        if changes > self._period:
            gain = self._gain * self._n_minus_1
            loss = self._loss * self._n_minus_1
            if change < 0.0:
                loss -= change
            else:
                gain += change
            gain /= self._n
            loss /= self._n
        else:
            if change < 0.0:
                self._loss -= change
            else:
                self._gain += change
            if changes < self._period:
                return
            gain = self._gain / self._n
            loss = self._loss / self._n
        self._gain = gain
        self._loss = loss
        total = gain + loss
        self._value = 100.0 * (gain / total) if total != 0.0 else 0.0

    def reset(self) -> None:
        """Forget every value: back to the state right after construction."""
        self._previous = 0.0
        self._gain = 0.0
        self._loss = 0.0
        self._value = NAN
        self._count = 0

    def __repr__(self) -> str:
        return f"RSI(period={self._period}, count={self._count}, value={self._value})"


def rsi(values: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Vectorized twin of :class:`RSI` (TA-Lib ``RSI``): the same numbers for a whole series.

    Returns a float64 array as long as ``values``, NaN for the first ``period`` entries.
    The changes are computed with numpy; Wilder's recursion has no exact vectorized form
    and runs as a loop with the incremental class's operation order. Raises
    InvalidParameter for a bad ``period`` and InvalidValue when ``values`` is not a
    one-dimensional array of finite numbers.
    """
    n = check_period(period, "period", minimum=2)
    x = as_series(values, "values")
    out = nan_array(x.shape[0])
    if x.shape[0] <= n:
        return out
    changes = np.diff(x).tolist()
    gain = 0.0
    loss = 0.0
    for change in changes[:n]:
        if change < 0.0:
            loss -= change
        else:
            gain += change
    n_float = float(n)
    n_minus_1 = float(n - 1)
    gain /= n_float
    loss /= n_float
    result = [0.0] * (len(changes) - n + 1)
    total = gain + loss
    result[0] = 100.0 * (gain / total) if total != 0.0 else 0.0
    for i, change in enumerate(changes[n:], start=1):
        gain *= n_minus_1
        loss *= n_minus_1
        if change < 0.0:
            loss -= change
        else:
            gain += change
        gain /= n_float
        loss /= n_float
        total = gain + loss
        result[i] = 100.0 * (gain / total) if total != 0.0 else 0.0
    out[n:] = result
    return out
