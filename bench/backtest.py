"""Backtest throughput: 1,000,000 seeded trade ticks and 1,000,000 one-minute bars.

The full engine path of a live run (bus, market state, paper broker, OMS, SMA crossover,
sizing, risk, orders, fills, positions) on the replayed events' own clock. Three figures:

- **replay**: ticks already read into memory, replayed through the engine (what backtest
  engines usually quote: NautilusTrader's ~28k ticks/s on this machine is of this kind);
- **end to end from CSV**: ``tradeplane backtest``'s own path, reading Binance CSV included;
- **bars**: 1M one-minute klines end to end, against the project's goal of under 10 s.

A second workload, SMA 10/30 buying and selling 1 BTC at market (10 bps fees, long only,
about 38k orders on the same 1M ticks), trades often enough for orders to matter: its
replay, the ``tradeplane backtest`` command as its own process (wall time, peak RSS), and
the split of the replay's time into a cost per tick (the same replay with an SMA too slow
to trade) and a cost per order (the difference, divided by the orders).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import entrypoints
from adapters.historical import read_merged
from application.backtest import ReplayClock
from bench.harness import Result
from bench.historical_csv import kline_lines, trade_lines, write
from domain.market_data import MarketEvent
from entrypoints.backtest.run import replay_runner, run_backtest
from entrypoints.backtest.settings import settings_for
from entrypoints.backtest.spec import BacktestSpec
from entrypoints.container import bootstrap
from entrypoints.gc_tuning import tune_gc

SUITE = "backtest"
TICKS = 1_000_000
BARS = 1_000_000
INSTRUMENT = "BTCUSDT.BINANCE"
ORDERS_FAST, ORDERS_SLOW = "10", "30"
IDLE_FAST, IDLE_SLOW = "20000", "100000"
"""An SMA this slow crosses about a dozen times in the seeded 1M ticks (1000/2000 would cross
some 550 times): its replay is almost all per-tick cost, and its few orders are accounted for."""
EXPECTED_ORDERS = range(30_000, 45_000)
"""SMA 10/30 on the seeded 1M ticks sends about 38k orders; outside this, the workload changed."""
QTY_CAPITAL = Decimal(100_000_000)
"""Enough quote currency that a spot account never refuses a 1 BTC buy near 42,000, even after
the fees of some 19k round trips (about 1.6M) and their losses."""
SPLIT_REPEAT = 2
"""Replays of each side of the per-tick/per-order split, alternated; the fastest of each is kept."""


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
    replay = replay_events(_spec(path), list(read_merged([path], INSTRUMENT)))
    return replay.ticks / replay.seconds, replay.ticks, replay.fills


def _qty_spec(path: Path, fast: str, slow: str) -> BacktestSpec:
    """Market orders of 1 unit, 10 bps fees, long only (a spot account), capital to spare."""
    return BacktestSpec(
        data=(str(path),),
        strategy="sma_crossover",
        params={"fast": fast, "slow": slow},
        capital=QTY_CAPITAL,
        fees_bps=Decimal(10),
        quantity=Decimal(1),
        fraction=None,
    )


@dataclass(frozen=True, slots=True)
class Replay:
    """One in-memory replay: its wall time (the engine only, no reading) and what it did."""

    seconds: float
    ticks: int
    orders: int
    fills: int


def replay_events(spec: BacktestSpec, events: Sequence[MarketEvent]) -> Replay:
    """``events`` (already in memory) replayed through a freshly wired engine for ``spec``."""
    clock = ReplayClock()
    app = bootstrap(settings_for(spec, INSTRUMENT), clock=clock, feeds=[], record_market_data=False)
    runner = replay_runner(app, clock)
    tune_gc()
    started = time.perf_counter()
    result = runner.run(iter(events))
    elapsed = time.perf_counter() - started
    app.close()
    gc.unfreeze()
    return Replay(elapsed, result.events, result.orders, len(result.fills))


@dataclass(frozen=True, slots=True)
class CommandRun:
    """``tradeplane backtest`` as its own process: wall time, peak RSS, and what it reported."""

    wall_seconds: float
    peak_rss_mib: float
    report: dict[str, object]


_MEASURED = """\
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{usage.ru_maxrss} {wall}")
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Runs the command given after a file name and writes its peak RSS (KiB) and wall time there.

The peak RSS of a process is its own only if it was spawned by a small one: on exec, Linux
carries the spawner's high-water RSS over into the new program's (``ru_maxrss`` of a child of
this benchmark, which holds a million events, reported this process's peak, not the command's).
"""


def run_command(path: Path, fast: str, slow: str, folder: Path) -> CommandRun:
    """The command line of the qty-1 workload, timed from spawn to exit.

    The child imports the same tree as this process (its root first on PYTHONPATH, started
    outside the repository), so a benchmark of another worktree measures that worktree. It is
    started by a small interpreter that measures it (``_MEASURED``), so its peak RSS is its own.
    """
    out = folder / f"result-{fast}-{slow}.json"
    measured = folder / f"measured-{fast}-{slow}.txt"
    argv = [
        sys.executable, "-m", "entrypoints.cli", "backtest", "--data", str(path),
        "--strategy", "sma_crossover", "--param", f"fast={fast}", "--param", f"slow={slow}",
        "--quantity", "1", "--fees-bps", "10", "--capital", str(QTY_CAPITAL),
        "--no-progress", "--json", str(out),
    ]  # fmt: skip
    root = str(Path(entrypoints.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    errors = folder / f"stderr-{fast}-{slow}.txt"  # a file, not a pipe: a full pipe would block the child
    with errors.open("wb") as stderr:
        returncode = subprocess.call(
            [sys.executable, "-c", _MEASURED, str(measured), *argv],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    if returncode != 0:
        tail = errors.read_text(errors="replace")[-2000:].strip()
        raise RuntimeError(f"tradeplane backtest exited with {returncode}: {tail}")
    rss_kib, wall = measured.read_text().split()  # KiB on Linux
    return CommandRun(float(wall), int(rss_kib) / 1024, json.loads(out.read_text()))


def split_costs(trading: Replay, idle: Replay) -> tuple[float, float]:
    """(µs per tick, µs per order) from a replay that trades and one on the same ticks that
    hardly does: each replay's time is ticks × per-tick + orders × per-order, solved for both."""
    per_order = (trading.seconds - idle.seconds) / (trading.orders - idle.orders)
    per_tick = (idle.seconds - idle.orders * per_order) / idle.ticks
    return per_tick * 1e6, per_order * 1e6


def _check_orders(orders: int, fills: int, where: str) -> None:
    """Refuse to report figures of a workload that no longer trades as described."""
    if orders not in EXPECTED_ORDERS or fills != orders:
        raise RuntimeError(
            f"SMA {ORDERS_FAST}/{ORDERS_SLOW} qty 1 {where}: {orders:,} orders and {fills:,} fills,"
            " expected about 38k orders, each filled; the workload no longer measures what its figures say"
        )


def qty_one_results(trades: Path, folder: Path) -> list[Result]:
    """The SMA 10/30 qty-1 workload: replay, command line, and the per-tick/per-order split."""
    events = list(read_merged([trades], INSTRUMENT))
    trading = _qty_spec(trades, ORDERS_FAST, ORDERS_SLOW)
    idle = _qty_spec(trades, IDLE_FAST, IDLE_SLOW)
    with_orders: list[Replay] = []
    without: list[Replay] = []
    for _ in range(SPLIT_REPEAT):  # alternated, so a burst of load elsewhere hits both sides
        with_orders.append(replay_events(trading, events))
        without.append(replay_events(idle, events))
    del events
    trades_best = min(with_orders, key=lambda r: r.seconds)
    idle_best = min(without, key=lambda r: r.seconds)
    _check_orders(trades_best.orders, trades_best.fills, "replay")
    per_tick, per_order = split_costs(trades_best, idle_best)
    name = f"SMA {ORDERS_FAST}/{ORDERS_SLOW} qty 1"
    results = [
        Result(
            SUITE,
            f"{name}: replay, trade ticks/s",
            trades_best.ticks / trades_best.seconds,
            "ticks/s",
            f"{trades_best.ticks:,} ticks, {trades_best.orders:,} orders, {trades_best.fills:,} fills;"
            f" best of {SPLIT_REPEAT}",
        ),
        Result(
            SUITE,
            f"{name}: per-tick cost",
            per_tick,
            "µs/tick",
            f"{per_tick:.3f} µs; from SMA {IDLE_FAST}/{IDLE_SLOW} on the same ticks:"
            f" {idle_best.ticks / idle_best.seconds:,.0f}"
            f" ticks/s, {idle_best.orders} orders; best of {SPLIT_REPEAT}",
        ),
        Result(
            SUITE,
            f"{name}: per-order cost",
            per_order,
            "µs/order",
            f"(replay time with orders - without) / extra orders;"
            f" orders are {per_order * trades_best.orders / 1e6 / trades_best.seconds:.0%} of the replay",
        ),
    ]
    command = run_command(trades, ORDERS_FAST, ORDERS_SLOW, folder)
    report = command.report
    orders, fills = report["orders"], report["fills"]
    assert isinstance(orders, int)
    assert isinstance(fills, int)
    _check_orders(orders, fills, "command")
    rate = report["events_per_second"]
    assert isinstance(rate, int)
    results += [
        Result(
            SUITE,
            f"{name}: backtest command from CSV, trade ticks/s",
            rate,
            "ticks/s",
            f"reading the CSV included, as the command reports it; {orders:,} orders",
        ),
        Result(
            SUITE,
            f"{name}: backtest command, process wall time",
            command.wall_seconds,
            "s",
            "spawn to exit: interpreter start, imports, CSV, replay, metrics, JSON",
        ),
        Result(
            SUITE,
            f"{name}: backtest command, peak RSS",
            command.peak_rss_mib,
            "MiB",
            "the command's own process",
        ),
    ]
    return results


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
        results += qty_one_results(trades, Path(tmp))
    return results


if __name__ == "__main__":
    for row in run():
        print(f"{row.name:<40} {row.value:>14,.1f} {row.unit}  ({row.note})")
