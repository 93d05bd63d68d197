"""Test helpers for the indicators: seeded price series and comparison against TA-Lib."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

LENGTHS = (1, 2, 5, 15, 30, 40, 500)
SEEDS = (0, 1, 2)
SCALES = (1e-4, 1.0, 30_000.0)
"""Price scales: a sub-cent token, an FX rate, a BTC price."""


def random_walk(length: int, seed: int, scale: float) -> FloatArray:
    """A geometric random walk starting near ``scale`` with 1 % steps."""
    rng = np.random.default_rng(seed)
    return scale * np.exp(np.cumsum(rng.normal(0.0, 0.01, length)))


def bars(length: int, seed: int, scale: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(high, low, close)`` bars around a random walk, with gaps between bars."""
    close = random_walk(length, seed, scale)
    rng = np.random.default_rng(seed + 1000)
    high = close * (1.0 + rng.uniform(0.0, 0.01, length))
    low = close * (1.0 - rng.uniform(0.0, 0.01, length))
    return high, low, close


def run(update: Callable[[float], None], read: Callable[[], float], values: Sequence[float]) -> FloatArray:
    """Feed ``values`` one by one and collect ``read()`` after each update."""
    out = []
    for value in values:
        update(float(value))
        out.append(read())
    return np.array(out, dtype=np.float64)


def assert_matches(
    ours: npt.ArrayLike, reference: npt.ArrayLike, *, rel: float = 1e-9, floor: float = 0.0
) -> float:
    """Assert NaN exactly where ``reference`` is NaN and ``|ours - ref| <= rel*|ref| + floor``.

    Returns the largest relative difference seen (for reporting).
    """
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    assert a.shape == b.shape
    nan_mismatch = np.flatnonzero(np.isnan(a) != np.isnan(b))
    assert nan_mismatch.size == 0, f"NaN pattern differs at indices {nan_mismatch[:10].tolist()}"
    valid = ~np.isnan(b)
    if not valid.any():
        return 0.0
    diff = np.abs(a[valid] - b[valid])
    bad = np.flatnonzero(diff > rel * np.abs(b[valid]) + floor)
    assert bad.size == 0, (
        f"{bad.size} values differ, first at valid index {bad[0]}: "
        f"{a[valid][bad[0]]!r} vs {b[valid][bad[0]]!r}"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(diff == 0.0, 0.0, diff / np.abs(b[valid]))
    return float(relative.max())
