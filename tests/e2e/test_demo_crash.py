"""``make demo`` killed with SIGKILL at random moments loses no order, fill or signal.

The demo (simulator, engine, SMA crossover, paper broker, SQLite stores in its data dir) is
started, watched over gRPC (``StreamSignals`` and ``StreamOrderEvents``), killed ``KILLS`` times
at seeded random moments, restarted on the same data dir each time, and finally stopped with
Ctrl-C. Then its SQLite files and the paper venue's log are read directly:

- every signal and every fill the demo streamed to the watcher is stored, exactly once;
- every stored order rebuilds from its journal with its fills, and each position is the fold
  of its fills;
- the store agrees with the paper venue's own log (statuses and fills);
- every restart recovered with no mismatch and reconciled with the venue; no process printed
  a traceback or an ERROR line.

Every wait is bounded; the demo is killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from tradeplane.v1 import orders_pb2, orders_pb2_grpc, strategies_pb2, strategies_pb2_grpc

from adapters.persistence.database import open_engine
from adapters.persistence.signal_store import SqlSignalRepository
from adapters.persistence.trade_store import SqlTradeRepository
from domain.positions import Position
from tests.e2e.test_crash_recovery import Child, _check_venue_agrees
from tests.integration.persistence.support import Database

TOKEN = "demo-crash-token-0123456789abcdef"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
SEED = 20_261_124
KILLS = 3
KILL_AFTER_S = (1.5, 4.0)
LAST_RUN_S = 2.0
RATE = "200"  # simulated market steps per second: the SMA crosses often


class Watcher:
    """Streams signals and order events from one demo run until it dies."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address)
        self.signals: list[tuple[str, str, int]] = []
        self.fills: list[tuple[str, str]] = []
        strategies = strategies_pb2_grpc.StrategyServiceStub(self.channel)
        orders = orders_pb2_grpc.OrderServiceStub(self.channel)
        self._signal_stream = strategies.StreamSignals(strategies_pb2.StreamSignalsRequest(), metadata=AUTH)
        self._order_stream = orders.StreamOrderEvents(orders_pb2.StreamOrderEventsRequest(), metadata=AUTH)
        self._threads = [
            threading.Thread(target=self._read_signals, daemon=True),
            threading.Thread(target=self._read_orders, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_signals(self) -> None:
        with contextlib.suppress(grpc.RpcError):
            for response in self._signal_stream:
                signal = response.signal
                ts = signal.time.seconds * 1_000_000_000 + signal.time.nanos
                self.signals.append((signal.strategy_id, signal.instrument_id, ts))

    def _read_orders(self) -> None:
        with contextlib.suppress(grpc.RpcError):
            for response in self._order_stream:
                if response.event.HasField("fill"):
                    fill = response.event.fill
                    self.fills.append((fill.client_order_id, fill.trade_id))

    def close(self) -> None:
        self._signal_stream.cancel()
        self._order_stream.cancel()
        for thread in self._threads:
            thread.join(timeout=10)
        self.channel.close()


def _demo(run: int, data_dir: Path, tmp_path: Path) -> Child:
    # Never the fixed default ports: tests run side by side.
    args = ["demo", "--data-dir", str(data_dir), "--grpc-listen", "127.0.0.1:0", "--rate", RATE,
            "--metrics-listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"]  # fmt: skip
    args += ["--seed", str(SEED + run), "--status-interval", "1", "--log-level", "INFO"]
    return Child(f"demo run {run}", args, tmp_path / f"demo-{run}.err", {"TRADEPLANE_ADMIN_TOKEN": TOKEN})


@pytest.mark.slow
def test_kill_9_at_any_moment_of_the_demo_loses_no_order_fill_or_signal(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data_dir = tmp_path / "data"
    demos: list[Child] = []
    watchers: list[Watcher] = []
    try:
        for run in range(KILLS + 1):
            demo = _demo(run, data_dir, tmp_path)
            demos.append(demo)
            address = demo.wait_for(r"gRPC control plane on (\S+?);").group(1)
            watchers.append(Watcher(address))
            if run == KILLS:
                time.sleep(LAST_RUN_S)
                assert demo.stop() == 0, demo.output()
            else:
                time.sleep(rng.uniform(*KILL_AFTER_S))
                demo.kill()
            watchers[-1].close()
    finally:
        for watcher in watchers:
            with contextlib.suppress(Exception):
                watcher.close()
        for demo in demos:
            demo.kill()

    for demo in demos:
        text = demo.stderr()
        assert "Traceback" not in text, demo.output()
        assert " ERROR " not in text, demo.output()
        assert "0 mismatch(es)" in text, demo.output()
    for demo in demos[1:]:
        assert "reconciliation: " in demo.stderr(), demo.output()

    engine = open_engine(f"sqlite:///{data_dir / 'tradeplane.db'}")
    try:
        trades = SqlTradeRepository(engine)
        signals = SqlSignalRepository(engine)
        stored_signals = Counter(
            (s.strategy_id, s.instrument_id, s.ts_event) for s in signals.list(limit=10_000_000)
        )
        streamed_signals = [signal for watcher in watchers for signal in watcher.signals]
        assert streamed_signals, "the demo emitted no signal"
        lost = [signal for signal in streamed_signals if signal not in stored_signals]
        assert not lost, f"{len(lost)} streamed signal(s) not stored: {lost[:5]}"
        assert max(stored_signals.values()) == 1, "a signal was stored twice"

        fills = list(trades.list_fills())
        stored_fills = Counter((fill.client_order_id, fill.trade_id) for fill in fills)
        streamed_fills = [fill for watcher in watchers for fill in watcher.fills]
        assert streamed_fills, "the demo filled nothing"
        missing = [fill for fill in streamed_fills if fill not in stored_fills]
        assert not missing, f"{len(missing)} streamed fill(s) not stored: {missing[:5]}"
        assert max(stored_fills.values()) == 1, "a fill was stored twice"
        print(f"{len(streamed_signals)} signals and {len(streamed_fills)} fills streamed, all stored")

        for order in trades.list_orders():
            assert order.filled_quantity == sum((f.quantity for f in order.fills), Decimal(0)), order
        for instrument_id, stored in trades.positions().items():
            folded = Position.from_fills(
                instrument_id, [f for f in fills if f.instrument_id == instrument_id]
            )
            assert stored == folded.state(), instrument_id
        trades.close()
        signals.close()
    finally:
        engine.dispose()
    database = Database("sqlite", f"sqlite:///{data_dir / 'tradeplane.db'}")
    try:
        _check_venue_agrees(database, data_dir / "paper_venue.log")
    finally:
        database.dispose()
