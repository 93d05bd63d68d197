"""Fold metrics against hand computations, and the rank AUC against a brute-force pair count."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.ml.metrics import accuracy, fold_metrics, information_coefficient, rmse, roc_auc
from domain.errors import InvalidParameter


def test_accuracy_by_hand() -> None:
    probability = np.array([0.9, 0.2, 0.5, 0.49])
    actual = np.array([1.0, 0.0, 0.0, 1.0])
    # Classes 1, 0, 1 (0.5 counts as 1), 0: the first two are right.
    assert accuracy(probability, actual) == 0.5
    # At 0.8: classes 1, 0, 0, 0: the first three are right.
    assert accuracy(probability, actual, cutoff=0.8) == 0.75
    assert math.isnan(accuracy(np.array([]), np.array([])))


def test_auc_by_hand() -> None:
    score = np.array([0.1, 0.4, 0.35, 0.8])
    actual = np.array([0.0, 0.0, 1.0, 1.0])
    # Pairs (positive, negative): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, both) yes: 3 of 4.
    assert roc_auc(score, actual) == 0.75
    # A tie between a positive and a negative counts half.
    assert roc_auc(np.array([0.5, 0.5]), np.array([0.0, 1.0])) == 0.5
    assert math.isnan(roc_auc(score, np.ones(4)))


def test_ic_by_hand() -> None:
    # Same order except one swap: ranks (1,2,3,4) vs (1,3,2,4): rho = 1 - 6·2/(4·15) = 0.8.
    assert information_coefficient(np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 30.0, 20.0, 40.0])) == (
        pytest.approx(0.8)
    )
    assert math.isnan(information_coefficient(np.array([1.0]), np.array([2.0])))
    assert math.isnan(information_coefficient(np.ones(3), np.array([1.0, 2.0, 3.0])))


def test_rmse_by_hand() -> None:
    # Errors 3 and -4: sqrt((9 + 16) / 2).
    assert rmse(np.array([3.0, 0.0]), np.array([0.0, 4.0])) == pytest.approx(math.sqrt(12.5))
    assert rmse(np.array([1.5]), np.array([1.5])) == 0.0


def test_fold_metrics_per_kind() -> None:
    p, a = np.array([0.9, 0.1]), np.array([1.0, 0.0])
    assert fold_metrics("class", p, a) == {"accuracy": 1.0, "auc": 1.0}
    assert set(fold_metrics("value", p, a)) == {"ic", "rmse"}


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(InvalidParameter):
        rmse(np.zeros(3), np.zeros(4))


@given(
    st.lists(
        st.tuples(st.integers(0, 6).map(lambda x: x / 6.0), st.sampled_from([0.0, 1.0])),
        min_size=1,
        max_size=40,
    )
)
def test_auc_equals_the_pair_count(rows: list[tuple[float, float]]) -> None:
    score = np.array([s for s, _ in rows])
    actual = np.array([a for _, a in rows])
    positives = [s for s, a in rows if a == 1.0]
    negatives = [s for s, a in rows if a == 0.0]
    if not positives or not negatives:
        assert math.isnan(roc_auc(score, actual))
        return
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    assert roc_auc(score, actual) == pytest.approx(wins / (len(positives) * len(negatives)), abs=1e-12)
