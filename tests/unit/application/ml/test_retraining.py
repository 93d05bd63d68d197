"""Model sources: at once (replays) and in a worker process (live), and the strategy's retraining."""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np
import pytest

from adapters.ml.lightgbm_model import LightGBMTrainer, load_model
from adapters.ml.worker_models import WorkerModels
from application.ml.pipeline import Model
from application.ml.retraining import ImmediateModels
from domain.identifiers import InstrumentId
from domain.market_data import Bar
from domain.ml.features import FeatureSpec
from domain.ml.labels import LabelSpec
from domain.ml.strategy import MlParams, MlSignalStrategy, Retraining
from domain.ml.walk_forward import WalkForward

BTC = InstrumentId("BTCUSDT.BINANCE")
MINUTE = 60_000_000_000
FEATURES = (FeatureSpec("return", {"horizon": 1}), FeatureSpec("return", {"horizon": 3}))
TRAINER = LightGBMTrainer(num_boost_round=10, min_data_in_leaf=5)


def training_set(rows: int = 200, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 2))
    labels = (features[:, 0] + rng.normal(scale=0.5, size=rows) > 0).astype(float)
    labels[-3:] = np.nan  # the newest rows' labels are not known yet
    return features, labels


class Kept:
    """A fake store: remembers what it was asked to keep, ids in order."""

    def __init__(self) -> None:
        self.sets: list[tuple[int, int]] = []

    def __call__(self, model: Model, features: np.ndarray, labels: np.ndarray, ts_event: int) -> str:
        self.sets.append((len(features), ts_event))
        return f"m{len(self.sets)}"


def test_immediate_models_are_ready_at_the_next_take() -> None:
    kept = Kept()
    source = ImmediateModels(TRAINER, kind="class", seed=7, keep=kept)
    assert source.take() is None
    source.submit(*training_set(), ts_event=42)
    ready = source.take()
    assert ready is not None
    model, model_id = ready
    assert model_id == "m1"
    assert kept.sets == [(200, 42)]
    assert 0.0 <= model.predict_row([0.1, -0.2]) <= 1.0
    assert source.take() is None


def test_worker_models_train_in_another_process_without_blocking() -> None:
    kept = Kept()
    source = WorkerModels(TRAINER, kind="class", seed=7, keep=kept, load=load_model)
    try:
        source.submit(*training_set(seed=1), ts_event=1)
        source.submit(*training_set(seed=2), ts_event=2)  # waits, replacing nothing yet
        source.submit(*training_set(seed=3), ts_event=3)  # replaces the waiting one
        taken = []
        deadline = time.monotonic() + 60
        while len(taken) < 2 and time.monotonic() < deadline:
            started = time.perf_counter()
            ready = source.take()
            assert time.perf_counter() - started < 0.5  # take never waits for a fit
            if ready is not None:
                taken.append(ready[1])
            time.sleep(0.01)
        assert taken == ["m1", "m2"]
        assert [ts for _, ts in kept.sets] == [1, 3]  # the second set was superseded
        assert source.fits == 2
    finally:
        source.close()


def test_the_same_training_set_gives_the_same_model_in_both_sources() -> None:
    features, labels = training_set()
    immediate = ImmediateModels(TRAINER, kind="class", seed=7, keep=Kept())
    immediate.submit(features, labels, 0)
    first = immediate.take()
    worker = WorkerModels(TRAINER, kind="class", seed=7, keep=Kept(), load=load_model)
    try:
        worker.submit(features, labels, 0)
        deadline = time.monotonic() + 60
        second = None
        while second is None and time.monotonic() < deadline:
            second = worker.take()
            time.sleep(0.01)
    finally:
        worker.close()
    assert first is not None
    assert second is not None
    assert first[0].to_bytes() == second[0].to_bytes()


def bars(closes: list[float]) -> list[Bar]:
    out = []
    for i, close in enumerate(closes):
        price = Decimal(repr(close))
        out.append(
            Bar(BTC, price, price, price, price, Decimal(1), MINUTE, (i + 1) * MINUTE, (i + 1) * MINUTE)
        )
    return out


class Recording(ImmediateModels):
    """An immediate source that also remembers each training set it was handed."""

    def __init__(self) -> None:
        super().__init__(TRAINER, kind="class", seed=7, keep=Kept())
        self.handed: list[tuple[np.ndarray, np.ndarray, int]] = []

    def submit(self, features: np.ndarray, labels: np.ndarray, ts_event: int) -> None:
        self.handed.append((features, labels, ts_event))
        super().submit(features, labels, ts_event)


def retraining_strategy(source: ImmediateModels, first: Model, *, every: int = 50) -> MlSignalStrategy:
    walk = WalkForward(train_window=100, retrain_every=every, horizon=3, purge=4)
    return MlSignalStrategy(
        strategy_id="ml",
        instrument_ids=[BTC],
        params=MlParams(kind="ml_classifier", threshold=0.55, features=FEATURES),
        model=first,
        model_id="m0",
        retraining=Retraining(walk=walk, label=LabelSpec(horizon=3, kind="class")),
        source=source,
    )


def closes(count: int, seed: int = 5) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(x) for x in np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, count))), 2)]


def test_the_strategy_retrains_on_known_labels_only_and_uses_the_new_model_next_bar() -> None:
    first = TRAINER.fit(*[a[:-3] for a in training_set()], kind="class", seed=7)
    source = Recording()
    ml = retraining_strategy(source, first)
    series = closes(400)
    models_seen = []
    for index, bar in enumerate(bars(series)):
        for signal in ml.on_bar(bar):
            models_seen.append((index, signal.reason.split(":")[0]))
    assert ml.retrains == len(source.handed) >= 5
    for features, labels, ts_event in source.handed:
        assert features.shape == (100, 2)
        assert np.isfinite(labels).all()  # every label known: purge >= horizon
        bar_index = ts_event // MINUTE - 1
        # The last training row is purge (4) rows before the bar that asked; its label reads 3 ahead.
        last_row_close = series[bar_index - 4]
        expected_last_label = 1.0 if series[bar_index - 1] / last_row_close - 1 > 0 else 0.0
        assert labels[-1] == expected_last_label
    assert {name for _, name in models_seen} - {"model m0"}  # newer models made signals too


def test_prices_after_t_change_nothing_before_t() -> None:
    """Walk-forward retraining reads no future: rewrite every price after bar t, rerun, and every
    prediction and signal up to t is the same."""
    first = TRAINER.fit(*[a[:-3] for a in training_set()], kind="class", seed=7)
    original = closes(500)
    for t in (180, 260, 333):
        changed = original[: t + 1] + [x * 1.37 for x in original[t + 1 :]]
        runs = []
        for series in (original, changed):
            ml = retraining_strategy(Recording(), first)
            out = []
            for index, bar in enumerate(bars(series)):
                out.extend((index, s.side, s.reason) for s in ml.on_bar(bar))
            runs.append(out)
        before = [[x for x in run if x[0] <= t] for run in runs]
        assert before[0] == before[1]
        assert runs[0] != runs[1]  # the test can tell: later signals did change


def test_retraining_needs_a_source_and_one_instrument() -> None:
    walk = WalkForward(train_window=100, retrain_every=50, horizon=3)
    retraining = Retraining(walk=walk, label=LabelSpec(horizon=3, kind="class"))
    first = TRAINER.fit(*[a[:-3] for a in training_set()], kind="class", seed=7)
    params = MlParams(kind="ml_classifier", threshold=0.55, features=FEATURES)
    with pytest.raises(ValueError, match="source"):
        MlSignalStrategy(strategy_id="ml", instrument_ids=[BTC], params=params, model=first, model_id="m0",
                         retraining=retraining)  # fmt: skip
    two = [BTC, InstrumentId("ETHUSDT.BINANCE")]
    with pytest.raises(ValueError, match="one instrument"):
        MlSignalStrategy(strategy_id="ml", instrument_ids=two, params=params, model=first, model_id="m0",
                         retraining=retraining, source=Recording())  # fmt: skip
    with pytest.raises(ValueError, match="horizon"):
        Retraining(walk=walk, label=LabelSpec(horizon=5, kind="class"))
