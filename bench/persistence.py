"""What persistence costs: market-data ingest into SQLite and PostgreSQL, the order journal's
commit latency, and the live path end to end with the SQL stores against the in-memory ones.

PostgreSQL figures need the server of the development machine (127.0.0.1:5432, database
``test``; ``TRADEPLANE_BENCH_POSTGRES_URL`` overrides); each run works in a schema of its
own and drops it. Without the server those rows say so instead of a figure.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from statistics import quantiles

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

SUITE = "persistence"
INGEST_EVENTS = 200_000
ORDERS = 2_000
E2E_TICKS = 200_000
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
    elapsed = time.perf_counter() - started
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
            "submit to fill, synchronous",
        ),
    ]


def _e2e(storage: StorageSettings | None, label: str, *, slow_strategy: bool = False) -> Result:
    settings = engine_e2e.bench_settings()
    if storage is not None:
        settings = replace(settings, storage=storage)
    if slow_strategy:  # SMA 200/2000: an order every few thousand ticks, as a real strategy trades
        (strategy,) = settings.strategies
        settings = replace(settings, strategies=(replace(strategy, params={"fast": 200, "slow": 2000}),))
    (first, *_) = engine_e2e.run(E2E_TICKS, settings)
    return Result(SUITE, f"live path ticks/s, {label}", first.value, "ticks/s", first.note)


def run() -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as tmp:
        folder = Path(tmp)
        with _sqlite(folder, "ingest.db") as engine:
            results += _ingest(engine, "SQLite")
        for name in ("tradeplane.db", "market_data.db"):
            with _sqlite(folder, name):
                pass
        sqlite_storage = StorageSettings(kind="sql", data_dir=str(folder))
        results += _journal(sqlite_storage, "SQLite")
        try:
            with _postgres() as (engine, _):
                results += _ingest(engine, "PostgreSQL")
            with _postgres() as (_, url):
                results += _journal(
                    StorageSettings(kind="sql", data_dir=str(folder), trades_url=url), "PostgreSQL"
                )
        except StoreUnavailable as error:
            results.append(Result(SUITE, "PostgreSQL figures", 0.0, "-", f"not measured: {error}"))
        memory = _e2e(None, "in-memory stores")
        with tempfile.TemporaryDirectory(prefix="tp-bench-e2e-") as e2e_tmp:
            e2e_folder = Path(e2e_tmp)
            for name in ("tradeplane.db", "market_data.db"):
                with _sqlite(e2e_folder, name):
                    pass
            sql = _e2e(StorageSettings(kind="sql", data_dir=str(e2e_folder)), "SQLite stores")
        cost = 1 - sql.value / memory.value
        results += [
            memory,
            sql,
            Result(SUITE, "throughput cost of persistence", cost * 100, "%", "target: at most 20 %"),
        ]
        # The same at the order rate of a slower strategy: what persistence costs a typical run.
        calm_memory = _e2e(None, "in-memory stores, SMA 200/2000", slow_strategy=True)
        with tempfile.TemporaryDirectory(prefix="tp-bench-e2e-") as e2e_tmp:
            e2e_folder = Path(e2e_tmp)
            for name in ("tradeplane.db", "market_data.db"):
                with _sqlite(e2e_folder, name):
                    pass
            calm_sql = _e2e(
                StorageSettings(kind="sql", data_dir=str(e2e_folder)),
                "SQLite stores, SMA 200/2000",
                slow_strategy=True,
            )
        calm_cost = 1 - calm_sql.value / calm_memory.value
        results += [
            calm_memory,
            calm_sql,
            Result(
                SUITE,
                "cost of persistence, SMA 200/2000",
                calm_cost * 100,
                "%",
                "context: fewer orders per tick",
            ),
        ]
    return results
