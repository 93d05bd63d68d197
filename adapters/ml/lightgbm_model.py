"""The Trainer and Model ports on LightGBM gradient-boosted trees.

Trees suit bar features (unscaled, skewed, NaN while warming up, which LightGBM routes on its
own), and one row predicts in microseconds on the live path. ``deterministic=True`` with one
thread and a fixed seed makes a fit bitwise repeatable, so a backtest and its rerun agree. The
booster is trained with ``lightgbm.train`` on a Dataset, not through the scikit-learn wrapper,
which would pull in scikit-learn for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np

from domain.errors import InvalidParameter
from domain.ml.labels import FloatArray, LabelKind, check_count

OBJECTIVES: dict[str, str] = {"class": "binary", "value": "regression"}


class LightGBMModel:
    """A fitted booster: the probability of class 1 (binary) or the value (regression)."""

    __slots__ = ("_booster", "_n_features")

    def __init__(self, booster: lgb.Booster) -> None:
        self._booster = booster
        self._n_features = booster.num_feature()

    def predict(self, features: FloatArray) -> FloatArray:
        matrix = np.asarray(features, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self._n_features:
            raise InvalidParameter("features", matrix.shape, f"must be (rows, {self._n_features})")
        if matrix.shape[0] == 0:
            return np.empty(0, dtype=np.float64)
        return np.asarray(self._booster.predict(matrix, num_threads=1), dtype=np.float64)

    def predict_row(self, row: Sequence[float]) -> float:
        return float(self.predict(np.asarray([row], dtype=np.float64))[0])

    def to_bytes(self) -> bytes:
        return self._booster.model_to_string().encode()

    def feature_importances(self) -> tuple[float, ...]:
        """Total split gain per feature, as shares of the whole (all 0 for a tree-less model)."""
        gain = np.asarray(self._booster.feature_importance(importance_type="gain"), dtype=np.float64)
        total = float(gain.sum())
        if total <= 0.0:
            return tuple(0.0 for _ in range(gain.shape[0]))
        return tuple(float(share) for share in gain / total)


class LightGBMTrainer:
    """Fits a LightGBMModel with a small, regularized configuration by default: bar labels are
    noisy, and few shallow trees overfit less and predict faster than many deep ones.

    Raises InvalidParameter for non-positive sizes or a learning rate outside (0, 1].
    """

    def __init__(
        self,
        *,
        num_boost_round: int = 100,
        num_leaves: int = 15,
        learning_rate: float = 0.05,
        min_data_in_leaf: int = 20,
        max_bin: int = 63,
    ) -> None:
        self._rounds = check_count(num_boost_round, "num_boost_round")
        self._leaves = check_count(num_leaves, "num_leaves", minimum=2)
        self._min_leaf = check_count(min_data_in_leaf, "min_data_in_leaf")
        self._max_bin = check_count(max_bin, "max_bin", minimum=2)
        if not 0.0 < learning_rate <= 1.0:
            raise InvalidParameter("learning_rate", learning_rate, "must be in (0, 1]")
        self._rate = float(learning_rate)

    def fit(self, features: FloatArray, labels: FloatArray, *, kind: LabelKind, seed: int) -> LightGBMModel:
        """Fit on ``features`` (n, k) and ``labels`` (n,): 0/1 classes for ``class``, real
        values for ``value``. Raises InvalidParameter for mismatched shapes, no rows, NaN
        labels or an unknown kind."""
        matrix = np.asarray(features, dtype=np.float64)
        target = np.asarray(labels, dtype=np.float64)
        if kind not in OBJECTIVES:
            raise InvalidParameter("kind", kind, f"must be one of {', '.join(OBJECTIVES)}")
        if matrix.ndim != 2 or matrix.shape[0] == 0 or target.shape != (matrix.shape[0],):
            raise InvalidParameter("features", matrix.shape, f"need rows, one per label {target.shape}")
        if not np.all(np.isfinite(target)):
            raise InvalidParameter("labels", int(np.count_nonzero(~np.isfinite(target))), "NaN labels")
        params: dict[str, Any] = {
            "objective": OBJECTIVES[kind],
            "num_leaves": self._leaves,
            "learning_rate": self._rate,
            "min_data_in_leaf": self._min_leaf,
            "max_bin": self._max_bin,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "seed": seed,
            "verbosity": -1,
        }
        dataset = lgb.Dataset(matrix, label=target, params={"max_bin": self._max_bin, "verbosity": -1})
        booster = lgb.train(params, dataset, num_boost_round=self._rounds)
        return LightGBMModel(booster)


def load_model(data: bytes) -> LightGBMModel:
    """A model back from ``LightGBMModel.to_bytes``; raises InvalidParameter for bytes that are
    not a LightGBM model."""
    try:
        booster = lgb.Booster(model_str=data.decode())
    except (UnicodeDecodeError, lgb.basic.LightGBMError) as error:
        raise InvalidParameter("model", len(data), f"is not a LightGBM model ({error})") from None
    return LightGBMModel(booster)
