"""The three services under SIGKILL: nothing execution acknowledged is lost, nothing is doubled.

``tradeplane run --service ingestion|strategy|execution`` run apart over Redis Streams (four
shards, three instruments) against ``tradeplane exchange-sim``: one ingestion, TWO strategy
workers sharing the shards by leases, one execution on the PostgreSQL stores trading on the
paper broker (with a latency, so a kill finds orders in flight). Per test one service is
killed with SIGKILL ``KILLS`` times at seeded random moments and restarted each time (for the
strategy service, each of the two workers at least once); then everything is stopped with Ctrl-C,
ingestion first, the workers next, execution last after a drain. Then Redis, the store and
the paper venue's log are read:

- nothing doubled: every stored order's client order id derives from a decided key found in a
  signals stream (``client_order_id_for``), so no key has two orders, and no two orders share
  a (strategy, instrument, source market entry);
- nothing acknowledged lost: every decided key whose entry execution acknowledged (read by the
  group, no longer pending) made an order in the store, or a signal in the signals store;
- every stored position is the fold of its fills; the paper venue's log agrees with the store;
- no process printed a traceback; every Ctrl-C exits with 0; a shard a worker gives up stops
  there (no task left behind deciding beside the shard's next owner);
- the signals store holds each key once.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from adapters.persistence.signal_store import SqlSignalRepository
from adapters.persistence.trade_store import SqlTradeRepository
from adapters.redis.codec import CodecError
from adapters.redis.shard_entries import read_entry
from adapters.redis.shard_execution import GROUP as EXECUTION_GROUP
from adapters.redis.shards import ShardLayout
from application.decided_signals import client_order_id_for
from application.messages import SignalDecided
from application.shard_merge import position_of
from domain.identifiers import ClientOrderId, InstrumentId
from domain.orders import Fill, Order
from domain.positions import Position
from domain.signals import Signal
from tests.e2e.test_crash_recovery import REPO, Child, _check_venue_agrees, _toml
from tests.integration.persistence.support import Database, postgres_database

REDIS_URL = "redis://127.0.0.1:6379/0"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")  # shards 2, 3 and 1 of 4
INSTRUMENTS = tuple(f"{symbol}.BINANCE" for symbol in SYMBOLS)
SHARDS = 4
PREFIX = "SC"  # [engine] order_id_prefix: the client order ids' prefix
BROKER_LATENCY_NS = 50_000_000

SEED = 20_251_206
KILLS = 3
KILL_EVERY_S = (1.0, 3.0)  # each kill comes this long (uniform, seeded) after the one before
LAST_RUN_S = 2.0  # the system trades this long after the last restart
WORKERS_AFTER_S = 0.5  # the workers decide ingestion's last events before their Ctrl-C
DRAIN_S = 1.5  # execution trades the last decisions (past decision_wait_ms) before its Ctrl-C

START_TIMEOUT_S = 30.0  # a process prints its start line (two cores shared by five processes)
TRADING_TIMEOUT_S = 30.0  # execution reports its first order
MIGRATE_TIMEOUT_S = 60.0
QUIET = ("--log-level", "WARNING")
STARTED = {
    "ingestion": r"ingestion: \d+ feed\(s\) -> \d+ shard stream",
    "strategy": r"strategy worker \S+: \d+ shard\(s\)",
    "execution": r"execution: reading \d+ shard\(s\)",
}


def _settings(port: int, storage: dict[str, Any], redis_prefix: str) -> dict[str, Any]:
    """A fast SMA crossover per instrument on the paper broker, the services over Redis."""
    return {
        "engine": {"name": "services-crash", "order_id_prefix": PREFIX, "status_interval_s": 0.5},
        "account": {"balances": {"USDT": "1000000"}},
        "instruments": [
            {
                "id": instrument,
                "base": instrument.removesuffix("USDT.BINANCE"),
                "quote": "USDT",
                "price_tick": "0.01",
                "lot_size": "0.001",
                "min_quantity": "0.001",
                "min_notional": "5",
            }
            for instrument in INSTRUMENTS
        ],
        "feeds": {
            "binance": {
                "instrument_ids": list(INSTRUMENTS),
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
            "account": "margin",  # the strategies sell short
        },
        "strategies": [
            {
                "id": f"sma-{instrument.split('USDT')[0].lower()}",
                "kind": "sma_crossover",
                "instruments": [instrument],
                "params": {"fast": 3, "slow": 8},
                "sizing": {"kind": "fixed_quantity", "quantity": "0.1"},
                "allow_short": True,
            }
            for instrument in INSTRUMENTS
        ],
        "risk": {
            "max_order_quantity": "0.5",
            "max_position_quantity": "0.5",
            "max_open_orders": 20,
            "max_orders_per_window": 100_000,
            "window_ns": 60_000_000_000,
            "max_data_age_ns": 5_000_000_000,
            "price_band_fraction": "0.05",
        },
        "storage": storage,
        "logging": {"level": "INFO"},
        "redis": {"url": REDIS_URL, "prefix": redis_prefix},
        "bus": {
            "kind": "redis",
            "shards": SHARDS,
            "lease_ttl_ms": 1500,
            "decision_wait_ms": 500,
            "warmup_events": 500,
        },
    }


# -- the deployment --------------------------------------------------------------------------------


@dataclass
class Deployment:
    """Every process started, by role; each one's stderr in a file of its own."""

    config: Path
    logs: Path
    children: list[Child] = field(default_factory=list)
    current: dict[str, Child] = field(default_factory=dict)  # "ingestion", "strategy-0/1", "execution"

    def start(self, role: str) -> Child:
        service = role.partition("-")[0]
        n = sum(child.name.startswith(f"{role} ") for child in self.children)
        child = Child(
            f"{role} run {n}",
            ["run", "--config", str(self.config), "--service", service, "--no-grpc"],
            self.logs / f"{role}-{n}.err",
            {},
        )
        self.children.append(child)
        self.current[role] = child
        child.wait_for(STARTED[service], START_TIMEOUT_S)
        return child

    def stop(self, role: str) -> None:
        child = self.current[role]
        code = child.stop()
        assert code == 0, f"Ctrl-C exit code {code}:\n{child.output()}"

    def kill_all(self) -> None:
        for child in reversed(self.children):
            child.kill()


def _wait_trading(execution: Child) -> None:
    """Execution's status line counts an order (the market flows and the workers decide)."""
    execution.wait_for(r"since start: orders [1-9]", TRADING_TIMEOUT_S)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the test server, its keys deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5.0)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.fail(f"Redis is unreachable at {REDIS_URL} ({error}): start it", pytrace=False)
    prefix = f"svc-crash-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def database() -> Iterator[Database]:
    with postgres_database() as database:
        yield database


# -- the test --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("victim", ["ingestion", "strategy", "execution"])
def test_kill_9_a_service_loses_and_doubles_nothing(
    victim: str, database: Database, redis_prefix: str, tmp_path: Path
) -> None:
    rng = random.Random(f"{SEED}-{victim}")
    data_dir = tmp_path / "data"
    storage = {"kind": "sql", "data_dir": str(data_dir), "trades_url": database.url}
    deployment: Deployment | None = None
    sim: Child | None = None
    try:
        sim = Child(
            "exchange-sim",
            [
                "exchange-sim",
                "--port",
                "0",
                "--symbols",
                ",".join(SYMBOLS),
                "--seed",
                "7",
                "--rate",
                "200",
                *QUIET,
            ],
            tmp_path / "sim.err",
            {},
        )
        port = int(sim.wait_for(r"listening on ws://127\.0\.0\.1:(\d+)").group(1))
        config = tmp_path / "services.toml"
        config.write_text(_toml(_settings(port, storage, redis_prefix)))
        migrate = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "migrate", "--config", str(config)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT_S,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr

        deployment = Deployment(config, tmp_path)
        deployment.start("execution")  # first, so its groups see the first market events
        deployment.start("strategy-0")
        deployment.start("strategy-1")
        deployment.start("ingestion")
        _wait_trading(deployment.current["execution"])

        workers = ["strategy-0", "strategy-1"]
        strategy_victims = [*rng.sample(workers, 2), *rng.choices(workers, k=KILLS - 2)]  # each once
        for kill in range(KILLS):
            time.sleep(rng.uniform(*KILL_EVERY_S))
            role = strategy_victims[kill] if victim == "strategy" else victim
            child = deployment.current[role]
            child.kill()  # SIGKILL, wherever it was
            assert child.process.returncode == -signal.SIGKILL, child.output()
            deployment.start(role)
        if victim == "execution":
            _wait_trading(deployment.current["execution"])  # the last run trades too
        time.sleep(LAST_RUN_S)

        deployment.stop("ingestion")
        time.sleep(WORKERS_AFTER_S)
        deployment.stop("strategy-0")
        deployment.stop("strategy-1")
        time.sleep(DRAIN_S)
        deployment.stop("execution")
    finally:
        if deployment is not None:
            deployment.kill_all()
        if sim is not None:
            sim.kill()

    for child in [*deployment.children, sim]:
        assert "Traceback" not in child.stderr(), child.output()
        # A shard given up whose task went on would decide beside the shard's new owner.
        assert "left behind" not in child.stderr(), child.output()

    layout = ShardLayout(prefix=redis_prefix, shards=SHARDS)
    decided = _read_decisions(layout)
    trades = database.track(SqlTradeRepository(database.open()))
    orders = {order.client_order_id: order for order in trades.list_orders()}
    signals = database.track(SqlSignalRepository(database.open()))
    stored_signals = list(signals.list(limit=10_000_000))
    print(
        f"{victim}: {len(decided.keys)} key(s) decided"
        f" ({sum(len(copies) > 1 for copies in decided.keys.values())} more than once),"
        f" {len(decided.acked)} acknowledged,"
        f" {len(decided.pending)} pending, {len(orders)} order(s), {len(stored_signals)} signal(s) stored"
    )
    assert orders, "no order was stored"

    _check_nothing_doubled(decided, orders)
    _check_nothing_acknowledged_lost(decided, orders, stored_signals)
    _check_positions(trades)
    _check_venue_agrees(database, data_dir / "paper_venue.log")
    _check_signal_keys_once(database, signals, decided, orders)


# -- what Redis holds ------------------------------------------------------------------------------


@dataclass
class Decided:
    """The signals streams as execution's group left them."""

    keys: dict[str, list[SignalDecided]] = field(default_factory=dict)  # key -> every copy decided
    acked: set[str] = field(default_factory=set)  # keys with an entry execution acknowledged
    pending: set[str] = field(default_factory=set)  # keys with an entry read, not acknowledged
    unread: set[str] = field(default_factory=set)  # keys with an entry execution never read


def _read_decisions(layout: ShardLayout) -> Decided:
    """Each shard's SignalDecided entries; acknowledged = delivered to the group and not pending."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5.0)
    decided = Decided()
    try:
        for shard in range(layout.shards):
            stream = layout.signals_stream(shard)
            if not client.exists(stream):
                continue
            groups = {_text(g["name"]): g for g in client.xinfo_groups(stream)}
            group = groups.get(EXECUTION_GROUP)
            assert group is not None, f"{stream}: execution never joined"
            delivered = position_of(_text(group["last-delivered-id"]))
            pending = {
                _text(row["message_id"])
                for row in client.xpending_range(stream, EXECUTION_GROUP, min="-", max="+", count=10_000_000)
            }
            for entry_id, fields in client.xrange(stream) or []:
                try:
                    message, _ = read_entry(fields)
                except CodecError as error:
                    pytest.fail(f"{stream} {entry_id!r}: {error}")
                if not isinstance(message, SignalDecided):
                    continue
                decided.keys.setdefault(message.key, []).append(message)
                entry = _text(entry_id)
                if entry in pending:
                    decided.pending.add(message.key)
                elif position_of(entry) <= delivered:
                    decided.acked.add(message.key)
                else:
                    decided.unread.add(message.key)
    finally:
        client.close()
    return decided


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# -- the checks ------------------------------------------------------------------------------------


def _check_nothing_doubled(decided: Decided, orders: dict[ClientOrderId, Order]) -> None:
    """Every order is one decided key's; no key or source event traded twice by a strategy."""
    key_of = {client_order_id_for(key, PREFIX): key for key in decided.keys}
    strangers = sorted(coid for coid in orders if coid not in key_of)
    assert not strangers, f"{len(strangers)} order(s) of no decided key: {strangers[:10]}"
    keys = Counter(key_of[coid] for coid in orders)
    twice = [key for key, n in keys.items() if n > 1]
    assert not twice, f"keys with two orders: {twice}"
    sources = Counter(
        (order.strategy_id, order.instrument_id, decided.keys[key_of[coid]][0].source)
        for coid, order in orders.items()
    )
    doubled = [source for source, n in sources.items() if n > 1]
    assert not doubled, f"(strategy, instrument, source entry) with two orders: {doubled}"


def _signal_fields(signal: Signal) -> tuple[object, ...]:
    return (
        signal.strategy_id,
        signal.instrument_id,
        signal.side,
        signal.target_position,
        signal.reason,
        signal.ts_event,
    )


def _check_nothing_acknowledged_lost(
    decided: Decided, orders: dict[ClientOrderId, Order], stored_signals: list[Signal]
) -> None:
    """An acknowledged key made an order, or at least its signal is stored (it made none)."""
    assert decided.acked, "execution acknowledged no decision"
    stored = {_signal_fields(signal) for signal in stored_signals}
    lost = [
        key
        for key in sorted(decided.acked)
        if client_order_id_for(key, PREFIX) not in orders
        and not any(_signal_fields(copy.signal) in stored for copy in decided.keys[key])
    ]
    assert not lost, f"{len(lost)} acknowledged decision(s) neither an order nor a stored signal: {lost[:10]}"


def _check_positions(trades: SqlTradeRepository) -> None:
    """No fill stored twice; every position is the fold of its fills."""
    fills = list(trades.list_fills())
    twice = [key for key, n in Counter((f.client_order_id, f.trade_id) for f in fills).items() if n > 1]
    assert not twice, f"fills stored twice: {twice}"
    by_instrument: dict[InstrumentId, list[Fill]] = defaultdict(list)
    for fill in fills:
        by_instrument[fill.instrument_id].append(fill)
    positions = trades.positions()
    for instrument_id in set(by_instrument) | set(positions):
        folded = Position.from_fills(instrument_id, by_instrument.get(instrument_id, []))
        assert positions.get(instrument_id) == folded.state(), instrument_id
    total = sum((fill.quantity for fill in fills), Decimal(0))
    assert total > 0, "nothing was filled"


def _check_signal_keys_once(
    database: Database, signals: SqlSignalRepository, decided: Decided, orders: dict[ClientOrderId, Order]
) -> None:
    """The signals store holds each decided key once, and every acknowledged one that made no order."""
    try:
        with database.open().connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT key, COUNT(*) FROM signals WHERE key IS NOT NULL GROUP BY key HAVING COUNT(*) > 1"
                )
            ).all()
    except DBAPIError as error:
        pytest.fail(f"the signals store keeps no key: {str(error.orig).splitlines()[0]}", pytrace=False)
    assert not rows, f"keys stored twice in the signals store: {[tuple(row) for row in rows[:10]]}"
    unordered = [key for key in sorted(decided.acked) if client_order_id_for(key, PREFIX) not in orders]
    missing = [key for key in unordered if not signals.has_key(key)]
    assert not missing, f"acknowledged decisions without an order or a stored key: {missing[:10]}"
