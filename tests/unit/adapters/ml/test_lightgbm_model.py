"""The LightGBM adapter: it learns a planted rule, is bitwise repeatable, round-trips its bytes,
predicts one row like a batch, and refuses bad input."""

from __future__ import annotations

import numpy as np
import pytest

from adapters.ml.lightgbm_model import LightGBMTrainer, load_model
from domain.errors import InvalidParameter


def planted(n: int = 600, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    x[rng.random(n) < 0.05, 2] = np.nan  # NaN warm-up values are allowed in features
    value = 2.0 * x[:, 0] - x[:, 1] + rng.normal(0.0, 0.1, n)
    return x, (value > 0).astype(np.float64), value


def test_learns_a_class_rule_out_of_sample() -> None:
    x, y, _ = planted()
    model = LightGBMTrainer(num_boost_round=40).fit(x[:400], y[:400], kind="class", seed=7)
    probability = model.predict(x[400:])
    assert ((probability >= 0.5) == (y[400:] == 1.0)).mean() > 0.85
    assert np.all((probability >= 0.0) & (probability <= 1.0))
    importances = model.feature_importances()
    assert len(importances) == 3
    assert sum(importances) == pytest.approx(1.0)
    assert importances[2] < importances[0]  # the noise column matters least


def test_learns_a_value_rule() -> None:
    x, _, value = planted()
    model = LightGBMTrainer(num_boost_round=60, learning_rate=0.2).fit(
        x[:400], value[:400], kind="value", seed=7
    )
    assert np.corrcoef(model.predict(x[400:]), value[400:])[0, 1] > 0.9


def test_deterministic_and_bytes_round_trip() -> None:
    x, y, _ = planted()
    trainer = LightGBMTrainer(num_boost_round=20)
    first = trainer.fit(x, y, kind="class", seed=11)
    second = trainer.fit(x, y, kind="class", seed=11)
    assert first.to_bytes() == second.to_bytes()
    np.testing.assert_array_equal(first.predict(x), second.predict(x))
    loaded = load_model(first.to_bytes())
    np.testing.assert_array_equal(loaded.predict(x), first.predict(x))
    assert loaded.to_bytes() == first.to_bytes()


def test_predict_row_equals_the_batch() -> None:
    x, y, _ = planted()
    model = LightGBMTrainer(num_boost_round=20).fit(x, y, kind="class", seed=3)
    batch = model.predict(x[:25])
    assert [model.predict_row(list(row)) for row in x[:25]] == list(batch)
    assert model.predict(np.empty((0, 3))).shape == (0,)


def test_bad_input_is_refused() -> None:
    x, y, _ = planted(n=50)
    trainer = LightGBMTrainer(num_boost_round=5)
    with pytest.raises(InvalidParameter):
        trainer.fit(x, y[:-1], kind="class", seed=1)
    with pytest.raises(InvalidParameter):
        trainer.fit(x, np.where(y > 0, np.nan, y), kind="class", seed=1)
    with pytest.raises(InvalidParameter):
        trainer.fit(x, y, kind="ranking", seed=1)  # type: ignore[arg-type]
    model = trainer.fit(x, y, kind="class", seed=1)
    with pytest.raises(InvalidParameter):
        model.predict(x[:, :2])
    with pytest.raises(InvalidParameter):
        load_model(b"not a model")
    with pytest.raises(InvalidParameter):
        LightGBMTrainer(learning_rate=0.0)
    with pytest.raises(InvalidParameter):
        LightGBMTrainer(num_boost_round=0)
