"""The ML strategy's costs: features per event, one prediction, and the live path on one-minute bars.

A LightGBM classifier is trained here, walk-forward as ``tradeplane ml train`` trains one
(``application.ml.pipeline.walk_forward`` on the default feature set, then a final fit on the
last window), on synthetic one-minute bars shaped like the live trades below: the same random
walk of prices, 300 trades a bar. It is stored as an artifact and run as an ``ml_classifier``
``[[strategies]]`` entry (threshold 0.55, ``bar_seconds = 60``), as an operator would run it.

- **features**: ``FeatureEngine.on_bar`` per bar (the default set, Decimals converted) and
  ``FeatureEngine.on_trade`` per trade (the trade-flow counter);
- **inference**: ``predict_row`` on one row, as the strategy calls it at each bar's close,
  each call timed (p50, p99) on rows the feature engine computed. Called back to back, it
  finds LightGBM's trees and code in the caches; in the live path, 300 trades apart, each
  call takes several times as long (the lanes below time them there);
- **strategy per trade**: ``on_trade`` of the ML strategy (bars built, features, a prediction
  at each close) and of the SMA crossover, alone, on the same trades;
- **live path**: engine_e2e's engine (Binance frames -> bus -> market state, OMS, strategy,
  sizing, risk, paper broker) three times over: with the SMA crossover 20/100, with the ML
  strategy instead, and with both. The three take the same chunks of 1,000,000 trades in
  turn, the order rotating, as engine_e2e compares metrics on and off. A trade every 200 ms
  of event time, from a minute boundary: a one-minute bar closes every 300 trades (3,333
  bars), and the ML strategy predicts at each. ML against SMA compares two strategies that
  trade very differently (the SMA sends some fifty times the orders); both against the SMA
  alone is what the ML strategy adds to the live path, its few orders included. In both
  lanes with the ML strategy its model's ``predict_row`` calls are timed (``TimedPredictor``):
  their share of the lane's time is what inference costs the live path's throughput.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from statistics import median, quantiles

import numpy as np

from adapters.ml.artifacts import save_artifact
from adapters.ml.lightgbm_model import LightGBMModel, LightGBMTrainer, load_model
from application.backtest import ReplayClock
from application.ml.pipeline import walk_forward
from application.strategy_engine import StrategySlot
from bench import engine_e2e
from bench.harness import Result, ns_per_call
from domain.identifiers import InstrumentId
from domain.market_data import Bar, TradeTick
from domain.ml.features import DEFAULT_FEATURES, BarArrays, FeatureEngine, FloatArray, feature_matrix
from domain.ml.labels import LabelSpec, label_array
from domain.ml.strategy import MlSignalStrategy, Predictor
from domain.ml.walk_forward import WalkForward
from domain.strategies.base import Strategy
from domain.values import AggressorSide
from entrypoints.config import Settings, StrategySettings
from entrypoints.container import bootstrap
from entrypoints.gc_tuning import tune_gc

SUITE = "ml"
INSTRUMENT = "BTCUSDT.BINANCE"
TICKS = 1_000_000
TRADE_EVERY_MS = 200
"""Event time between two trades: 300 trades a minute, so a one-minute bar closes every 300."""
BAR_SECONDS = 60
TRADES_PER_BAR = BAR_SECONDS * 1000 // TRADE_EVERY_MS
QUOTE_EVERY = engine_e2e.QUOTE_EVERY
CHUNK = engine_e2e.CHUNK
START_MS = engine_e2e.START_MS  # a minute boundary: bars close on every 300th trade
THRESHOLD = 0.55
TARGET_PCT = 10.0
"""The most the ML strategy may cut the live path's throughput against the SMA crossover, in %."""

TRAIN_BARS = 1_600
TRAIN_WINDOW = 1_000
RETRAIN_EVERY = 250
HORIZON = 5
FEATURE_BARS = 20_000
FEATURE_TRADES = 200_000
PREDICTIONS = 5_000
STEPS = np.array([-3, -2, -1, -1, 0, 1, 1, 2, 3], dtype=np.int64)
"""The random walk's steps in cents, engine_e2e's."""


def synthetic_bars(count: int, seed: int) -> list[Bar]:
    """``count`` one-minute bars of ``TRADES_PER_BAR`` trades each on engine_e2e's random walk
    (from 30,000.00, steps of -3..3 cents, sizes up to 1), with Decimal prices as a feed's."""
    rng = np.random.default_rng(seed)
    steps = rng.choice(STEPS, size=(count, TRADES_PER_BAR))
    cents = np.maximum(100, 3_000_000 + np.cumsum(steps.ravel()).reshape(count, TRADES_PER_BAR))
    sizes = rng.integers(1, 100_000, size=(count, TRADES_PER_BAR)).sum(axis=1)
    instrument = InstrumentId(INSTRUMENT)
    interval = BAR_SECONDS * 1_000_000_000
    cent = Decimal("0.01")
    bars = []
    for index in range(count):
        row = cents[index]
        close_ns = (START_MS + (index + 1) * BAR_SECONDS * 1000) * 1_000_000
        bars.append(
            Bar(
                instrument,
                Decimal(int(row[0])) * cent,
                Decimal(int(row.max())) * cent,
                Decimal(int(row.min())) * cent,
                Decimal(int(row[-1])) * cent,
                Decimal(int(sizes[index])).scaleb(-5),
                interval,
                close_ns,
                close_ns,
            )
        )
    return bars


class Trained:
    """The model trained on synthetic bars, where its artifact is stored, and what training did."""

    __slots__ = ("folds", "matrix", "model", "model_dir", "seconds")

    def __init__(self, folder: Path) -> None:
        bars = synthetic_bars(TRAIN_BARS, seed=11)
        history = BarArrays.from_bars(bars)
        started = time.perf_counter()
        self.matrix = matrix = feature_matrix(DEFAULT_FEATURES, history)
        label = LabelSpec(horizon=HORIZON, kind="class")
        trainer = LightGBMTrainer()
        result = walk_forward(
            matrix,
            history.close,
            label,
            WalkForward(train_window=TRAIN_WINDOW, retrain_every=RETRAIN_EVERY, horizon=HORIZON),
            trainer,
            names=[spec.name for spec in DEFAULT_FEATURES],
        )
        labels = label_array(history.close, label)
        known = np.flatnonzero(np.isfinite(labels) & np.all(np.isfinite(matrix), axis=1))
        rows = known[-TRAIN_WINDOW:]
        final = trainer.fit(matrix[rows], labels[rows], kind="class", seed=7)
        self.seconds = time.perf_counter() - started
        self.folds = len(result.folds)
        record = {
            "kind": "ml_classifier",
            "instrument": INSTRUMENT,
            "features": [{"kind": spec.kind, **spec.params} for spec in DEFAULT_FEATURES],
            "label": {"horizon": HORIZON, "kind": "class", "threshold": 0.0},
            "walk_forward": {"train_window": TRAIN_WINDOW, "retrain_every": RETRAIN_EVERY, "purge": HORIZON},
            "trainer": {"library": "lightgbm", "seed": 7},
            "training": {"rows": len(rows)},
        }
        artifact = save_artifact(folder, final.to_bytes(), record)
        self.model_dir = artifact.path
        self.model: LightGBMModel = load_model(artifact.model_bytes())  # as the strategy loads it


def _timed_on_bar(bars: Sequence[Bar]) -> float:
    """ns per ``FeatureEngine.on_bar`` over ``bars`` (the first 49 of each pass warming up)."""
    engine = FeatureEngine(DEFAULT_FEATURES)

    def loop(n: int) -> None:
        engine.reset()
        on_bar = engine.on_bar
        for bar in bars[:n]:
            on_bar(bar)

    return ns_per_call(loop, len(bars))


def _trade_ticks(count: int) -> list[TradeTick]:
    rng = random.Random(3)
    instrument = InstrumentId(INSTRUMENT)
    buyer, seller = AggressorSide.BUYER, AggressorSide.SELLER
    return [
        TradeTick(
            instrument,
            Decimal(f"{30_000 + rng.randint(-500, 500)}.{rng.randint(0, 99):02d}"),
            Decimal(f"0.{rng.randint(1, 99_999):05d}"),
            buyer if rng.random() < 0.5 else seller,
            str(index),
            (START_MS + index * TRADE_EVERY_MS) * 1_000_000,
            0,
        )
        for index in range(count)
    ]


def _timed_on_trade(ticks: Sequence[TradeTick]) -> float:
    engine = FeatureEngine(DEFAULT_FEATURES)

    def loop(n: int) -> None:
        on_trade = engine.on_trade
        for tick in ticks[:n]:
            on_trade(tick)

    return ns_per_call(loop, len(ticks))


def _timed_strategy(strategy: Strategy, ticks: Sequence[TradeTick]) -> float:
    """ns per ``strategy.on_trade`` over ``ticks``, from a reset strategy each pass."""

    def loop(n: int) -> None:
        strategy.reset()
        on_trade = strategy.on_trade
        for tick in ticks[:n]:
            on_trade(tick)

    return ns_per_call(loop, len(ticks))


def _timed_predictions(model: LightGBMModel, matrix: FloatArray) -> list[int]:
    """ns of each of ``PREDICTIONS`` ``predict_row`` calls, on the complete rows of ``matrix``
    as tuples of floats (what ``FeatureEngine.on_bar`` hands the strategy), cycled."""
    complete = matrix[np.all(np.isfinite(matrix), axis=1)]
    rows = [tuple(float(value) for value in row) for row in complete]
    predict_row, perf = model.predict_row, time.perf_counter_ns
    for row in rows[:200]:  # warm: LightGBM's first calls allocate
        predict_row(row)
    samples = []
    for index in range(PREDICTIONS):
        row = rows[index % len(rows)]
        start = perf()
        predict_row(row)
        samples.append(perf() - start)
    return samples


def feature_and_inference_results(trained: Trained) -> list[Result]:
    bars = synthetic_bars(FEATURE_BARS, seed=5)
    per_bar = _timed_on_bar(bars)
    ticks = _trade_ticks(FEATURE_TRADES)
    per_trade = _timed_on_trade(ticks)
    both = bootstrap(lane_settings(trained.model_dir)["SMA+ML"], clock=ReplayClock(), feeds=[])
    try:  # the strategies as the engine builds them from their [[strategies]] entries
        sma = both.strategies.slot("sma").strategy
        ml = both.strategies.slot("ml").strategy
        assert isinstance(ml, MlSignalStrategy)
        sma_per_trade = _timed_strategy(sma, ticks)
        ml_per_trade = _timed_strategy(ml, ticks)
        predictions = ml.predictions
    finally:
        both.close()
    closes = FEATURE_TRADES // TRADES_PER_BAR
    samples = _timed_predictions(trained.model, trained.matrix)
    cuts = quantiles(samples, n=100, method="inclusive")
    p50, p99 = cuts[49] / 1000, cuts[98] / 1000
    mean = sum(samples) / len(samples) / 1000
    features = len(DEFAULT_FEATURES)
    return [
        Result(
            SUITE,
            "features: FeatureEngine.on_bar",
            per_bar / 1000,
            "µs/bar",
            f"default set ({features} features), {FEATURE_BARS:,} bars, Decimals converted; best of 5",
        ),
        Result(
            SUITE,
            "features: FeatureEngine.on_trade",
            per_trade / 1000,
            "µs/trade",
            f"{per_trade / 1000:.3f} µs; {FEATURE_TRADES:,} trades with an aggressor; best of 5",
        ),
        Result(
            SUITE,
            "inference: predict_row p50",
            p50,
            "µs/prediction",
            f"LightGBM, 100 trees of 15 leaves, trained here ({trained.folds} walk-forward folds"
            f" + final fit on {TRAIN_WINDOW} bars: {trained.seconds:.1f} s); {PREDICTIONS:,} calls,"
            f" mean {mean:.1f} µs",
        ),
        Result(
            SUITE,
            "inference: predict_row p99",
            p99,
            "µs/prediction",
            f"at one-minute bars of {TRADES_PER_BAR} trades, the mean is"
            f" {mean / TRADES_PER_BAR:.3f} µs a trade",
        ),
        Result(
            SUITE,
            "strategy on_trade, SMA crossover 20/100",
            sma_per_trade / 1000,
            "µs/trade",
            f"{sma_per_trade / 1000:.3f} µs; the strategy alone, {FEATURE_TRADES:,} trades; best of 5",
        ),
        Result(
            SUITE,
            "strategy on_trade, ML classifier",
            ml_per_trade / 1000,
            "µs/trade",
            f"{ml_per_trade / 1000:.3f} µs; bars of {BAR_SECONDS} s built from the trades, features and"
            " a prediction as each closes"
            f" ({closes:,} bars, {predictions:,} predictions a pass); best of 5",
        ),
    ]


def frames(ticks: int, seed: int = 7) -> Iterator[list[bytes]]:
    """engine_e2e's frames (its random walk, a bookTicker every few trades), a trade every
    ``TRADE_EVERY_MS`` of event time instead of every millisecond."""
    return engine_e2e.frames(ticks, seed, every_ms=TRADE_EVERY_MS)


class TimedPredictor:
    """The strategy's model, its ``predict_row`` calls timed: how much of a lane's time the
    predictions themselves take. It predicts what the model predicts."""

    __slots__ = ("calls", "model", "ns")

    def __init__(self, model: Predictor) -> None:
        self.model = model
        self.calls = 0
        self.ns = 0

    def predict_row(self, row: Sequence[float]) -> float:
        start = time.perf_counter_ns()
        try:
            return self.model.predict_row(row)
        finally:
            self.ns += time.perf_counter_ns() - start
            self.calls += 1


def _ml_entry(model_dir: Path) -> StrategySettings:
    """The ML classifier on the model in ``model_dir``, sized, risk-checked and allowed to go
    short as engine_e2e's SMA crossover is."""
    (sma,) = engine_e2e.bench_settings().strategies
    return replace(
        sma,
        id="ml",
        kind="ml_classifier",
        params={"model": str(model_dir), "threshold": THRESHOLD, "bar_seconds": BAR_SECONDS},
    )


def lane_settings(model_dir: Path) -> dict[str, Settings]:
    """engine_e2e's settings with its SMA crossover 20/100, with the ML classifier instead, and
    with both (what the ML strategy adds to a workload that trades as much as the SMA's)."""
    settings = engine_e2e.bench_settings()
    (sma,) = settings.strategies
    ml = _ml_entry(model_dir)
    return {
        "SMA": settings,
        "ML": replace(settings, strategies=(ml,)),
        "SMA+ML": replace(settings, strategies=(sma, ml)),
    }


def _ml_strategy(lane: engine_e2e._Lane) -> tuple[StrategySlot, MlSignalStrategy]:
    slot = lane.app.strategies.slot("ml")
    strategy = slot.strategy
    assert isinstance(strategy, MlSignalStrategy)
    return slot, strategy


def _timed(lane: engine_e2e._Lane, model: LightGBMModel) -> TimedPredictor:
    """``model`` (the one the lane's ML strategy loaded, from the same bytes), timed, in its place."""
    _, strategy = _ml_strategy(lane)
    timed = TimedPredictor(model)
    strategy.use_model(timed, strategy.model_id)
    return timed


def _checked(lane: engine_e2e._Lane, timed: TimedPredictor, bars: int) -> int:
    """The ML strategy's predictions in ``lane``; RuntimeError if it failed, skipped bars, or
    predicted with another model than the timed one."""
    slot, strategy = _ml_strategy(lane)
    least = bars - FeatureEngine(DEFAULT_FEATURES).warmup - 1
    if slot.error or strategy.predictions < least or timed.calls != strategy.predictions:
        raise RuntimeError(
            f"the ML strategy made {strategy.predictions:,} predictions ({timed.calls:,} timed) on"
            f" {bars:,} bars (error: {slot.error or 'none'}); the lane no longer measures what its"
            " figures say"
        )
    return strategy.predictions


def live_path_results(trained: Trained, ticks: int = TICKS) -> list[Result]:
    """The lanes of ``lane_settings`` taking the same chunks in turn (the order rotating, so a
    burst of load elsewhere weighs on all alike); see the module docstring."""
    lanes = {
        label: engine_e2e._Lane(ticks, settings, metrics=False)
        for label, settings in lane_settings(trained.model_dir).items()
    }
    timed = {label: _timed(lanes[label], trained.model) for label in ("ML", "SMA+ML")}
    order = list(lanes)
    tune_gc()
    extra: dict[str, list[float]] = {label: [] for label in order[1:]}
    for index, chunk in enumerate(frames(ticks)):
        spent: dict[str, int] = {}
        turn = index % len(order)
        for label in order[turn:] + order[:turn]:
            lane = lanes[label]
            before = lane.busy_ns
            lane.take(chunk)
            spent[label] = lane.busy_ns - before
        for label, samples in extra.items():
            samples.append(100 * (spent[label] / spent["SMA"] - 1))
    bars = ticks // TRADES_PER_BAR
    statuses = {label: lane.finish()[0] for label, lane in lanes.items()}
    predictions = {label: _checked(lanes[label], timed[label], bars) for label in timed}
    names = {
        "SMA": "SMA crossover 20/100",
        "ML": "ML classifier, 1-min bars",
        "SMA+ML": "SMA crossover and ML classifier",
    }
    results = []
    for label, lane in lanes.items():
        status = statuses[label]
        said = f", {predictions[label]:,} predictions on {bars:,} bars" if label in predictions else ""
        results.append(
            Result(
                SUITE,
                f"live path ticks/s, {names[label]}",
                lane.rate,
                "ticks/s",
                f"{lane.seen:,} trades{said}, {status.orders_submitted:,} orders, {status.fills:,} fills",
            )
        )
    for label, lane in lanes.items():
        per_tick = lane.busy_ns / lane.seen / 1000
        results.append(
            Result(SUITE, f"live path per tick, {names[label]}", per_tick, "µs/tick", f"{per_tick:.3f} µs")
        )
    sma = lanes["SMA"]
    ml_cut = 100 * (1 - lanes["ML"].rate / sma.rate)
    added_cut = 100 * (1 - lanes["SMA+ML"].rate / sma.rate)
    verdict = "within" if added_cut <= TARGET_PCT else "OVER"
    sma_orders = statuses["SMA"].orders_submitted
    ml_orders = statuses["ML"].orders_submitted
    for label, lane in (("ML", lanes["ML"]), ("SMA+ML", lanes["SMA+ML"])):
        share = 100 * timed[label].ns / lane.busy_ns
        verdict_share = "within" if share <= TARGET_PCT else "OVER"
        results.append(
            Result(
                SUITE,
                f"inference's share of the live path, {names[label]}",
                share,
                "%",
                f"{timed[label].ns / 1e9:.3f} s in {timed[label].calls:,} predict_row calls"
                f" ({timed[label].ns / timed[label].calls / 1000:.1f} µs each) of {lane.busy_ns / 1e9:.2f} s:"
                f" the throughput inference costs; target at most {TARGET_PCT:.0f} %: {verdict_share}",
            )
        )
    results += [
        Result(
            SUITE,
            "throughput cut, ML vs SMA",
            ml_cut,
            "%",
            f"same trades, same run; {median(extra['ML']):+.1f} % time per chunk (median of"
            f" {len(extra['ML'])}); the ML sends {ml_orders:,} orders, the SMA {sma_orders:,}",
        ),
        Result(
            SUITE,
            "throughput cut, ML added to SMA",
            added_cut,
            "%",
            f"{median(extra['SMA+ML']):+.1f} % time per chunk (median); the ML strategy's whole cost"
            f" (bars from trades, features, predictions, its signals); at most {TARGET_PCT:.0f} %: {verdict}",
        ),
    ]
    return results


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="tp-bench-ml-") as tmp:
        trained = Trained(Path(tmp))
        results = feature_and_inference_results(trained)
        results += live_path_results(trained)
    return results


if __name__ == "__main__":
    for row in run():
        print(f"{row.name:<45} {row.value:>14,.2f} {row.unit}  ({row.note})")
