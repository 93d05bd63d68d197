"""Shared pieces of the indicators: parameter checks, input checks and windowed reductions."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from domain.errors import InvalidParameter, InvalidValue

NAN = math.nan

MAX_PERIOD = 100_000
"""Largest period any indicator accepts: TA-Lib's own limit, and a guard against a typo
allocating gigabytes of ring buffer."""

FloatArray = npt.NDArray[np.float64]


def check_period(value: object, field: str, minimum: int = 1) -> int:
    """Return ``value`` as an int in ``[minimum, MAX_PERIOD]``.

    Raises InvalidParameter naming ``field`` for bools, floats, other non-integers and
    out-of-range values.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameter(field, value, f"must be an int, not {type(value).__name__}")
    period = int(value)
    if period < minimum:
        raise InvalidParameter(field, value, f"must be at least {minimum}")
    if period > MAX_PERIOD:
        raise InvalidParameter(field, value, f"must be at most {MAX_PERIOD}")
    return period


def check_positive_real(value: object, field: str) -> float:
    """Return ``value`` as a finite float greater than zero.

    Raises InvalidParameter naming ``field`` for bools, non-numbers, NaN, infinities and
    values at or below zero.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidParameter(field, value, f"must be a number, not {type(value).__name__}")
    try:
        result = float(value)
    except OverflowError:
        raise InvalidParameter(field, value, "is too large") from None
    if not math.isfinite(result):
        raise InvalidParameter(field, value, "must be finite")
    if result <= 0.0:
        raise InvalidParameter(field, value, "must be greater than zero")
    return result


def finite_float(value: object, field: str) -> float:
    """Slow path of ``update``: convert an int or numpy scalar to float, or raise.

    The hot path accepts a finite built-in float without calling this. Decimals are
    refused on purpose: converting money to float is the caller's explicit decision.
    Raises InvalidValue naming ``field`` for NaN, infinities, bools and non-numbers.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidValue(field, value, f"must be a float, not {type(value).__name__}")
    try:
        result = float(value)
    except OverflowError:
        raise InvalidValue(field, value, "is too large for a float") from None
    if not math.isfinite(result):
        raise InvalidValue(field, value, "must be finite")
    return result


def as_series(values: npt.ArrayLike, field: str) -> FloatArray:
    """Return ``values`` as a one-dimensional float64 array of finite numbers.

    Raises InvalidValue naming ``field`` (and the first bad index) when the input is not
    numeric, not one-dimensional, or holds NaN or an infinity.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidValue(field, type(values).__name__, "must be an array of numbers") from None
    if array.ndim != 1:
        raise InvalidValue(field, array.shape, "must be one-dimensional")
    finite = np.isfinite(array)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        raise InvalidValue(f"{field}[{index}]", float(array[index]), "must be finite")
    return array


def same_length(field: str, array: FloatArray, expected: int) -> None:
    """Raise InvalidValue naming ``field`` when ``array`` is not ``expected`` long."""
    if array.shape[0] != expected:
        raise InvalidValue(field, array.shape[0], f"must have the same length as the others ({expected})")


def nan_array(length: int) -> FloatArray:
    """A float64 array of ``length`` NaNs: the warm-up part of every twin's output."""
    return np.full(length, np.nan, dtype=np.float64)


_BLOCK_ELEMENTS = 1 << 21
"""Window elements processed per block by the windowed twins: keeps their temporaries
around 16 MB whatever the series length and period."""


def window_mean_std(x: FloatArray, period: int, *, with_std: bool) -> tuple[FloatArray, FloatArray]:
    """Mean (and population σ, two-pass) of every ``period``-long window of ``x``.

    Each window is reduced on its own, so there is no running-sum drift. Works block by
    block to bound memory. Returns arrays of ``len(x) - period + 1`` values (σ is empty
    when ``with_std`` is False); ``x`` must be at least ``period`` long.
    """
    windows = sliding_window_view(x, period)
    count = windows.shape[0]
    mean = np.empty(count, dtype=np.float64)
    std = np.empty(count if with_std else 0, dtype=np.float64)
    rows = max(1, _BLOCK_ELEMENTS // period)
    for start in range(0, count, rows):
        block = windows[start : start + rows]
        mean[start : start + rows] = block.mean(axis=1)
        if with_std:
            std[start : start + rows] = block.std(axis=1)
    return mean, std
