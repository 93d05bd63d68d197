"""Backtest throughput: 1,000,000 seeded trade ticks and 1,000,000 one-minute bars.

The full engine path of a live run (bus, market state, paper broker, OMS, SMA crossover,
sizing, risk, orders, fills, positions) on the replayed events' own clock. Three figures:

- **replay**: ticks already read into memory, replayed through the engine (what backtest
  engines usually quote: NautilusTrader's ~28k ticks/s on this machine is of this kind);
- **end to end from CSV**: ``tradeplane backtest``'s own path, reading Binance CSV included;
- **bars**: 1M one-minute klines end to end, against the project's goal of under 10 s.
"""

from __future__ import annotations

import gc
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from adapters.historical import read_merged
from application.backtest import ReplayClock
from bench.harness import Result
from bench.historical_csv import kline_lines, trade_lines, write
from entrypoints.backtest.run import replay_runner, run_backtest
from entrypoints.backtest.settings import settings_for
from entrypoints.backtest.spec import BacktestSpec
from entrypoints.container import bootstrap
from entrypoints.gc_tuning import tune_gc

SUITE = "backtest"
TICKS = 1_000_000
BARS = 1_000_000
INSTRUMENT = "BTCUSDT.BINANCE"


def _spec(path: Path, **params: str) -> BacktestSpec:
    return BacktestSpec(
        data=(str(path),),
        strategy="sma_crossover",
        params={"fast": "20", "slow": "100", **params},
        quantity=Decimal("0.001"),
        fraction=None,
    )


def replay_ticks(path: Path) -> tuple[float, int, int]:
    """(ticks/s, ticks, fills) of the engine replaying ticks already in memory."""
    events = list(read_merged([path], INSTRUMENT))
    clock = ReplayClock()
    app = bootstrap(settings_for(_spec(path), INSTRUMENT), clock=clock, feeds=[], record_market_data=False)
    runner = replay_runner(app, clock)
    tune_gc()
    started = time.perf_counter()
    result = runner.run(events)
    elapsed = time.perf_counter() - started
    app.close()
    gc.unfreeze()
    return result.events / elapsed, result.events, len(result.fills)


def run() -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="tp-bench-backtest-") as tmp:
        trades = write(Path(tmp) / "BTCUSDT-trades-2024-01.csv", trade_lines(TICKS))
        rate, ticks, fills = replay_ticks(trades)
        results.append(
            Result(
                SUITE,
                "replay, trade ticks/s",
                rate,
                "ticks/s",
                f"{ticks:,} ticks, {fills:,} fills; target 300k",
            )
        )
        outcome = run_backtest(_spec(trades))
        results.append(
            Result(
                SUITE,
                "end to end from CSV, trade ticks/s",
                outcome.result.events / outcome.seconds,
                "ticks/s",
                f"reading the CSV included; {len(outcome.result.fills):,} fills",
            )
        )
        klines = write(Path(tmp) / "BTCUSDT-1m-2024-01.csv", kline_lines(BARS))
        started = time.perf_counter()
        outcome = run_backtest(_spec(klines))
        wall = time.perf_counter() - started
        results.append(
            Result(
                SUITE,
                "1M one-minute bars, wall time",
                wall,
                "s",
                f"end to end with metrics; {len(outcome.result.fills):,} fills; target < 10 s",
            )
        )
    return results


if __name__ == "__main__":
    for row in run():
        print(f"{row.name:<40} {row.value:>14,.1f} {row.unit}  ({row.note})")
