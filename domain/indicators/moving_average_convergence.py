"""MACD (fast EMA − slow EMA, its signal EMA and histogram) as TA-Lib computes it."""

from __future__ import annotations

import numpy.typing as npt

from domain.errors import InvalidParameter
from domain.indicators._base import Indicator
from domain.indicators._common import (
    NAN,
    FloatArray,
    as_series,
    check_period,
    finite_float,
    nan_array,
)
from domain.indicators.exponential_moving_average import ema_tail, seed_mean


def _check(fast: object, slow: object, signal: object) -> tuple[int, int, int]:
    fast_period = check_period(fast, "fast", minimum=2)
    slow_period = check_period(slow, "slow", minimum=2)
    signal_period = check_period(signal, "signal")
    if fast_period >= slow_period:
        raise InvalidParameter("fast", fast, f"must be less than slow ({slow_period})")
    return fast_period, slow_period, signal_period


class MACD(Indicator):
    """Incremental MACD, exactly TA-Lib's ``MACD`` (including its aligned seeding).

    Both EMAs start at index ``slow - 1``: the slow EMA is seeded with the mean of the
    first ``slow`` values, the fast EMA with the mean of the ``fast`` values *ending* at
    index ``slow - 1`` (not the first ``fast`` values). ``macd = fast EMA − slow EMA``
    from there; ``signal`` is an EMA(``signal``) of the MACD line seeded with the mean of
    its first ``signal`` values; ``histogram = macd − signal``. All three are NaN until
    ``slow + signal - 1`` updates (first value at index 33 for 12/26/9), as in TA-Lib.

    Parameter accessors are ``fast_period``, ``slow_period`` and ``signal_period``
    (``signal`` is the signal line). Raises InvalidParameter when ``fast`` or ``slow`` is
    not an int in [2, 100000], ``signal`` not in [1, 100000] (TA-Lib's ranges) or
    ``fast >= slow`` (TA-Lib would silently swap them), and InvalidValue from ``update``
    when the value is NaN, infinite or not a number.
    """

    __slots__ = (
        "_fast",
        "_fast_alpha",
        "_fast_ema",
        "_fast_start",
        "_fast_sum",
        "_histogram",
        "_macd",
        "_signal",
        "_signal_alpha",
        "_signal_ema",
        "_signal_period",
        "_signal_sum",
        "_slow",
        "_slow_alpha",
        "_slow_ema",
        "_slow_sum",
    )

    # Set by reset().
    _fast_sum: float
    _slow_sum: float
    _signal_sum: float
    _fast_ema: float
    _slow_ema: float
    _signal_ema: float
    _macd: float
    _signal: float
    _histogram: float

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self._fast, self._slow, self._signal_period = _check(fast, slow, signal)
        self._fast_alpha = 2.0 / (self._fast + 1)
        self._slow_alpha = 2.0 / (self._slow + 1)
        self._signal_alpha = 2.0 / (self._signal_period + 1)
        self._fast_start = self._slow - self._fast
        self._warmup = self._slow + self._signal_period - 1
        self.reset()

    @property
    def fast_period(self) -> int:
        """Period of the fast EMA."""
        return self._fast

    @property
    def slow_period(self) -> int:
        """Period of the slow EMA."""
        return self._slow

    @property
    def signal_period(self) -> int:
        """Period of the signal EMA."""
        return self._signal_period

    @property
    def period(self) -> int:
        """The longest period involved (the slow EMA's)."""
        return self._slow

    @property
    def macd(self) -> float:
        """Fast EMA − slow EMA, NaN while not ready."""
        return self._macd

    @property
    def signal(self) -> float:
        """EMA of the MACD line, NaN while not ready."""
        return self._signal

    @property
    def histogram(self) -> float:
        """``macd − signal``, NaN while not ready."""
        return self._histogram

    def update(self, value: float) -> None:
        """Fold ``value`` in. Raises InvalidValue if it is not finite."""
        if type(value) is not float or value - value != 0.0:
            value = finite_float(value, "value")
        index = self._count
        self._count = index + 1
        slow = self._slow
        if index >= slow:
            fast_ema = self._fast_ema
            fast_ema = (value - fast_ema) * self._fast_alpha + fast_ema
            slow_ema = self._slow_ema
            slow_ema = (value - slow_ema) * self._slow_alpha + slow_ema
            self._fast_ema = fast_ema
            self._slow_ema = slow_ema
        else:
            self._slow_sum += value
            if index >= self._fast_start:
                self._fast_sum += value
            if index < slow - 1:
                return
            fast_ema = self._fast_sum / self._fast
            slow_ema = self._slow_sum / slow
            self._fast_ema = fast_ema
            self._slow_ema = slow_ema
        line = fast_ema - slow_ema
        if index >= self._warmup:
            signal = self._signal_ema
            signal = (line - signal) * self._signal_alpha + signal
        else:
            self._signal_sum += line
            if index < self._warmup - 1:
                return
            signal = self._signal_sum / self._signal_period
        self._signal_ema = signal
        self._macd = line
        self._signal = signal
        self._histogram = line - signal

    def reset(self) -> None:
        """Forget every value: back to the state right after construction."""
        self._count = 0
        self._fast_sum = 0.0
        self._slow_sum = 0.0
        self._signal_sum = 0.0
        self._fast_ema = NAN
        self._slow_ema = NAN
        self._signal_ema = NAN
        self._macd = NAN
        self._signal = NAN
        self._histogram = NAN

    def __repr__(self) -> str:
        return (
            f"MACD(fast={self._fast}, slow={self._slow}, signal={self._signal_period}, "
            f"count={self._count}, macd={self._macd}, signal_line={self._signal}, "
            f"histogram={self._histogram})"
        )


def macd(
    values: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Vectorized twin of :class:`MACD` (TA-Lib ``MACD``): ``(macd, signal, histogram)``.

    Each array is as long as ``values`` and NaN for the first ``slow + signal - 2``
    entries. The EMA recursions run as loops (no exact vectorized form), the differences
    with numpy. Raises InvalidParameter for bad periods or ``fast >= slow`` and
    InvalidValue when ``values`` is not a one-dimensional array of finite numbers.
    """
    fast_period, slow_period, signal_period = _check(fast, slow, signal)
    x = as_series(values, "values")
    length = x.shape[0]
    line_out = nan_array(length)
    signal_out = nan_array(length)
    histogram_out = nan_array(length)
    first = slow_period + signal_period - 2
    if length <= first:
        return line_out, signal_out, histogram_out
    start = slow_period - 1
    tail = x[slow_period:].tolist()
    fast_seed = seed_mean(x[slow_period - fast_period : slow_period].tolist())
    slow_seed = seed_mean(x[:slow_period].tolist())
    fast_line = nan_array(length)
    slow_line = nan_array(length)
    fast_line[start] = fast_seed
    slow_line[start] = slow_seed
    fast_line[slow_period:] = ema_tail(tail, fast_seed, 2.0 / (fast_period + 1))
    slow_line[slow_period:] = ema_tail(tail, slow_seed, 2.0 / (slow_period + 1))
    line = fast_line[start:] - slow_line[start:]
    signal_seed = seed_mean(line[:signal_period].tolist())
    signal_out[first] = signal_seed
    signal_out[first + 1 :] = ema_tail(line[signal_period:].tolist(), signal_seed, 2.0 / (signal_period + 1))
    line_out[first:] = line[signal_period - 1 :]
    histogram_out[first:] = line_out[first:] - signal_out[first:]
    return line_out, signal_out, histogram_out
