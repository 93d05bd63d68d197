"""Crash recovery end to end: ``tradeplane run`` on the SQL stores is killed with SIGKILL mid-trading,
restarted, killed again, and nothing it acknowledged is lost or doubled.

The engine trades against ``tradeplane exchange-sim`` (a fast SMA crossover on the paper broker)
while a gRPC client of the test submits MARKET orders of the minimum quantity (client order ids
of its own, alternating BUY and SELL) and watches StreamOrderEvents. An order is *acknowledged*
when SubmitOrder returned OK; a fill is *seen* when the stream delivered it. The engine is killed
``KILLS`` times at seeded random moments 1-3 s after it serves, restarted each time (it must
serve again, recover with no position mismatch and keep sane counters), and finally stopped with
Ctrl-C. Then the store itself is read with ``adapters.persistence``:

- every acknowledged order is stored, as it was submitted, and resubmitting it after a restart
  is answered as a duplicate;
- every fill seen on the stream is stored (same quantity and price), no fill twice for an order;
- every stored order rebuilds from its journal, its filled quantity is the sum of its fills;
- every stored position equals the fold of its fills (``Position.from_fills``);
- the strategy's own orders are there too; no process printed a traceback or an ERROR line;
- nothing is left working, but for an order on its way to the venue at Ctrl-C;
- the paper venue's own log agrees: every order it knows has, in the store, the venue's
  status and exactly the venue's fills; an order it never received is REJECTED as lost on the
  way (an acknowledged order is FILLED, or that).

The paper broker has a latency (``BROKER_LATENCY_NS``) so that a kill finds orders in flight
(journaled SUBMITTED, not yet at the venue) and the restart has to settle them by asking the venue.
Every wait is bounded; the simulator and the engine are killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import grpc
import pytest
from tradeplane.v1 import common_pb2, engine_pb2, engine_pb2_grpc, orders_pb2, orders_pb2_grpc

from adapters.brokers.paper import PaperBroker, PaperBrokerConfig, VenueLog
from adapters.persistence.trade_store import SqlTradeRepository
from application.reconciliation import LOST_SUBMISSION
from domain.identifiers import ClientOrderId
from domain.orders import Fill, OrderStatus
from domain.positions import Position
from domain.values import OrderSide
from tests.integration.persistence.support import Database, postgres_database, sqlite_database

REPO = Path(__file__).resolve().parents[2]
TOKEN = "crash-recovery-token-0123456789"  # TRADEPLANE_ADMIN_TOKEN of the engine
AUTH = (("authorization", f"Bearer {TOKEN}"),)
INSTRUMENT = "BTCUSDT.BINANCE"
STRATEGY = "sma-crash"
PREFIX = "CR"
QUANTITY = Decimal("0.001")  # the instrument's minimum

SEED = 20_251_124
KILLS = 3
KILL_AFTER_S = (1.0, 3.0)  # a kill comes this long (uniform, seeded) after the engine serves
STATUS_AFTER_S = 0.8  # the counters are checked this long after the engine serves
LAST_RUN_S = 1.5  # the run after the last restart trades this long before Ctrl-C
SUBMIT_EVERY_S = 0.03
BROKER_LATENCY_NS = 50_000_000  # orders are in flight this long: a kill finds some there

START_TIMEOUT_S = 20.0  # a process prints its address
READY_TIMEOUT_S = 15.0  # the engine sees market data after serving
STOP_TIMEOUT_S = 20.0  # a process exits after Ctrl-C or SIGKILL
RPC_TIMEOUT_S = 3.0
JOIN_TIMEOUT_S = 10.0
MIGRATE_TIMEOUT_S = 60.0
QUIET = ("--log-level", "WARNING")


# -- processes ---------------------------------------------------------------------------------


class Child:
    """A subprocess whose stdout is read line by line (bounded waits), stderr kept in a file."""

    def __init__(self, name: str, args: list[str], stderr_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.stderr_path = stderr_path
        with stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "entrypoints.cli", *args],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            )
        self.printed: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=_pump, args=(self.process.stdout, self._lines), daemon=True)
        self._reader.start()

    def wait_for(self, pattern: str, seconds: float = START_TIMEOUT_S) -> re.Match[str]:
        """The first line from now on matching ``pattern``; fails the test after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(
                    f"{self.name} printed no line matching {pattern!r} in {seconds:g} s:\n{self.output()}"
                )
            if line is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=STOP_TIMEOUT_S)
                pytest.fail(f"{self.name} exited ({self.process.returncode}) early:\n{self.output()}")
            self.printed.append(line)
            if match := re.search(pattern, line):
                return match

    def kill(self) -> None:
        """SIGKILL and reap."""
        if self.process.poll() is None:
            self.process.kill()
        self._finish()

    def stop(self) -> int:
        """Ctrl-C; SIGKILL after STOP_TIMEOUT_S. The exit code (negative: a signal)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self._finish()
        return self.process.returncode

    def _finish(self) -> None:
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)
        self._reader.join(timeout=JOIN_TIMEOUT_S)
        while not self._lines.empty():
            line = self._lines.get_nowait()
            if line is not None:
                self.printed.append(line)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def output(self) -> str:
        printed, stderr = "".join(self.printed), self.stderr()[-6000:]
        return f"[{self.name}] stdout:\n{printed}\n[{self.name}] stderr:\n{stderr}"


def _pump(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


# -- configuration ---------------------------------------------------------------------------------


def _settings(port: int, storage: dict[str, Any]) -> dict[str, Any]:
    """``demo_settings`` of the demo command with a faster SMA, room for the test's orders, SQL stores."""
    return {
        "engine": {"name": "crash-recovery", "order_id_prefix": PREFIX, "status_interval_s": 1.0},
        "account": {"balances": {"USDT": "100000"}},
        "instruments": [
            {
                "id": INSTRUMENT,
                "base": "BTC",
                "quote": "USDT",
                "price_tick": "0.01",
                "lot_size": "0.001",
                "min_quantity": str(QUANTITY),
                "min_notional": "5",
            }
        ],
        "feeds": {
            "binance": {
                "instrument_ids": [INSTRUMENT],
                "ws_url": f"ws://127.0.0.1:{port}",
                "rest_url": f"http://127.0.0.1:{port}",
                "use_system_proxy": False,
                "reconnect_initial_delay": 0.2,
                "reconnect_max_delay": 2.0,
                "stale_after": 5.0,
            }
        },
        "broker": {
            "kind": "paper",
            "maker_fee_bps": "2",
            "taker_fee_bps": "5",
            "latency_ns": BROKER_LATENCY_NS,
            "account": "margin",  # the strategy sells short
        },
        "strategies": [
            {
                "id": STRATEGY,
                "kind": "sma_crossover",
                "instruments": [INSTRUMENT],
                "params": {"fast": 3, "slow": 8},
                "sizing": {"kind": "fixed_quantity", "quantity": "0.05"},
                "allow_short": True,
            }
        ],
        "risk": {
            "max_order_quantity": "0.5",
            "max_position_quantity": "0.5",
            "max_open_orders": 10,
            "max_orders_per_window": 100_000,
            "window_ns": 60_000_000_000,
            "max_data_age_ns": 5_000_000_000,
            "price_band_fraction": "0.05",
            "daily_loss_limit": "50000",
            "max_drawdown_fraction": "0.5",
        },
        "stops": {"stop_loss_fraction": "0.01"},
        "storage": storage,
        "logging": {"level": "INFO"},
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for these plain values
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def _toml(settings: dict[str, Any]) -> str:
    """Top-level tables and arrays of tables; anything nested deeper is written inline."""
    lines: list[str] = []
    for section, body in settings.items():
        tables = body if isinstance(body, list) else [body]
        for table in tables:
            lines.append(f"[[{section}]]" if isinstance(body, list) else f"[{section}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items())
            lines.append("")
    return "\n".join(lines)


# -- the gRPC client -------------------------------------------------------------------------------


@dataclass
class Seen:
    """What the client was told, over every run of the engine."""

    acknowledged: dict[str, OrderSide] = field(default_factory=dict)  # coid -> side (of QUANTITY)
    refused: dict[str, str] = field(default_factory=dict)  # coid -> status code (not acknowledged)
    unknown: list[str] = field(default_factory=list)  # the call failed as the engine died
    fills: dict[tuple[str, str], tuple[Decimal, Decimal]] = field(default_factory=dict)
    streamed_twice: list[tuple[str, str]] = field(default_factory=list)


class Client:
    """One run's client: a thread submitting orders and a thread reading StreamOrderEvents."""

    def __init__(self, address: str, run: int, seen: Seen) -> None:
        self.run = run
        self.seen = seen
        self.channel = grpc.insecure_channel(address)
        self.orders = orders_pb2_grpc.OrderServiceStub(self.channel)
        self.engine = engine_pb2_grpc.EngineServiceStub(self.channel)
        self.submitted = 0
        self.streamed_fills = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stream: Any = None
        self._threads = [
            threading.Thread(target=self._watch, daemon=True),
            threading.Thread(target=self._submit, daemon=True),
        ]

    def status(self) -> engine_pb2.GetStatusResponse:
        return self.engine.GetStatus(engine_pb2.GetStatusRequest(), timeout=RPC_TIMEOUT_S, metadata=AUTH)

    def start(self) -> None:
        self._stream = self.orders.StreamOrderEvents(orders_pb2.StreamOrderEventsRequest(), metadata=AUTH)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._stream is not None:
            self._stream.cancel()
        for thread in self._threads:
            thread.join(JOIN_TIMEOUT_S)
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        self.channel.close()
        assert not alive, f"client threads still running: {alive}"

    def pause(self) -> None:
        """Stop submitting (the stream goes on)."""
        self._stop.set()
        self._threads[1].join(JOIN_TIMEOUT_S)

    def _watch(self) -> None:
        try:
            for response in self._stream:
                fill = response.event.fill
                if not response.event.HasField("fill"):
                    continue
                key = (fill.client_order_id, fill.trade_id)
                with self._lock:
                    if key in self.seen.fills:
                        self.seen.streamed_twice.append(key)
                    self.seen.fills[key] = (Decimal(fill.quantity), Decimal(fill.price))
                    self.streamed_fills += 1
        except grpc.RpcError as error:
            if error.code() not in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE):
                self.errors.append(f"stream: {error.code().name} {error.details()}")

    def _submit(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            coid = f"t{self.run}-{n}"
            side = OrderSide.BUY if n % 2 else OrderSide.SELL
            try:
                response = self.orders.SubmitOrder(_market(coid, side), timeout=RPC_TIMEOUT_S, metadata=AUTH)
            except grpc.RpcError as error:
                code = error.code()
                if code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.RESOURCE_EXHAUSTED):
                    self.seen.refused[coid] = code.name  # risk or rate limit: not acknowledged
                    self._stop.wait(SUBMIT_EVERY_S)
                    continue
                self.seen.unknown.append(coid)
                if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                    self.errors.append(f"submit {coid}: {code.name} {error.details()}")
                return  # the engine is gone
            if response.duplicate or response.order.client_order_id != coid:
                self.errors.append(f"submit {coid}: answered {response}")
            self.seen.acknowledged[coid] = side
            self.submitted += 1
            self._stop.wait(SUBMIT_EVERY_S)


def _market(client_order_id: str, side: OrderSide) -> orders_pb2.SubmitOrderRequest:
    """The test's order: MARKET, the minimum quantity, attributed to "manual" by default."""
    return orders_pb2.SubmitOrderRequest(
        client_order_id=client_order_id,
        instrument_id=INSTRUMENT,
        side=common_pb2.SIDE_BUY if side is OrderSide.BUY else common_pb2.SIDE_SELL,
        type=common_pb2.ORDER_TYPE_MARKET,
        quantity=str(QUANTITY),
    )


def _serving(client: Client) -> engine_pb2.GetStatusResponse:
    """The engine answers GetStatus and has seen the market; its status."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status = client.status()
        except grpc.RpcError as error:
            last = f"{error.code().name} {error.details()}"
        else:
            if status.running and status.counters.trades_seen > 0:
                return status
            last = str(status)
        time.sleep(0.1)
    pytest.fail(f"the engine was not serving with market data in {READY_TIMEOUT_S:g} s: {last}")


def _check_status(client: Client, run: int) -> engine_pb2.GetStatusResponse:
    """The status counters of a serving engine agree with what its client was told."""
    submitted, streamed = client.submitted, client.streamed_fills  # before asking: they only grow
    status = client.status()
    counters = status.counters
    where = f"run {run}: {status}"
    assert status.running, where
    assert status.mode == "live", where
    assert status.trading_state == common_pb2.TRADING_STATE_ACTIVE, where
    assert counters.handler_errors == 0, where
    assert counters.trades_seen > 0, where
    assert counters.orders_submitted >= submitted, where
    assert counters.fills >= streamed, where
    assert counters.open_orders <= 10, where
    assert counters.stream_subscribers >= 1, where
    assert counters.stream_drops == 0, where
    assert all(feed.connected for feed in status.feeds), where
    return status


# -- the store -------------------------------------------------------------------------------------


@dataclass
class Store:
    database: Database
    storage: dict[str, Any]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The trades and signals store on each backend; market data in a SQLite file (its own
    writer thread, not what this test is about)."""
    data_dir = str(tmp_path / "data")
    if request.param == "sqlite":
        with sqlite_database(tmp_path) as database:
            yield Store(database, {"kind": "sql", "data_dir": data_dir, "trades_url": database.url})
    else:
        with postgres_database() as database:
            yield Store(database, {"kind": "sql", "data_dir": data_dir, "trades_url": database.url})


@pytest.mark.slow
def test_kill_9_mid_trading_loses_and_doubles_nothing(store: Store, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    seen = Seen()
    children: list[Child] = []
    clients: list[Client] = []
    engines: list[Child] = []
    try:
        sim = Child(
            "exchange-sim",
            ["exchange-sim", "--port", "0", "--symbols", "BTCUSDT", "--seed", "7", "--rate", "200", *QUIET],
            tmp_path / "sim.err",
            {},
        )
        children.append(sim)
        port = int(sim.wait_for(r"listening on ws://127\.0\.0\.1:(\d+)").group(1))
        config = tmp_path / "crash.toml"
        config.write_text(_toml(_settings(port, store.storage)))

        migrate = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "migrate", "--config", str(config)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT_S,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr

        for run in range(KILLS + 1):
            engine = Child(
                f"engine run {run}",
                ["run", "--config", str(config), "--grpc-listen", "127.0.0.1:0"],
                tmp_path / f"engine-{run}.err",
                {"TRADEPLANE_ADMIN_TOKEN": TOKEN},
            )
            children.append(engine)
            engines.append(engine)
            address = engine.wait_for(r"gRPC control plane on (\S+)").group(1)
            client = Client(address, run, seen)
            clients.append(client)
            _serving(client)
            if run:  # an order acknowledged before the kill is known after it: a duplicate
                _resubmit_is_duplicate(client, seen, run)
            serving_at = time.monotonic()
            client.start()
            if run == KILLS:
                time.sleep(LAST_RUN_S)
                client.pause()
                time.sleep(0.3)  # the last fills reach the stream
                _check_status(client, run)
                client.stop()
                code = engine.stop()
                assert code == 0, f"Ctrl-C exit code {code}:\n{engine.output()}"
            else:
                kill_at = serving_at + rng.uniform(*KILL_AFTER_S)
                time.sleep(STATUS_AFTER_S)  # well before the kill: nothing lines the kill up with an RPC
                _check_status(client, run)
                time.sleep(max(0.0, kill_at - time.monotonic()))
                engine.kill()  # SIGKILL, wherever it was
                assert engine.process.returncode == -signal.SIGKILL
                client.stop()
            assert not client.errors, client.errors
            assert client.submitted > 0, f"run {run}: no order was acknowledged"
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                client.channel.close()
        for child in reversed(children):
            child.kill()

    for engine in engines:
        text = engine.stderr()
        assert "Traceback" not in text, engine.output()
        assert " ERROR " not in text, engine.output()
        assert " CRITICAL " not in text, engine.output()
        assert re.search(r"recovery: .*0 mismatch\(es\)", text), engine.output()
    assert "Traceback" not in sim.stderr(), sim.output()
    assert not seen.streamed_twice, f"fills streamed twice: {seen.streamed_twice}"

    for engine in engines[1:]:
        assert "reconciliation: " in engine.stderr(), engine.output()
    _check_store(store.database, seen)
    _check_venue_agrees(store.database, tmp_path / "data" / "paper_venue.log")


def _check_venue_agrees(database: Database, venue_log: Path) -> None:
    """The broker is the truth: the store has each order as the paper venue's log has it."""
    trades = database.track(SqlTradeRepository(database.open()))
    venue = PaperBroker(
        publish=lambda report: None, instruments={}, config=PaperBrokerConfig(), log=VenueLog(venue_log)
    )
    lost = 0
    for order in trades.list_orders():
        if order.status is OrderStatus.INITIALIZED or order.order_type.has_stop:
            continue  # never sent (a held stop, or refused by risk)
        answer = venue.query_order(order.client_order_id)
        if answer is None:
            assert order.status is OrderStatus.REJECTED, order
            assert order.events[-1].reason == LOST_SUBMISSION, order
            assert not order.fills, order
            lost += 1
            continue
        assert [f.trade_id for f in order.fills] == [f.trade_id for f in answer.fills], order
        assert order.fills == list(answer.fills), order
        assert order.status is answer.status, (order, answer)
    print(f"venue agrees; {lost} order(s) lost on the way to the venue and rejected")


def _resubmit_is_duplicate(client: Client, seen: Seen, run: int) -> None:
    """The last few orders acknowledged by the run before are known: answered as duplicates."""
    earlier = [coid for coid in seen.acknowledged if coid.startswith(f"t{run - 1}-")][-3:]
    assert earlier, f"run {run - 1} acknowledged nothing"
    for coid in earlier:
        response = client.orders.SubmitOrder(
            _market(coid, seen.acknowledged[coid]), timeout=RPC_TIMEOUT_S, metadata=AUTH
        )
        assert response.duplicate, f"run {run}: {coid} resubmitted: {response}"
        assert response.order.client_order_id == coid


def _check_store(database: Database, seen: Seen) -> None:
    trades = database.track(SqlTradeRepository(database.open()))
    fills = list(trades.list_fills())
    orders = {order.client_order_id: order for order in trades.list_orders()}

    # Every acknowledged order is stored, as submitted.
    missing = sorted(set(seen.acknowledged) - set(orders))
    assert not missing, f"{len(missing)} acknowledged order(s) not stored: {missing}"
    for coid, side in seen.acknowledged.items():
        order = orders[ClientOrderId(coid)]
        assert order.side is side, order
        assert order.quantity == QUANTITY, order
        assert order.strategy_id == "manual", order

    # Every fill seen on the stream is stored; no fill is stored twice for one order.
    stored: dict[tuple[str, str], Fill] = {(fill.client_order_id, fill.trade_id): fill for fill in fills}
    twice = [key for key, n in Counter((f.client_order_id, f.trade_id) for f in fills).items() if n > 1]
    assert not twice, f"fills stored twice: {twice}"
    lost = sorted(set(seen.fills) - set(stored))
    assert not lost, f"{len(lost)} streamed fill(s) not stored: {lost}"
    for key, (quantity, price) in seen.fills.items():
        assert (stored[key].quantity, stored[key].price) == (quantity, price), key

    # Every stored order rebuilds from its journal; its filled quantity is the sum of its fills.
    by_order: dict[str, list[Fill]] = defaultdict(list)
    for fill in fills:
        by_order[fill.client_order_id].append(fill)
    assert set(by_order) <= set(orders), f"fills of unknown orders: {set(by_order) - set(orders)}"
    fresh = database.track(SqlTradeRepository(database.open()))  # rebuilds each order on its own
    for coid in orders:
        rebuilt = fresh.get_order(coid)
        assert rebuilt is not None, coid
        total = sum((fill.quantity for fill in by_order.get(coid, ())), Decimal(0))
        assert rebuilt.filled_quantity == total, (rebuilt, by_order.get(coid))
        assert total <= rebuilt.quantity, (rebuilt, by_order.get(coid))  # no order executed twice
        assert [f.trade_id for f in rebuilt.fills] == [f.trade_id for f in by_order.get(coid, ())], coid

    # Every position is the fold of its fills.
    positions = trades.positions()
    instruments = {fill.instrument_id for fill in fills} | set(positions)
    for instrument_id in instruments:
        folded = Position.from_fills(instrument_id, [f for f in fills if f.instrument_id == instrument_id])
        assert positions.get(instrument_id) == folded.state(), instrument_id

    # Nothing is left working after the clean stop: what was travelling to the paper venue
    # arrives at the stop, and orders in flight at a kill were settled by the venue once the
    # market was back after the restart.
    working = [
        (order.client_order_id, order.status.value, order.venue_order_id)
        for order in orders.values()
        if not order.status.is_terminal
    ]
    assert not working, f"orders still working after the stop: {working}"

    # The strategy traded too, and every acknowledged market order executed (none was
    # assumed rejected because a crash left it in flight).
    assert any(order.strategy_id == STRATEGY for order in orders.values()), "no strategy order stored"
    unfilled = [
        (coid, orders[coid].status.value, orders[coid].events[-1].reason)
        for coid in seen.acknowledged
        if orders[coid].status is not OrderStatus.FILLED
        and not (
            orders[coid].status is OrderStatus.REJECTED and orders[coid].events[-1].reason == LOST_SUBMISSION
        )
    ]
    assert not unfilled, f"acknowledged market orders not filled: {unfilled}"

    # Venue ids never repeat across the runs (each process has its own id prefix).
    venue_ids = [order.venue_order_id for order in orders.values() if order.venue_order_id is not None]
    assert len(venue_ids) == len(set(venue_ids)), "a venue order id was given twice"
