"""What a backtest of an ML strategy adds to its report: each model's out-of-sample scores, and
the strategy against a buy-and-hold and a plain-indicator baseline on the same history.

Each prediction is scored against the label of its bar (the return over the model's horizon,
from the bars the strategy saw), grouped by the model that made it: with walk-forward
retraining, one row per retrained model, on the bars it alone predicted. Buy-and-hold is the
first to the last close of those bars, before fees; the plain-indicator baseline is the SMA
crossover with its default parameters, replayed on the same history with the same capital,
fees and sizing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from application.ml.metrics import fold_metrics
from domain.ml.labels import LabelSpec, label_array
from domain.ml.strategy import MlSignalStrategy, PredictionLog


@dataclass(frozen=True)
class ModelScore:
    model_id: str
    predictions: int
    scored: int
    first_ts: int
    last_ts: int
    metrics: Mapping[str, float]
    out_of_sample: bool
    """False when the model was trained on bars at or after the first it predicted here (a model
    trained on this very history, say): its scores then say nothing about the future."""


@dataclass(frozen=True)
class MlReport:
    label: LabelSpec
    models: tuple[ModelScore, ...]
    buy_and_hold: float | None
    strategy_return: Decimal
    indicator_return: Decimal | None
    indicator: str

    def as_json(self) -> dict[str, Any]:
        return {
            "label": {
                "horizon": self.label.horizon,
                "kind": self.label.kind,
                "threshold": self.label.threshold,
            },
            "models": [
                {
                    "model_id": m.model_id,
                    "predictions": m.predictions,
                    "scored": m.scored,
                    "first_ts": m.first_ts,
                    "last_ts": m.last_ts,
                    "metrics": {k: (v if np.isfinite(v) else None) for k, v in m.metrics.items()},
                    "out_of_sample": m.out_of_sample,
                }
                for m in self.models
            ],
            "baselines": {
                "strategy_return": str(self.strategy_return),
                "buy_and_hold_return": self.buy_and_hold,
                "indicator": self.indicator,
                "indicator_return": None if self.indicator_return is None else str(self.indicator_return),
            },
        }

    def rows(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Sections for the text report: the models, then the baselines."""
        models = [
            (
                f"{m.model_id} ({m.scored} bars{'' if m.out_of_sample else ', NOT out of sample'})",
                "  ".join(
                    f"{k} {v:.4f}" if np.isfinite(v) else f"{k} n/a" for k, v in sorted(m.metrics.items())
                ),
            )
            for m in self.models
        ]
        baselines = [
            ("This strategy", _percent(float(self.strategy_return))),
            ("Buy and hold (no fees)", "n/a" if self.buy_and_hold is None else _percent(self.buy_and_hold)),
            (
                f"{self.indicator} (default)",
                "n/a" if self.indicator_return is None else _percent(float(self.indicator_return)),
            ),
        ]
        title = f"Models, out of sample (label: {self.label.kind}, {self.label.horizon} bars ahead)"
        return [
            (title, models or [("no prediction", "")]),
            ("Against the baselines (total return)", baselines),
        ]


def ml_report(
    strategy: MlSignalStrategy,
    label: LabelSpec,
    strategy_return: Decimal,
    indicator_return: Callable[[], Decimal | None],
    trained_until: Callable[[str], int | None],
) -> MlReport:
    """The report of ``strategy``'s run (its prediction log must be kept); ``trained_until``
    gives the event time of a model's last training bar (None: unknown)."""
    log = strategy.log
    assert log is not None, "a replayed ML strategy keeps its prediction log"
    return MlReport(
        label=label,
        models=tuple(_scores(log, label, trained_until)),
        buy_and_hold=_buy_and_hold(log),
        strategy_return=strategy_return,
        indicator_return=indicator_return(),
        indicator="sma_crossover",
    )


def _scores(
    log: PredictionLog, label: LabelSpec, trained_until: Callable[[str], int | None]
) -> list[ModelScore]:
    if not log.bars:
        return []
    closes = np.array([close for _, close in log.bars], dtype=np.float64)
    labels = label_array(closes, label)
    by_model: dict[str, list[tuple[int, float]]] = {}
    for index, model_id, value in log.predictions:
        by_model.setdefault(model_id, []).append((index, value))
    scores = []
    for model_id, made in by_model.items():  # in the order the models first predicted
        indexes = np.array([index for index, _ in made], dtype=np.int64)
        values = np.array([value for _, value in made], dtype=np.float64)
        actual = labels[indexes]
        known = np.isfinite(actual) & np.isfinite(values)
        scores.append(
            ModelScore(
                model_id=model_id,
                predictions=len(made),
                scored=int(np.count_nonzero(known)),
                first_ts=log.bars[int(indexes[0])][0],
                last_ts=log.bars[int(indexes[-1])][0],
                metrics=fold_metrics(label.kind, values[known], actual[known]),
                out_of_sample=_before(trained_until(model_id), log.bars[int(indexes[0])][0]),
            )
        )
    return scores


def _before(trained: int | None, first_predicted: int) -> bool:
    return trained is not None and trained < first_predicted


def _buy_and_hold(log: PredictionLog) -> float | None:
    if len(log.bars) < 2 or log.bars[0][1] <= 0:
        return None
    return log.bars[-1][1] / log.bars[0][1] - 1.0


def _percent(value: float) -> str:
    return f"{value * 100:+.2f} %"


def first_ml_strategy(strategies: Sequence[object]) -> MlSignalStrategy | None:
    return next((s for s in strategies if isinstance(s, MlSignalStrategy)), None)
