"""Backtest and live give the same ML predictions: the same trades, the same models, the same signals.

A classifier is trained here (``tradeplane ml train`` on a synthetic one-minute kline file),
then run as the ``ml_classifier`` strategy on one-minute bars it builds from recorded trades,
retraining itself every 40 bars on its last 60. The trades go once through ``run_backtest``
(a Binance trades CSV) and once live: the exchange simulator replays them over a loopback
WebSocket, the real Binance feed parses them, and an engine built from the very settings of
the backtest trades them (``test_backtest_parity``'s live path and tapes, reused as they are).

What is equal, and why:

* Predictions: every signal's reason names the model that made it and its p(up) to four
  decimals, so equal reasons are equal predictions from equal models, bar by bar.
* Model swaps: both engines retrain at once, on the bar that asks, and predict with the new
  model from the next bar. The backtest does so because its clock is a ``ReplayClock``; the
  live engine here does so because its clock is a ``ManualClock`` moved to each event's time
  (not a ``LiveClock``), and the container retrains at once on any clock but the live one.
  A real live engine trains in a worker process and swaps the model in when the fit is done,
  a moment set by the machine's load that no recording holds, so it cannot be compared bar by
  bar; this test compares the deterministic path, and the worker path is tested on its own in
  ``tests/unit/application/ml/test_retraining.py``.
* Stored models: both runs store each retrained model beside the first, and the same training
  gives the same id and the same bytes, so the live run stores exactly the backtest's models.
* Orders and fills follow from the signals, on the same paper broker, and are compared whole.
"""

from __future__ import annotations

import asyncio
import math
import random
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.ml.artifacts import MODEL_FILE, load_artifact
from domain.ml.strategy import MlSignalStrategy
from domain.signals import Signal
from entrypoints import container
from entrypoints.backtest.outcome import BacktestOutcome
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.settings import settings_for
from entrypoints.backtest.spec import BacktestSpec
from entrypoints.cli import main
from entrypoints.config import Settings
from entrypoints.container import App
from tests.e2e.recorded_ticks import T0_MS, RecordedTrade, write_trade_recording, write_trades_csv
from tests.e2e.test_backtest_parity import INSTRUMENT, SYMBOL, Tape, run_live_path
from tests.unit.adapters.historical.files import MINUTE, kline, write

pytestmark = pytest.mark.slow

SEED = 20240102
KLINES = 400
"""One-minute bars of history for the first model: warm-up (50), one window (200), purge, one fold."""
TRADES = 4000
"""Trades 0 to 8 s apart: about 225 one-minute bars, a few thousand frames over the WebSocket."""
PERIOD_MIN = 37.0
"""The price swings over this many minutes, so the model sees ups and downs in every window."""
RETRAIN_EVERY = 40
TRAIN_WINDOW = 60
PARAMS = {
    "threshold": "0.51",
    "bar_seconds": "60",
    "retrain_every": str(RETRAIN_EVERY),
    "train_window": str(TRAIN_WINDOW),
}


def _price(minutes: float, rng: random.Random) -> float:
    """A swing of ``PERIOD_MIN`` minutes plus seeded noise."""
    return 30_000.0 + 120.0 * math.sin(2 * math.pi * minutes / PERIOD_MIN) + rng.gauss(0.0, 15.0)


def _text(value: float, places: int) -> str:
    units = round(value * 10**places)
    return f"{units // 10**places}.{units % 10**places:0{places}d}"


def history_klines(path: Path) -> Path:
    """``KLINES`` one-minute klines of the same kind of market, ending where the trades begin."""
    rng = random.Random(SEED)
    start = T0_MS - KLINES * MINUTE
    rows = []
    close = _price(-KLINES, rng)
    for i in range(KLINES):
        opened, close = close, _price(i - KLINES + 1, rng)
        high = max(opened, close) + abs(rng.gauss(0.0, 5.0))
        low = min(opened, close) - abs(rng.gauss(0.0, 5.0))
        ohlc = ",".join(_text(v, 2) for v in (opened, high, low, close))
        rows.append(kline(start + i * MINUTE, ohlc, _text(rng.uniform(5.0, 50.0), 5)))
    return write(path, rows)


def recorded_trades() -> list[RecordedTrade]:
    """``TRADES`` trades of that market, 0 to 8 seconds apart (equal times included)."""
    rng = random.Random(SEED + 1)
    trades: list[RecordedTrade] = []
    time_ms = T0_MS
    for i in range(TRADES):
        price = _price((time_ms - T0_MS) / MINUTE, rng)
        lots = rng.randint(1, 2_000)  # thousandths of the base asset
        trades.append(
            RecordedTrade(
                trade_id=5_000_001 + i,
                price=_text(price, 2) + "000000",
                quantity=f"{lots // 1000}.{lots % 1000:03d}00000",
                time_ms=time_ms,
                buyer_is_maker=rng.random() < 0.5,
            )
        )
        time_ms += rng.choice((0, 1_000, 3_000, 5_000, 8_000))
    return trades


def run_ml_backtest(spec: BacktestSpec, monkeypatch: pytest.MonkeyPatch) -> tuple[BacktestOutcome, Tape]:
    """``run_backtest`` as the CLI calls it, its ML engine watched, not changed.

    An ML run may replay the history again with another strategy (a baseline for its report);
    that engine is not the one compared, so only the engine running ``spec.strategy`` is kept.
    """
    tapes: list[Tape] = []
    real_bootstrap = container.bootstrap

    def watched(settings: Settings, **kwargs: Any) -> App:
        app = real_bootstrap(settings, **kwargs)
        if [entry.kind for entry in settings.strategies] == [spec.strategy]:
            tapes.append(Tape.attach(app))
        return app

    with monkeypatch.context() as patch:
        patch.setattr(container, "bootstrap", watched)
        outcome = run_backtest(spec)
    assert len(tapes) == 1
    return outcome, tapes[0]


def _model_of(signal: Signal) -> str:
    model, colon, _ = signal.reason.partition(":")
    assert colon, signal.reason
    assert model.startswith("model "), signal.reason
    return model.removeprefix("model ")


def _ml(tape: Tape) -> MlSignalStrategy:
    (slot,) = tape.app.strategies.slots
    assert isinstance(slot.strategy, MlSignalStrategy)
    return slot.strategy


def _stored(models: Path) -> dict[str, bytes]:
    return {child.name: (child / MODEL_FILE).read_bytes() for child in sorted(models.iterdir())}


def test_a_backtest_and_a_live_run_of_the_same_trades_give_the_same_ml_predictions_and_model_swaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    klines = history_klines(tmp_path / f"{SYMBOL}-1m-2023-12-31.csv")
    trained = main(
        [
            "ml",
            "train",
            str(klines),
            "--train-window",
            "200",
            "--retrain-every",
            "50",
            "--models-dir",
            str(models),
        ]
    )
    assert trained == 0
    (first,) = models.iterdir()
    first_id = load_artifact(first).model_id

    recorded = recorded_trades()
    csv = write_trades_csv(tmp_path / f"{SYMBOL}-trades-2024-01.csv", recorded)
    recording = write_trade_recording(tmp_path / f"{SYMBOL}-trades.jsonl", SYMBOL, recorded)
    spec = BacktestSpec(
        data=(str(csv),),
        strategy="ml_classifier",
        params={"model": str(first), **PARAMS},
        instrument=INSTRUMENT,
        capital=Decimal(10_000),
        fees_bps=Decimal(10),
    )

    outcome, backtest = run_ml_backtest(spec, monkeypatch)
    # The models the backtest stored are set aside: the live run must store the same ones again.
    stored_by_backtest = _stored(models)
    aside = tmp_path / "stored-by-the-backtest"
    aside.mkdir()
    for model_id in stored_by_backtest:
        if model_id != first_id:
            shutil.move(models / model_id, aside / model_id)
    assert _stored(models) == {first_id: stored_by_backtest[first_id]}

    live = asyncio.run(asyncio.wait_for(run_live_path(settings_for(spec, INSTRUMENT), recording, TRADES), 60))

    # The backtest's own report agrees with what its engine journaled.
    result = outcome.result
    assert result.events == TRADES
    assert result.handler_errors == 0
    assert result.signals == len(backtest.signals)
    assert result.orders == len(backtest.orders())
    assert result.fills == backtest.fills()
    assert live.app.bus.stats.handler_errors == 0, live.app.bus.stats.last_failures

    # The same bars predicted, the same retraining asked for, at the same bars.
    on_backtest, on_live = _ml(backtest), _ml(live)
    assert (on_live.predictions, on_live.retrains) == (on_backtest.predictions, on_backtest.retrains)
    assert on_live.model_id == on_backtest.model_id

    # The same signals: side, time, and reason (the model's id and its p(up)), then whole.
    assert [(s.side, s.ts_event, s.reason) for s in live.signals] == [
        (s.side, s.ts_event, s.reason) for s in backtest.signals
    ]
    assert live.signals == backtest.signals
    assert live.refusals == backtest.refusals
    # The same orders and fills, in the same order, and the account they leave.
    assert live.orders() == backtest.orders()
    assert [(f.side, f.quantity, f.price, f.fee) for f in live.fills()] == [
        (f.side, f.quantity, f.price, f.fee) for f in backtest.fills()
    ]
    assert live.fills() == backtest.fills()
    assert live.app.portfolio.account.balances == backtest.app.portfolio.account.balances

    # The same models stored, byte for byte: retraining gave the same fits on both paths.
    assert _stored(models) == stored_by_backtest

    # Not a trivial agreement: the strategy retrained, its signals came from more than one
    # model (the first and a retrained one at least), and it traded.
    assert on_backtest.retrains >= 2
    assert len(stored_by_backtest) == 1 + on_backtest.retrains
    used = {_model_of(signal) for signal in backtest.signals}
    assert first_id in used
    assert len(used) >= 2, used
    assert _model_of(backtest.signals[0]) == first_id
    assert _model_of(backtest.signals[-1]) != first_id
    assert used <= set(stored_by_backtest)
    assert len(backtest.signals) >= 4
    assert backtest.fills()
