"""Walk-forward splits: train on a rolling window, predict the next block, move on, retrain.

Between the last training row and the first predicted row lies a purge gap of at least the
label horizon: the label of training row r reads close[r + horizon], so with the gap every
training label is settled strictly before the first predicted row. Without it the model would
be fitted on prices it is then asked to predict.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidParameter
from domain.ml.labels import check_count


@dataclass(frozen=True, init=False)
class WalkForward:
    """How the history is split: ``train_window`` rows to fit on (the most recent ones),
    a new model every ``retrain_every`` rows, and ``purge`` rows left out between the two.

    ``purge`` defaults to ``horizon``. Raises InvalidParameter for non-positive sizes and for a
    purge shorter than the horizon (the last training labels would overlap the predictions).
    """

    train_window: int
    retrain_every: int
    horizon: int
    purge: int

    def __init__(self, train_window: int, retrain_every: int, horizon: int, purge: int | None = None) -> None:
        object.__setattr__(self, "train_window", check_count(train_window, "train_window"))
        object.__setattr__(self, "retrain_every", check_count(retrain_every, "retrain_every"))
        object.__setattr__(self, "horizon", check_count(horizon, "horizon"))
        gap = self.horizon if purge is None else check_count(purge, "purge", minimum=0)
        if gap < self.horizon:
            raise InvalidParameter("purge", purge, f"must be at least the horizon ({self.horizon})")
        object.__setattr__(self, "purge", gap)


@dataclass(frozen=True)
class Fold:
    """One model's share of the history: it is fitted on rows [train_start, train_end) and
    predicts rows [predict_start, predict_end); ``train_end + purge == predict_start``."""

    index: int
    train_start: int
    train_end: int
    predict_start: int
    predict_end: int

    @property
    def train_rows(self) -> int:
        return self.train_end - self.train_start

    @property
    def predict_rows(self) -> int:
        return self.predict_end - self.predict_start


def folds(n_rows: int, first_row: int, wf: WalkForward) -> list[Fold]:
    """The folds over ``n_rows`` rows whose features are complete from ``first_row`` on.

    The first fold trains on a full window [first_row, first_row + train_window); each next
    one predicts the ``retrain_every`` rows after the previous one and trains on the
    ``train_window`` rows that end ``purge`` rows before them. The predicted ranges tile
    [first predicted row, n_rows) exactly; the last one may be shorter. An empty list when the
    history is too short for even one fold. Raises InvalidParameter for a negative size.
    """
    n = check_count(n_rows, "n_rows", minimum=0)
    start = check_count(first_row, "first_row", minimum=0)
    result: list[Fold] = []
    predict_start = start + wf.train_window + wf.purge
    while predict_start < n:
        train_end = predict_start - wf.purge
        predict_end = min(predict_start + wf.retrain_every, n)
        result.append(
            Fold(
                index=len(result),
                train_start=max(start, train_end - wf.train_window),
                train_end=train_end,
                predict_start=predict_start,
                predict_end=predict_end,
            )
        )
        predict_start = predict_end
    return result
