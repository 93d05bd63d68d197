"""Walk-forward folds: the purge gap, tiling of the predicted rows, training windows that end
before the labels they would leak, and parameter checks."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidParameter
from domain.ml.walk_forward import Fold, WalkForward, folds


def test_by_hand() -> None:
    wf = WalkForward(train_window=4, retrain_every=3, horizon=2)
    assert wf.purge == 2
    # First training rows 1..4, purge 5..6, predict 7..9, then 10..11 (the last is short).
    assert folds(12, 1, wf) == [
        Fold(index=0, train_start=1, train_end=5, predict_start=7, predict_end=10),
        Fold(index=1, train_start=4, train_end=8, predict_start=10, predict_end=12),
    ]
    assert folds(12, 1, wf)[1].train_rows == 4
    assert folds(12, 1, wf)[1].predict_rows == 2


def test_too_short_a_history_has_no_fold() -> None:
    wf = WalkForward(train_window=4, retrain_every=3, horizon=2, purge=3)
    assert folds(7, 0, wf) == []  # first prediction would be row 7
    assert folds(8, 0, wf) == [Fold(0, 0, 4, 7, 8)]
    assert folds(0, 0, wf) == []
    assert folds(5, 10, wf) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"train_window": 0, "retrain_every": 1, "horizon": 1}, "train_window"),
        ({"train_window": 5, "retrain_every": 0, "horizon": 1}, "retrain_every"),
        ({"train_window": 5, "retrain_every": -1, "horizon": 1}, "retrain_every"),
        ({"train_window": 5, "retrain_every": 1, "horizon": 0}, "horizon"),
        ({"train_window": 5, "retrain_every": 1, "horizon": 3, "purge": 2}, "purge"),
        ({"train_window": 5, "retrain_every": 1, "horizon": 3, "purge": -1}, "purge"),
        ({"train_window": 5.0, "retrain_every": 1, "horizon": 1}, "train_window"),
    ],
)
def test_invalid_parameters(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        WalkForward(**kwargs)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_negative_sizes_are_refused() -> None:
    wf = WalkForward(5, 1, 1)
    with pytest.raises(InvalidParameter):
        folds(-1, 0, wf)
    with pytest.raises(InvalidParameter):
        folds(10, -1, wf)


@given(
    n=st.integers(0, 400),
    first=st.integers(0, 60),
    windows=st.tuples(st.integers(1, 80), st.integers(1, 50)),
    horizon=st.integers(1, 12),
    extra=st.integers(0, 6),
)
def test_fold_invariants(n: int, first: int, windows: tuple[int, int], horizon: int, extra: int) -> None:
    train_window, retrain_every = windows
    wf = WalkForward(train_window, retrain_every, horizon, purge=horizon + extra)
    assert wf.purge >= wf.horizon
    plan = folds(n, first, wf)
    start = first + train_window + wf.purge
    if start >= n:
        assert plan == []
        return
    # The predicted ranges tile [start, n) in order, without overlap or hole.
    assert plan[0].predict_start == start
    assert plan[-1].predict_end == n
    for before, after in itertools.pairwise(plan):
        assert before.predict_end == after.predict_start
    for index, fold in enumerate(plan):
        assert fold.index == index
        assert fold.train_end + wf.purge == fold.predict_start
        assert first <= fold.train_start < fold.train_end
        assert fold.train_rows <= train_window
        assert 0 < fold.predict_rows <= retrain_every
        # The label of the last training row reads close[train_end - 1 + horizon]: before
        # the first predicted row, and inside the history.
        assert fold.train_end - 1 + horizon < fold.predict_start < n
