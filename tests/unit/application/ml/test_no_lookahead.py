"""No look-ahead: rewriting every price after row t leaves every prediction and model choice
for rows up to t bitwise unchanged, with the real LightGBM trainer; a leaking feature (let
through with the check off) breaks exactly that, which shows the test can fail."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ml.lightgbm_model import LightGBMTrainer
from application.ml.pipeline import WalkForwardResult, walk_forward
from domain.ml.labels import FloatArray, LabelSpec
from domain.ml.walk_forward import WalkForward
from tests.unit.application.ml.series import features, prices

WF = WalkForward(train_window=400, retrain_every=100, horizon=5)
TRAINER = LightGBMTrainer(num_boost_round=15, num_leaves=7)


def rewritten_after(close: FloatArray, t: int, seed: int) -> FloatArray:
    """The same history up to row t, another one after it (each later close times a random
    factor)."""
    rng = np.random.default_rng(seed)
    changed = close.copy()
    changed[t + 1 :] *= rng.uniform(0.7, 1.3, close.shape[0] - t - 1)
    return changed


def run(close: FloatArray, kind: str, extra: FloatArray | None = None) -> WalkForwardResult:
    matrix = features(close)
    if extra is not None:
        matrix = np.column_stack([matrix, extra])
    label = LabelSpec(horizon=5, kind=kind)  # type: ignore[arg-type]
    return walk_forward(matrix, close, label, WF, TRAINER, check=extra is None)


@pytest.mark.parametrize("kind", ["class", "value"])
@pytest.mark.parametrize("t", [430, 724, 1009, 1300])
def test_the_future_cannot_change_the_past(kind: str, t: int) -> None:
    close = prices()
    before = run(close, kind)
    after = run(rewritten_after(close, t, seed=t), kind)
    past = slice(0, t + 1)
    assert before.predictions[past].tobytes() == after.predictions[past].tobytes()
    assert before.model_index[past].tobytes() == after.model_index[past].tobytes()
    # Models fitted before t saw nothing after it: their bytes are equal too.
    settled = [i for i, report in enumerate(before.folds) if report.fold.train_end - 1 + 5 <= t]
    assert settled
    for i in settled:
        assert before.models[i].to_bytes() == after.models[i].to_bytes()
    # The rewrite did reach the rows after t (the comparison above is not vacuous).
    assert before.predictions[t + 1 :].tobytes() != after.predictions[t + 1 :].tobytes()
    assert np.isfinite(before.predictions[past]).any()


def test_a_leaking_feature_lets_the_future_change_the_past() -> None:
    close = prices()
    t = 724

    def forward_return(history: FloatArray) -> FloatArray:
        out = np.full(history.shape[0], np.nan)
        out[:-5] = history[5:] / history[:-5] - 1.0
        return out

    changed = rewritten_after(close, t, seed=t)
    before = run(close, "class", extra=forward_return(close))
    after = run(changed, "class", extra=forward_return(changed))
    assert before.predictions[: t + 1].tobytes() != after.predictions[: t + 1].tobytes()


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    cut=st.floats(0.0, 1.0),
    horizon=st.integers(1, 8),
    extra_purge=st.integers(0, 4),
    retrain_every=st.integers(7, 60),
)
def test_no_lookahead_for_any_cut_and_schedule(
    seed: int, cut: float, horizon: int, extra_purge: int, retrain_every: int
) -> None:
    close = prices(n=420, seed=seed)
    t = int(cut * (close.shape[0] - 2))
    wf = WalkForward(
        train_window=120, retrain_every=retrain_every, horizon=horizon, purge=horizon + extra_purge
    )
    trainer = LightGBMTrainer(num_boost_round=4, num_leaves=4, min_data_in_leaf=10)
    label = LabelSpec(horizon=horizon, kind="value")

    def run_on(history: FloatArray) -> WalkForwardResult:
        return walk_forward(features(history), history, label, wf, trainer, check=False)

    before = run_on(close)
    after = run_on(rewritten_after(close, t, seed=seed))
    assert before.predictions[: t + 1].tobytes() == after.predictions[: t + 1].tobytes()
    assert before.model_index[: t + 1].tobytes() == after.model_index[: t + 1].tobytes()
