"""Walk-forward pipeline: planted leaks are refused by name, reruns are bitwise identical, and
the per-row and per-fold results line up with the folds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adapters.ml.lightgbm_model import LightGBMTrainer
from application.ml.pipeline import first_complete_row, walk_forward
from domain.errors import InvalidParameter
from domain.ml.labels import FloatArray, LabelSpec, label_array
from domain.ml.leakage import LeakageDetected
from domain.ml.walk_forward import WalkForward, folds
from tests.unit.application.ml.series import NAMES, features, prices

WF = WalkForward(train_window=400, retrain_every=100, horizon=5)
TRAINER = LightGBMTrainer(num_boost_round=15, num_leaves=7)
CLASS = LabelSpec(horizon=5, kind="class")
VALUE = LabelSpec(horizon=5, kind="value")


def test_a_feature_equal_to_the_label_is_refused_by_name() -> None:
    close = prices()
    leak = label_array(close, CLASS)
    matrix = np.column_stack([features(close), leak])
    with pytest.raises(LeakageDetected) as raised:
        walk_forward(matrix, close, CLASS, WF, TRAINER, names=(*NAMES, "peek"))
    assert raised.value.feature == "peek"


def test_the_forward_return_under_a_value_label_is_refused() -> None:
    close = prices()
    log = np.log(close)
    forward_log = np.full(close.shape[0], np.nan)
    forward_log[:-5] = log[5:] - log[:-5]
    matrix = np.column_stack([features(close), forward_log])
    with pytest.raises(LeakageDetected) as raised:
        walk_forward(matrix, close, VALUE, WF, TRAINER, names=(*NAMES, "forward_log"))
    assert raised.value.feature == "forward_log"
    # Without names the column is still named, by position.
    with pytest.raises(LeakageDetected, match="'f5'"):
        walk_forward(matrix, close, VALUE, WF, TRAINER)


def test_a_feature_reading_the_future_is_refused_with_recompute() -> None:
    close = prices()

    def with_peek(history: FloatArray) -> FloatArray:
        # Tomorrow's close against today's mean of the last 20: one bar of future.
        ahead = np.full(history.shape[0], np.nan)
        ahead[:-1] = np.log(history[1:] / history[:-1])
        return np.column_stack([features(history), ahead])

    matrix = with_peek(close)
    walk_forward(matrix, close, CLASS, WF, TRAINER, names=(*NAMES, "ahead"))  # slips past correlation
    with pytest.raises(LeakageDetected, match="changes when the history is cut") as raised:
        walk_forward(
            matrix,
            close,
            CLASS,
            WF,
            TRAINER,
            names=(*NAMES, "ahead"),
            recompute=lambda m: with_peek(close[:m]),
        )
    assert raised.value.feature == "ahead"


def test_check_off_lets_a_leak_through() -> None:
    close = prices()
    matrix = np.column_stack([features(close), label_array(close, CLASS)])
    result = walk_forward(matrix, close, CLASS, WF, TRAINER, check=False)
    assert len(result.models) > 0


@pytest.mark.parametrize("label", [CLASS, VALUE])
def test_reruns_are_bitwise_identical(label: LabelSpec) -> None:
    close = prices()
    matrix = features(close)
    first = walk_forward(matrix, close, label, WF, TRAINER, seed=13)
    second = walk_forward(matrix, close, label, WF, TRAINER, seed=13)
    assert first.predictions.tobytes() == second.predictions.tobytes()
    assert first.model_index.tobytes() == second.model_index.tobytes()
    assert [m.to_bytes() for m in first.models] == [m.to_bytes() for m in second.models]
    assert [r.metrics for r in first.folds] == [r.metrics for r in second.folds]


def test_rows_and_folds_line_up() -> None:
    close = prices()
    matrix = features(close)
    result = walk_forward(matrix, close, CLASS, WF, TRAINER)
    start = first_complete_row(matrix)
    assert start == 20  # the 20-bar return and volatility warm up last
    plan = folds(close.shape[0], start, WF)
    assert [report.fold for report in result.folds] == plan
    assert len(result.models) == len(plan)
    first_predicted = plan[0].predict_start
    assert (result.model_index[:first_predicted] == -1).all()
    assert np.isnan(result.predictions[:first_predicted]).all()
    assert np.isfinite(result.predictions[first_predicted:]).all()
    for report in result.folds:
        rows = slice(report.fold.predict_start, report.fold.predict_end)
        assert (result.model_index[rows] == report.fold.index).all()
        assert report.train_rows == report.fold.train_rows
        assert set(report.metrics) == {"accuracy", "auc"}
        assert len(report.feature_importances) == len(NAMES)
        model = result.models[report.fold.index]
        np.testing.assert_array_equal(model.predict(matrix[rows]), result.predictions[rows])
    # The last fold's last rows have no label yet: its metrics use the rows that do.
    last = result.folds[-1]
    labels = label_array(close, CLASS)
    rows = slice(last.fold.predict_start, last.fold.predict_end)
    known = np.isfinite(labels[rows])
    assert not known.all()
    expected = ((result.predictions[rows][known] >= 0.5) == (labels[rows][known] == 1.0)).mean()
    assert last.metrics["accuracy"] == expected
    # Momentum is planted in the series: the model beats a coin on average out of sample.
    assert np.mean([report.metrics["auc"] for report in result.folds]) > 0.55


def test_value_metrics() -> None:
    close = prices()
    result = walk_forward(features(close), close, VALUE, WF, TRAINER)
    for report in result.folds:
        assert set(report.metrics) == {"ic", "rmse"}
        assert report.metrics["rmse"] > 0.0
        assert -1.0 <= report.metrics["ic"] <= 1.0


def test_short_history_gives_no_model() -> None:
    close = prices(n=300)
    result = walk_forward(features(close), close, CLASS, WF, TRAINER)
    assert result.models == ()
    assert result.folds == ()
    assert np.isnan(result.predictions).all()
    assert (result.model_index == -1).all()


def test_training_skips_rows_without_a_label() -> None:
    close = prices()
    close[600] = math.nan  # rows 595 and 600 lose their label
    matrix = features(np.where(np.isfinite(close), close, 100.0))
    result = walk_forward(matrix, close, CLASS, WF, TRAINER, check=False)
    hit = [r for r in result.folds if r.fold.train_start <= 595 and r.fold.train_end > 600]
    assert hit
    assert all(r.train_rows == r.fold.train_rows - 2 for r in hit)


def test_mismatches_are_refused() -> None:
    close = prices(n=200)
    matrix = features(close)
    with pytest.raises(InvalidParameter):
        walk_forward(matrix, close[:-1], CLASS, WF, TRAINER)
    with pytest.raises(InvalidParameter, match="horizon"):
        walk_forward(matrix, close, LabelSpec(horizon=3, kind="class"), WF, TRAINER)
    with pytest.raises(InvalidParameter):
        walk_forward(matrix, close, CLASS, WF, TRAINER, names=("a",))
    with pytest.raises(InvalidParameter):
        walk_forward(close, close, CLASS, WF, TRAINER)
