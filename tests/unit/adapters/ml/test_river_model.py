"""The online learner: deterministic one-pass fits, live learning, and a faithful round trip."""

from __future__ import annotations

import numpy as np
import pytest

from adapters.ml.learners import loader_for, trainer_for
from adapters.ml.river_model import RiverTrainer, load_river_model
from domain.errors import InvalidParameter


def data(rows: int = 300, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 3))
    labels = (features[:, 0] - features[:, 2] + rng.normal(scale=0.3, size=rows) > 0).astype(float)
    return features, labels


def test_the_same_rows_give_the_same_model_and_it_learns_the_signal() -> None:
    features, labels = data()
    first = RiverTrainer().fit(features, labels, kind="class", seed=1)
    second = RiverTrainer().fit(features, labels, kind="class", seed=99)
    assert first.to_bytes() == second.to_bytes()
    assert first.predict_row([2.0, 0.0, -2.0]) > 0.8
    assert first.predict_row([-2.0, 0.0, 2.0]) < 0.2
    importances = first.feature_importances()
    assert abs(sum(importances) - 1.0) < 1e-9
    assert importances[1] < importances[0]  # the noise feature weighs least


def test_learning_online_moves_the_prediction_and_survives_a_round_trip() -> None:
    features, labels = data()
    model = RiverTrainer().fit(features, labels, kind="class", seed=1)
    before = model.predict_row([0.0, 0.0, 0.0])
    for _ in range(50):
        model.learn_row([0.0, 0.0, 0.0], 1.0)
    assert model.predict_row([0.0, 0.0, 0.0]) > before
    model.learn_row([float("nan"), 0.0, 0.0], 1.0)  # skipped, no error
    back = load_river_model(model.to_bytes())
    assert back.predict(features[:20]).tolist() == model.predict(features[:20]).tolist()


def test_a_regressor_predicts_values() -> None:
    features, _ = data()
    values = features[:, 0] * 0.01
    model = RiverTrainer(learning_rate=0.05).fit(features, values, kind="value", seed=1)
    assert model.predict_row([1.0, 0.0, 0.0]) > model.predict_row([-1.0, 0.0, 0.0])


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="learning_rate"):
        RiverTrainer(learning_rate=0.0)
    with pytest.raises(InvalidParameter, match="kind"):
        RiverTrainer().fit(*data(), kind="forest", seed=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="not a river model"):
        load_river_model(b"tree\n")
    with pytest.raises(InvalidParameter, match="learner"):
        trainer_for("xgboost")
    with pytest.raises(InvalidParameter, match="library"):
        loader_for("xgboost")
