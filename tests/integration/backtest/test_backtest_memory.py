"""A replay's stores stay bounded however many orders it sends, and what it keeps changes
nothing of its result; the garbage collector is set aside while it replays, and restored."""

from __future__ import annotations

import gc
import math
from pathlib import Path
from typing import Any

import pytest

from entrypoints.backtest import run
from entrypoints.backtest.outcome import outcome_json
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import BacktestSpec
from entrypoints.container import App
from entrypoints.gc_tuning import GC_THRESHOLDS, collector_aside
from tests.unit.adapters.historical.files import MINUTE, T0, kline, write

_WIRING = run.replay_with


@pytest.fixture(scope="module")
def klines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = []
    for i in range(3000):
        close = round(40_000 + 800 * math.sin(i / 90) + 40 * math.sin(i / 2.3), 2)
        prices = f"{close:.2f},{close + 5:.2f},{close - 5:.2f},{close:.2f}"
        rows.append(kline(T0 + i * MINUTE, prices, "12.5"))
    return write(tmp_path_factory.mktemp("data") / "BTCUSDT-1m-2024-01.csv", rows)


def _replayed(klines: Path, monkeypatch: pytest.MonkeyPatch, kept: int) -> tuple[dict[str, Any], App]:
    apps: list[App] = []
    monkeypatch.setattr(run, "KEPT_ORDERS", kept)
    monkeypatch.setattr(run, "replay_with", lambda *a, **k: _WIRING(*a, **k, attach=apps.append))
    spec = BacktestSpec(data=(str(klines),), strategy="sma_crossover", params={"fast": "2", "slow": "5"})
    document = outcome_json(run_backtest(spec))
    del document["seconds"], document["events_per_second"]
    return document, apps[0]


def test_a_long_replay_keeps_few_orders_and_signals_and_the_same_result(
    klines: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything, _ = _replayed(klines, monkeypatch, kept=1_000_000)
    bounded, app = _replayed(klines, monkeypatch, kept=20)
    orders = bounded["orders"]
    assert isinstance(orders, int)
    assert orders > 200  # enough orders for the bound to matter
    assert len(app.trades.list_orders()) <= 20 + 20 // 4 + 1
    assert len(app.signals.list(limit=orders)) == 20
    assert len(app.trades.list_fills()) == bounded["fills"] == orders
    assert bounded == everything


def test_the_collector_is_set_aside_for_a_replay_and_restored_after() -> None:
    gc.unfreeze()  # a test before this one, in this worker, may have tuned the process (tune_gc)
    before = gc.get_threshold()
    with collector_aside():
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_process_tuned_already_keeps_its_tuning() -> None:
    before = gc.get_threshold()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_aside():
            assert gc.get_threshold() == before
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
