"""Look-ahead checks on a feature matrix before any model is fitted on it.

Two kinds of leak are caught. A feature that (nearly) is the label: a model fitted on it looks
brilliant in training and is worthless live, where the label is not known yet. And a feature
that reads the future: computed on a history cut at row m, its rows before m must not change,
since live only the past exists; if they do, the full-history backtest saw bars it cannot see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from domain.errors import DomainError, InvalidParameter
from domain.ml.labels import FloatArray

CORRELATION_LIMIT = 0.98
"""|Pearson| or |Spearman| at or above this between a feature and the label is a leak: no honest
price feature predicts a forward return that well."""

MIN_ROWS = 10
"""Fewer rows where feature and label are both known leave correlations meaningless; only the
exact-equality test applies to them."""

CUT_FRACTIONS = (0.25, 0.5, 0.75)
"""Where the history is cut for the recompute test: several places, because a feature may read
only a little ahead (a centered window) or only near some rows."""

RELATIVE_TOLERANCE = 1e-9
"""Recomputed rows may differ by rounding (a sum taken in another order), not by more."""


class LeakageDetected(DomainError):
    """A feature carries information from after its own row: it names the feature and why."""

    code = "LEAKAGE_DETECTED"

    def __init__(self, feature: str, reason: str) -> None:
        self.feature = feature
        self.reason = reason
        super().__init__(f"feature {feature!r} leaks the future: {reason}")


def average_ranks(values: FloatArray) -> FloatArray:
    """Ranks 1..n of ``values``, ties sharing their average rank (as Spearman's rho needs)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    # Start index of each run of equal values, and each element's run.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.shape[0]]
    mean_rank = (starts + ends + 1) / 2.0  # ranks start+1 .. end, averaged
    run = np.repeat(np.arange(starts.shape[0]), ends - starts)
    ranks = np.empty(values.shape[0], dtype=np.float64)
    ranks[order] = mean_rank[run]
    return ranks


def pearson(x: FloatArray, y: FloatArray) -> float:
    """Pearson's correlation; NaN when either side is constant (it is then undefined)."""
    dx, dy = x - x.mean(), y - y.mean()
    denominator = float(np.sqrt(np.dot(dx, dx) * np.dot(dy, dy)))
    if denominator == 0.0 or not np.isfinite(denominator):
        return float("nan")
    return float(np.clip(np.dot(dx, dy) / denominator, -1.0, 1.0))


def spearman(x: FloatArray, y: FloatArray) -> float:
    """Spearman's rank correlation: Pearson's on the average ranks."""
    return pearson(average_ranks(x), average_ranks(y))


def check_leakage(
    features: FloatArray,
    labels: FloatArray,
    names: Sequence[str],
    *,
    recompute: Callable[[int], FloatArray] | None = None,
) -> None:
    """Raise LeakageDetected naming the first feature that is (nearly) the label or that reads
    the future; return None when every feature passes.

    On the rows where a feature and the label are both finite: exactly equal, or |Pearson| or
    |Spearman| >= 0.98, is a leak. With ``recompute`` (``recompute(m)`` is the feature matrix
    computed from the first m rows of the history only, shape (m, k)), every row before m must
    equal the full computation (NaN where it is NaN, equal within 1e-9 relative elsewhere),
    checked at cuts a quarter, half and three quarters of the way through.

    Raises InvalidParameter when the shapes disagree (features (n, k), labels (n,), k names, a
    recomputation of (m, k)).
    """
    matrix = np.asarray(features, dtype=np.float64)
    target = np.asarray(labels, dtype=np.float64)
    if matrix.ndim != 2:
        raise InvalidParameter("features", matrix.shape, "must be two-dimensional (rows, features)")
    n, k = matrix.shape
    if target.shape != (n,):
        raise InvalidParameter("labels", target.shape, f"must have one label per row ({n})")
    if len(names) != k:
        raise InvalidParameter("names", len(names), f"must name each of the {k} feature columns")
    for column, name in enumerate(names):
        reason = _resembles_label(matrix[:, column], target)
        if reason:
            raise LeakageDetected(name, reason)
    if recompute is not None:
        _check_causal(matrix, names, recompute)


def _resembles_label(feature: FloatArray, label: FloatArray) -> str:
    both = np.isfinite(feature) & np.isfinite(label)
    x, y = feature[both], label[both]
    if x.shape[0] == 0:
        return ""
    if np.array_equal(x, y):
        return f"equals the label on all {x.shape[0]} rows where both are known"
    if x.shape[0] < MIN_ROWS:
        return ""
    for method, correlation in (("Pearson", pearson(x, y)), ("Spearman", spearman(x, y))):
        if abs(correlation) >= CORRELATION_LIMIT:
            return f"{method} correlation with the label is {correlation:.4f}"
    return ""


def _check_causal(matrix: FloatArray, names: Sequence[str], recompute: Callable[[int], FloatArray]) -> None:
    n, k = matrix.shape
    for cut in sorted({int(n * fraction) for fraction in CUT_FRACTIONS}):
        if cut < 1:
            continue
        partial: npt.NDArray[np.float64] = np.asarray(recompute(cut), dtype=np.float64)
        if partial.shape != (cut, k):
            raise InvalidParameter("recompute", partial.shape, f"must return ({cut}, {k}) for {cut} rows")
        full = matrix[:cut]
        same_nan = np.isnan(full) == np.isnan(partial)
        close = np.isclose(partial, full, rtol=RELATIVE_TOLERANCE, atol=0.0, equal_nan=True)
        for column, name in enumerate(names):
            differs = np.flatnonzero(~(same_nan[:, column] & close[:, column]))
            if differs.shape[0]:
                row = int(differs[0])
                raise LeakageDetected(
                    name,
                    f"row {row} changes when the history is cut after row {cut - 1} "
                    f"({full[row, column]!r} with the full history, {partial[row, column]!r} without)",
                )
