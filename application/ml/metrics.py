"""Out-of-sample scores of a fold's predictions, in numpy alone (the application layer takes no
statistics library): accuracy and ROC AUC for classes, Spearman IC and RMSE for values.

Every function takes the predictions and the true labels of the same rows and returns NaN when
the score is undefined (no rows, a single class, a constant series) rather than a made-up number.
"""

from __future__ import annotations

import math

import numpy as np

from domain.errors import InvalidParameter
from domain.ml.labels import FloatArray
from domain.ml.leakage import average_ranks, spearman

NAN = math.nan


def _pair(predicted: FloatArray, actual: FloatArray) -> tuple[FloatArray, FloatArray]:
    p = np.asarray(predicted, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if p.ndim != 1 or p.shape != a.shape:
        raise InvalidParameter("predicted", p.shape, f"must be one-dimensional like actual {a.shape}")
    return p, a


def accuracy(probability: FloatArray, actual: FloatArray, cutoff: float = 0.5) -> float:
    """Share of rows whose class (1 when the probability is at least ``cutoff``) is right."""
    p, a = _pair(probability, actual)
    if p.shape[0] == 0:
        return NAN
    return float(np.mean((p >= cutoff) == (a == 1.0)))


def roc_auc(score: FloatArray, actual: FloatArray) -> float:
    """Probability that a random class-1 row scores above a random class-0 row, ties counting
    half: the Mann-Whitney U from average ranks, O(n log n). NaN without both classes."""
    s, a = _pair(score, actual)
    positive = a == 1.0
    n_pos = int(np.count_nonzero(positive))
    n_neg = s.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        return NAN
    rank_sum = float(np.sum(average_ranks(s)[positive]))
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def information_coefficient(predicted: FloatArray, actual: FloatArray) -> float:
    """Spearman rank correlation of prediction and realized value: how well the model orders
    rows, which is what a ranking or threshold strategy uses, whatever the scale."""
    p, a = _pair(predicted, actual)
    if p.shape[0] < 2:
        return NAN
    return spearman(p, a)


def rmse(predicted: FloatArray, actual: FloatArray) -> float:
    """Root mean squared error."""
    p, a = _pair(predicted, actual)
    if p.shape[0] == 0:
        return NAN
    return float(np.sqrt(np.mean((p - a) ** 2)))


def fold_metrics(kind: str, predicted: FloatArray, actual: FloatArray) -> dict[str, float]:
    """The scores of one fold: accuracy and auc for ``class``, ic and rmse for ``value``."""
    if kind == "class":
        return {"accuracy": accuracy(predicted, actual), "auc": roc_auc(predicted, actual)}
    return {"ic": information_coefficient(predicted, actual), "rmse": rmse(predicted, actual)}
