"""The ML part of a backtest report: scores per model on the bars it predicted, and baselines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.ml.labels import LabelSpec
from domain.ml.strategy import PredictionLog
from entrypoints.backtest.ml_report import _scores, ml_report


def log_of(closes: list[float], predictions: list[tuple[int, str, float]]) -> PredictionLog:
    log = PredictionLog()
    log.bars.extend((i * 10, close) for i, close in enumerate(closes))
    log.predictions.extend(predictions)
    return log


def test_each_model_is_scored_on_its_own_bars_against_the_labels() -> None:
    closes = [100.0, 101.0, 100.0, 102.0, 101.0, 103.0]
    # horizon 1: labels (up?) of bars 0..4 are 1, 0, 1, 0, 1; bar 5 has none.
    log = log_of(closes, [(0, "a", 0.9), (1, "a", 0.2), (2, "b", 0.3), (3, "b", 0.6), (5, "b", 0.7)])
    scores = _scores(log, LabelSpec(horizon=1, kind="class"), lambda model: {"a": -1, "b": 25}[model])
    a, b = scores
    assert (a.model_id, a.predictions, a.scored) == ("a", 2, 2)
    assert a.metrics["accuracy"] == 1.0
    assert a.out_of_sample
    assert (b.model_id, b.predictions, b.scored) == ("b", 3, 2)  # bar 5's label is not known
    assert b.metrics["accuracy"] == 0.0
    assert not b.out_of_sample  # trained until t=25, after its first predicted bar (t=20)
    assert (b.first_ts, b.last_ts) == (20, 50)


def test_unknown_training_is_not_called_out_of_sample() -> None:
    log = log_of([1.0, 2.0, 3.0], [(0, "x", 0.5)])
    (score,) = _scores(log, LabelSpec(horizon=1, kind="class"), lambda _: None)
    assert not score.out_of_sample


@pytest.mark.parametrize(("closes", "expected"), [([100.0, 110.0], 0.1), ([100.0], None), ([], None)])
def test_buy_and_hold_is_first_to_last_close(closes: list[float], expected: float | None) -> None:
    class Strategy:
        log = log_of(closes, [])

    report = ml_report(
        Strategy(), LabelSpec(horizon=1, kind="class"), Decimal("0.05"), lambda: None, lambda _: None
    )  # type: ignore[arg-type]
    assert report.buy_and_hold == (pytest.approx(expected) if expected is not None else None)
    assert report.as_json()["baselines"]["strategy_return"] == "0.05"
    assert report.as_json()["baselines"]["indicator_return"] is None
