"""The online learner: river's scaled logistic (or linear) regression, learning one row at a time.

Fitting is one pass over the training rows in time order, and the model can go on learning
live: ``learn_row`` folds in a row whose label has just become known. Both are deterministic
(no sampling, no threads), so a replay learns exactly what a live run learns. Models cross
processes and disk as pickles: a models directory must be as trusted as the code itself.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from river import compose, linear_model, optim, preprocessing

from domain.errors import InvalidParameter
from domain.ml.labels import LABEL_KINDS, LabelKind

FloatArray = npt.NDArray[np.float64]
LIBRARY = "river"


def _names(count: int) -> list[str]:
    return [f"f{index}" for index in range(count)]


class RiverModel:
    """A river pipeline behind the Model protocol, plus ``learn_row`` for learning online."""

    def __init__(self, pipeline: Any, kind: LabelKind, width: int) -> None:
        self._pipeline = pipeline
        self._kind = kind
        self._names = _names(width)

    def _row(self, row: Sequence[float]) -> dict[str, float]:
        return dict(zip(self._names, (float(value) for value in row), strict=True))

    def predict_row(self, row: Sequence[float]) -> float:
        features = self._row(row)
        if self._kind == "class":
            return float(self._pipeline.predict_proba_one(features).get(True, 0.5))
        return float(self._pipeline.predict_one(features))

    def predict(self, features: FloatArray) -> FloatArray:
        return np.array([self.predict_row(row) for row in np.asarray(features, dtype=np.float64)])

    def learn_row(self, row: Sequence[float], label: float) -> None:
        """Fold in one row whose label is now known (NaN labels and rows are skipped)."""
        if not math.isfinite(label) or not all(math.isfinite(v) for v in row):
            return
        target: bool | float = label > 0.5 if self._kind == "class" else float(label)
        self._pipeline.learn_one(self._row(row), target)

    def to_bytes(self) -> bytes:
        return pickle.dumps((self._kind, len(self._names), self._pipeline), protocol=pickle.HIGHEST_PROTOCOL)

    def feature_importances(self) -> tuple[float, ...]:
        """The weights' magnitudes on the scaled features, as shares that sum to 1."""
        weights = self._pipeline[-1].weights
        magnitudes = [abs(float(weights.get(name, 0.0))) for name in self._names]
        total = sum(magnitudes)
        return tuple(m / total if total else 0.0 for m in magnitudes)


class RiverTrainer:
    """One pass of online learning over the training rows, in time order."""

    def __init__(self, *, learning_rate: float = 0.01) -> None:
        if not 0.0 < learning_rate <= 1.0:
            raise InvalidParameter("learning_rate", learning_rate, "must be in (0, 1]")
        self._rate = learning_rate

    def fit(self, features: FloatArray, labels: FloatArray, *, kind: LabelKind, seed: int) -> RiverModel:
        """``seed`` is accepted for the Trainer protocol: nothing here draws at random."""
        if kind not in LABEL_KINDS:
            raise InvalidParameter("kind", kind, f"must be one of {', '.join(LABEL_KINDS)}")
        matrix = np.asarray(features, dtype=np.float64)
        target = np.asarray(labels, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] == 0 or target.shape != (matrix.shape[0],):
            raise InvalidParameter("features", matrix.shape, f"need rows, one per label {target.shape}")
        regression = (
            linear_model.LogisticRegression(optimizer=optim.SGD(self._rate))
            if kind == "class"
            else linear_model.LinearRegression(optimizer=optim.SGD(self._rate))
        )
        model = RiverModel(
            compose.Pipeline(preprocessing.StandardScaler(), regression), kind, matrix.shape[1]
        )
        for row, label in zip(matrix, target, strict=True):
            model.learn_row(row, float(label))
        return model


def load_river_model(data: bytes) -> RiverModel:
    """A model back from ``RiverModel.to_bytes``; InvalidParameter for anything else."""
    try:
        kind, width, pipeline = pickle.loads(data)  # a trusted models directory, hash-checked
    except Exception as error:  # a pickle can fail in many ways; all mean "not a model"
        raise InvalidParameter("model", len(data), f"is not a river model ({type(error).__name__})") from None
    if kind not in LABEL_KINDS or not isinstance(width, int):
        raise InvalidParameter("model", len(data), "is not a river model")
    return RiverModel(pipeline, kind, width)
