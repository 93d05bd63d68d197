"""Walk-forward training: fit a model per fold on past rows only, predict the rows after the
purge gap, and score each fold out of sample.

The trainer is a port (the Trainer Protocol below); the LightGBM adapter implements it, and the
application never imports it. Every prediction for row r comes from a model whose training
labels were all settled before r, so the predictions are what a live engine retraining on the
same schedule would have produced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from application.ml.metrics import fold_metrics
from domain.errors import InvalidParameter
from domain.ml.labels import FloatArray, LabelKind, LabelSpec, label_array
from domain.ml.leakage import check_leakage
from domain.ml.walk_forward import Fold, WalkForward, folds


class Model(Protocol):
    """A fitted model: batch and single-row prediction, its bytes, and what it relies on."""

    def predict(self, features: FloatArray) -> FloatArray:
        """One output per row: the probability of class 1, or the predicted value."""
        ...

    def predict_row(self, row: Sequence[float]) -> float:
        """The output for one row of features (the live path: one bar at a time)."""
        ...

    def to_bytes(self) -> bytes:
        """The model, serialized; equal inputs and seed give equal bytes."""
        ...

    def feature_importances(self) -> tuple[float, ...]:
        """One non-negative weight per feature column, summing to 1 (or all 0 when unused)."""
        ...


class Trainer(Protocol):
    """Fits a Model on a feature matrix and its labels, deterministically for a seed."""

    def fit(self, features: FloatArray, labels: FloatArray, *, kind: LabelKind, seed: int) -> Model: ...


@dataclass(frozen=True)
class FoldReport:
    """One fold's split, its out-of-sample scores and the fitted model's feature importances.

    ``train_rows`` counts the rows actually fitted on (those with a known label); ``metrics``
    are computed on the fold's predicted rows whose labels are known (NaN when none are).
    """

    fold: Fold
    train_rows: int
    metrics: dict[str, float]
    feature_importances: tuple[float, ...]


@dataclass(frozen=True)
class WalkForwardResult:
    """Per row: the out-of-sample prediction (NaN where no model covers it yet) and the index of
    the model that made it (-1 where none). Per fold: its report and its model."""

    predictions: FloatArray
    model_index: npt.NDArray[np.int64]
    labels: FloatArray
    folds: tuple[FoldReport, ...]
    models: tuple[Model, ...]


def first_complete_row(features: FloatArray) -> int:
    """The first row where every feature is finite (warmed up); the row count when none is."""
    complete = np.flatnonzero(np.all(np.isfinite(features), axis=1))
    return int(complete[0]) if complete.shape[0] else int(features.shape[0])


def walk_forward(
    features: FloatArray,
    close: FloatArray,
    label: LabelSpec,
    wf: WalkForward,
    trainer: Trainer,
    *,
    seed: int = 7,
    check: bool = True,
    recompute: Callable[[int], FloatArray] | None = None,
    names: Sequence[str] | None = None,
) -> WalkForwardResult:
    """Fit one model per fold of ``wf`` and predict each fold's rows with it.

    ``features`` is (n, k), row i computed from bars 0..i; ``close`` the n closes the labels
    are computed from. Folds start at the first row where every feature is warmed up. With
    ``check`` (the default), check_leakage runs on the features and labels before the first
    fit (with ``recompute`` when given) and its LeakageDetected names the column from
    ``names`` (``f0``, ``f1``, ... when not given). Training rows without a known label are
    left out. Raises InvalidParameter when the shapes disagree, or when ``wf.horizon`` is not
    the label's horizon (the purge would then not cover the label window).
    """
    matrix = np.asarray(features, dtype=np.float64)
    prices = np.asarray(close, dtype=np.float64)
    if matrix.ndim != 2:
        raise InvalidParameter("features", matrix.shape, "must be two-dimensional (rows, features)")
    n, k = matrix.shape
    if prices.shape != (n,):
        raise InvalidParameter("close", prices.shape, f"must have one close per feature row ({n})")
    if wf.horizon != label.horizon:
        raise InvalidParameter("horizon", wf.horizon, f"must equal the label's horizon ({label.horizon})")
    column_names = tuple(names) if names is not None else tuple(f"f{column}" for column in range(k))
    if len(column_names) != k:
        raise InvalidParameter("names", len(column_names), f"must name each of the {k} feature columns")

    labels = label_array(prices, label)
    plan = folds(n, first_complete_row(matrix), wf)
    predictions = np.full(n, np.nan)
    model_index = np.full(n, -1, dtype=np.int64)
    reports: list[FoldReport] = []
    models: list[Model] = []
    if check and plan:
        check_leakage(matrix, labels, column_names, recompute=recompute)
    for fold in plan:
        x = matrix[fold.train_start : fold.train_end]
        y = labels[fold.train_start : fold.train_end]
        known = np.isfinite(y)
        model = trainer.fit(
            np.ascontiguousarray(x[known]), np.ascontiguousarray(y[known]), kind=label.kind, seed=seed
        )
        rows = slice(fold.predict_start, fold.predict_end)
        predicted = np.asarray(model.predict(np.ascontiguousarray(matrix[rows])), dtype=np.float64)
        predictions[rows] = predicted
        model_index[rows] = fold.index
        actual = labels[rows]
        scored = np.isfinite(actual)
        reports.append(
            FoldReport(
                fold=fold,
                train_rows=int(np.count_nonzero(known)),
                metrics=fold_metrics(label.kind, predicted[scored], actual[scored]),
                feature_importances=model.feature_importances(),
            )
        )
        models.append(model)
    return WalkForwardResult(
        predictions=predictions,
        model_index=model_index,
        labels=labels,
        folds=tuple(reports),
        models=tuple(models),
    )
