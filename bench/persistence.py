"""What persistence costs: market-data ingest into SQLite and PostgreSQL, the order journal's
commit latency, and the live path end to end with the SQL stores against the in-memory ones
(SQLite and PostgreSQL, the trades store journaled or committing synchronously).

PostgreSQL figures need the server of the development machine (127.0.0.1:5432, database
``test``; ``TRADEPLANE_BENCH_POSTGRES_URL`` overrides); each run works in a schema of its
own and drops it. Without the server those rows say so instead of a figure.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from statistics import median, quantiles

from sqlalchemy import text
from sqlalchemy.engine import Engine

from adapters.persistence.database import StoreUnavailable, open_engine
from adapters.persistence.market_data_store import SqlMarketDataRepository
from adapters.persistence.migrate import upgrade
from application.commands import SubmitOrder
from bench import engine_e2e
from bench.harness import Result
from domain.identifiers import InstrumentId, strategy_id
from domain.intents import OrderIntent
from domain.market_data import QuoteTick, TradeTick
from domain.risk import RiskLimits
from domain.values import AggressorSide, OrderSide
from entrypoints.config import StorageSettings
from entrypoints.container import bootstrap
from entrypoints.gc_tuning import tune_gc

SUITE = "persistence"
INGEST_EVENTS = 200_000
ORDERS = 2_000
E2E_TICKS = 200_000
E2E_PIECE = 10_000
BTC = InstrumentId("BTCUSDT.BINANCE")
PG_URL = os.environ.get("TRADEPLANE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def _sqlite(folder: Path, name: str) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{folder / name}")
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _postgres() -> Iterator[tuple[Engine, str]]:
    """A migrated engine in a fresh schema, and its URL (search_path set); dropped after."""
    schema = f"tp_bench_{uuid.uuid4().hex[:8]}"
    admin = open_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = open_engine(url)
    try:
        upgrade(engine)
        yield engine, url
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _trades(count: int) -> list[TradeTick]:
    base = 1_767_225_600_000_000_000
    return [
        TradeTick(
            BTC,
            Decimal(30_000) + Decimal(i % 500) / 100,
            Decimal("0.01"),
            AggressorSide.BUYER,
            str(i),
            base + i,
            base + i,
        )
        for i in range(count)
    ]


def _ingest(engine: Engine, backend: str) -> list[Result]:
    events = _trades(INGEST_EVENTS)
    store = SqlMarketDataRepository(engine, batch_size=5_000, max_queued_batches=1_000)
    started = time.perf_counter()
    for event in events:
        store.append(event)
    appended = time.perf_counter() - started
    store.flush()
    total = time.perf_counter() - started
    store.close()
    note = f"{INGEST_EVENTS:,} trades in batches of 5,000; {store.written:,} written, {store.dropped} dropped"
    return [
        Result(SUITE, f"market-data ingest into {backend}", INGEST_EVENTS / total, "rows/s", note),
        Result(
            SUITE, f"market-data append, {backend} (ingestion's cost)", appended / INGEST_EVENTS * 1e6, "us"
        ),
    ]


def _journal(storage: StorageSettings, backend: str) -> list[Result]:
    """Market orders through the OMS with the SQL trade store: the commit before each send,
    the one after the acceptance, and the fill's (events, position, balances) commit."""
    limits = RiskLimits.from_mapping({"max_order_quantity": "1", "max_position_quantity": "1"})
    settings = replace(engine_e2e.bench_settings(), storage=storage, risk=limits, strategies=())
    app = bootstrap(settings, feeds=[])
    now = time.time_ns()
    app.bus.publish(QuoteTick(BTC, Decimal("29999"), Decimal(5), Decimal("30001"), Decimal(5), now, now))
    app.bus.publish(TradeTick(BTC, Decimal("30000"), Decimal("0.1"), AggressorSide.BUYER, "t0", now, now))
    trades = app.trades
    commit = trades.commit
    samples: list[float] = []

    def timed_commit() -> None:
        started = time.perf_counter_ns()
        commit()
        samples.append((time.perf_counter_ns() - started) / 1000)

    trades.commit = timed_commit  # type: ignore[method-assign]
    sid = strategy_id("bench")
    started = time.perf_counter()
    for i in range(ORDERS):
        intent = OrderIntent(
            strategy_id=sid,
            instrument_id=BTC,
            side=OrderSide.BUY if i % 2 == 0 else OrderSide.SELL,
            quantity=Decimal("0.01"),
            ts_event=time.time_ns(),
        )
        app.bus.execute(SubmitOrder(intent=intent)).unwrap()
    settle = getattr(trades, "settle", None)
    if settle is not None:
        settle()  # a journal's projection has every order in the tables, as synchronous commits do
    elapsed = time.perf_counter() - started
    app.close()
    cuts = quantiles(samples, n=100, method="inclusive")
    note = f"{len(samples):,} commits for {ORDERS:,} filled market orders"
    return [
        Result(SUITE, f"journal commit p50, {backend}", cuts[49], "us", note),
        Result(SUITE, f"journal commit p99, {backend}", cuts[98], "us"),
        Result(
            SUITE,
            f"orders/s through the OMS, {backend}",
            ORDERS / elapsed,
            "orders/s",
            "submit to fill, the tables up to date at the end",
        ),
    ]


@contextmanager
def _sqlite_stores() -> Iterator[StorageSettings]:
    with tempfile.TemporaryDirectory(prefix="tp-bench-e2e-") as tmp:
        folder = Path(tmp)
        for name in ("tradeplane.db", "market_data.db"):
            with _sqlite(folder, name):
                pass
        yield StorageSettings(kind="sql", data_dir=str(folder))


@contextmanager
def _postgres_stores() -> Iterator[StorageSettings]:
    """The trades and signals stores in a fresh PostgreSQL schema; market data in its SQLite
    file as by default (PostgreSQL's ingest rate is the market-data rows above)."""
    with _sqlite_stores() as sqlite, _postgres() as (_, url):
        yield replace(sqlite, trades_url=url)


LANES: list[tuple[str, Callable[[], AbstractContextManager[StorageSettings]] | None, str]] = [
    ("in-memory stores", None, ""),
    ("SQLite stores, journal", _sqlite_stores, "journal"),
    ("SQLite stores, synchronous commits", _sqlite_stores, "sync"),
    ("PostgreSQL trades store, journal", _postgres_stores, "journal"),
    ("PostgreSQL trades store, synchronous commits", _postgres_stores, "sync"),
]
TARGETS = {"SQLite": 20, "PostgreSQL": 35}
"""The most persistence may cost the live path, in % of the in-memory throughput."""


def _compared(*, slow_strategy: bool, suffix: str) -> list[Result]:
    """The live path (engine_e2e's workload) on each store of ``LANES``, one engine each in
    this process, taking the same chunks of ``E2E_PIECE`` ticks in turn (the order rotating),
    so that others' load on the machine weighs on all alike. A SQL lane's time per chunk
    includes getting its stores up to date (market data flushed, the journal applied): its
    threads work for it, not during another lane's turn. The cost is the median over chunks
    of the throughput a lane loses against the in-memory one (1 - in-memory time / its time)."""
    settings = engine_e2e.bench_settings()
    if slow_strategy:  # SMA 200/2000: an order every few thousand ticks, as a real strategy trades
        (strategy,) = settings.strategies
        settings = replace(settings, strategies=(replace(strategy, params={"fast": 200, "slow": 2000}),))
    with contextlib.ExitStack() as stack:
        lanes: dict[str, engine_e2e._Lane] = {}
        for label, stores, commit in LANES:
            try:
                storage = stack.enter_context(stores()) if stores is not None else settings.storage
            except StoreUnavailable as error:
                print(f"# {label}: not measured: {error}", file=sys.stderr)
                continue
            storage = replace(storage, trades_commit=commit or "journal")
            lanes[label] = engine_e2e._Lane(E2E_TICKS, replace(settings, storage=storage), metrics=False)
        tune_gc()
        extra: dict[str, list[float]] = {label: [] for label in lanes}
        order = list(lanes)
        turn = 0
        for chunk in engine_e2e.frames(E2E_TICKS):
            for at in range(0, len(chunk), E2E_PIECE):
                piece = chunk[at : at + E2E_PIECE]
                spent: dict[str, int] = {}
                for label in order[turn % len(order) :] + order[: turn % len(order)]:
                    lane = lanes[label]
                    before = lane.busy_ns
                    lane.take(piece)
                    _caught_up(lane)
                    spent[label] = lane.busy_ns - before
                turn += 1
                memory = spent[LANES[0][0]]
                for label, ns in spent.items():
                    extra[label].append(100 * (1 - memory / ns))
        results = []
        for label, lane in lanes.items():
            status, _ = lane.finish()
            note = f"{lane.seen:,} trades, {status.orders_submitted} orders, {status.fills} fills"
            results.append(Result(SUITE, f"live path ticks/s, {label}{suffix}", lane.rate, "ticks/s", note))
        for label in list(lanes)[1:]:
            target = TARGETS[label.split()[0]]
            cost = median(extra[label])
            low, high = min(extra[label]), max(extra[label])
            results.append(
                Result(
                    SUITE,
                    f"cost of persistence, {label}{suffix}",
                    cost,
                    "%",
                    f"median of {len(extra[label])} chunks (range {low:.0f} to {high:.0f})"
                    + ("" if suffix else f"; target: at most {target} %"),
                )
            )
    return results


def _caught_up(lane: engine_e2e._Lane) -> None:
    """Wait, on the lane's clock, for its stores to have written what it gave them."""
    started = time.perf_counter_ns()
    app = lane.app
    app.market_data.flush()
    settle = getattr(app.trades, "settle", None)
    if settle is not None:
        settle()
    lane.busy_ns += time.perf_counter_ns() - started


def run() -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as tmp:
        folder = Path(tmp)
        with _sqlite(folder, "ingest.db") as engine:
            results += _ingest(engine, "SQLite")
        for commit in ("journal", "sync"):
            with _sqlite_stores() as storage:
                results += _journal(replace(storage, trades_commit=commit), f"SQLite, {commit}")
        try:
            with _postgres() as (engine, _):
                results += _ingest(engine, "PostgreSQL")
            for commit in ("journal", "sync"):
                with _postgres() as (_, url):
                    results += _journal(
                        StorageSettings(
                            kind="sql", data_dir=str(folder), trades_url=url, trades_commit=commit
                        ),
                        f"PostgreSQL, {commit}",
                    )
        except StoreUnavailable as error:
            results.append(Result(SUITE, "PostgreSQL figures", 0.0, "-", f"not measured: {error}"))
        results += _compared(slow_strategy=False, suffix="")
        # The same at the order rate of a slower strategy: what persistence costs a typical run.
        results += _compared(slow_strategy=True, suffix=", SMA 200/2000")
    return results
