"""A seeded price series and features computed from it causally (row i reads closes 0..i)."""

from __future__ import annotations

import numpy as np

from domain.ml.labels import FloatArray

NAMES = ("return_1", "return_5", "return_20", "distance_sma_20", "volatility_20")


def prices(n: int = 1500, seed: int = 5) -> FloatArray:
    """A random walk in log price whose steps carry momentum (0.6 of the last step), so a model
    has something to learn."""
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0, 0.01, n)
    steps = np.empty(n)
    steps[0] = shocks[0]
    for i in range(1, n):
        steps[i] = 0.6 * steps[i - 1] + shocks[i]
    return np.asarray(100.0 * np.exp(np.cumsum(steps)), dtype=np.float64)


def trailing(values: FloatArray, window: int) -> FloatArray:
    """Mean of the last ``window`` values at each row (NaN before), each row summed on its own
    so that its bits depend on its window only."""
    out = np.full(values.shape[0], np.nan)
    for i in range(window - 1, values.shape[0]):
        out[i] = values[i - window + 1 : i + 1].sum() / window
    return out


def features(close: FloatArray) -> FloatArray:
    """Past returns over 1, 5 and 20 bars, distance from the 20-bar mean, 20-bar volatility."""
    log = np.log(close)
    columns = []
    for lag in (1, 5, 20):
        back = np.full(close.shape[0], np.nan)
        back[lag:] = log[lag:] - log[:-lag]
        columns.append(back)
    columns.append(close / trailing(close, 20) - 1.0)
    one = columns[0]
    squared = np.where(np.isfinite(one), one * one, np.nan)
    columns.append(np.sqrt(trailing(squared, 20)))
    return np.column_stack(columns)
