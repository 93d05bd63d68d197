"""Databases and helpers of the persistence tests.

A ``Database`` is one empty store per test: a SQLite file under the test's ``tmp_path``, or a
PostgreSQL schema of its own (``tp_<uuid>``, dropped after the test) reached through a URL whose
``options`` put it first on the ``search_path``, so ``open_engine`` itself is what the tests use.
``Database.open()`` gives another engine on the same store, as a restarted process would have.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from adapters.persistence.database import open_engine
from adapters.persistence.trade_journal import JournalSettings
from adapters.persistence.trade_store import SqlTradeRepository
from application.ports import TradeRepository
from domain.orders import Fill, Order

T = TypeVar("T")
S = TypeVar("S")

POSTGRES_URL = os.environ.get("TRADEPLANE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
"""The PostgreSQL server of the ``postgres`` tests; each test works in a schema of its own."""
CONNECT_TIMEOUT_S = 5
WAIT_S = 10.0
"""The longest any test waits for a thread, a lock or a row."""


@dataclass
class Database:
    """One empty store: ``url`` for ``open_engine``, ``engine`` opened on it, ``open()`` for more."""

    backend: str  # "sqlite" or "postgres"
    url: str
    path: Path | None = None  # the SQLite file
    schema: str | None = None  # the PostgreSQL schema
    engines: list[Engine] = field(default_factory=list)
    stores: list[object] = field(default_factory=list)
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tp-journals-")))
    """A folder for the trades journals of this store's tests (removed with it)."""

    def open(self) -> Engine:
        """A new engine (a pool of its own) on this store, disposed after the test."""
        engine = open_engine(self.url)
        self.engines.append(engine)
        return engine

    @property
    def engine(self) -> Engine:
        """The first engine opened on this store."""
        return self.engines[0] if self.engines else self.open()

    def track(self, store: S) -> S:
        """``store`` (a repository) is closed after the test, before its engines are disposed."""
        self.stores.append(store)
        return store

    def dispose(self) -> None:
        for store in reversed(self.stores):
            within(WAIT_S, functools.partial(release, store))
        self.stores.clear()
        for engine in self.engines:
            engine.dispose()
        self.engines.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)


def trade_store(database: Database, engine: Engine | None = None, *, journaled: bool) -> SqlTradeRepository:
    """A trades store on ``engine`` (or a new engine, as after a restart), closed after the test.

    ``journaled``: commits go to a journal file of its own, the tables follow on a thread. A
    restart of a journaled store here is one whose projection caught up (every earlier store
    of ``database`` is settled first): what a crash before that loses, and what the replay at
    start recovers, is the crash tests' matter (``test_trade_journal``).
    """
    engine = engine if engine is not None else database.open()
    if not journaled:
        return database.track(SqlTradeRepository(engine))
    for other in database.stores:
        if isinstance(other, SqlTradeRepository):
            other.settle()
    path = database.scratch / f"trades-{uuid.uuid4().hex}.journal"
    return database.track(SqlTradeRepository(engine, journal=JournalSettings(path)))


def release(store: object) -> None:
    """Close a repository: its writer thread and the connection it keeps (a connection left
    checked out survives ``Engine.dispose`` and is only dropped, with a warning, by the GC)."""
    store.close()  # type: ignore[attr-defined]


def _postgres_url(schema: str) -> str:
    url = make_url(POSTGRES_URL).update_query_dict(
        {"options": f"-csearch_path={schema}", "connect_timeout": str(CONNECT_TIMEOUT_S)}
    )
    return url.render_as_string(hide_password=False)


def _admin_engine() -> Engine:
    url = make_url(POSTGRES_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
    return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def sqlite_database(directory: Path) -> Iterator[Database]:
    path = directory / "store.db"
    database = Database("sqlite", f"sqlite:///{path}", path=path)
    try:
        yield database
    finally:
        database.dispose()


@contextlib.contextmanager
def postgres_database() -> Iterator[Database]:
    """A fresh schema on the test server; fails the test (never skips it) when the server is away."""
    schema = f"tp_{uuid.uuid4().hex}"
    admin = _admin_engine()
    try:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        except OperationalError as error:
            shown = make_url(POSTGRES_URL).render_as_string(hide_password=True)
            reason = str(error.orig).strip().splitlines()[0]
            pytest.fail(
                f"PostgreSQL is unreachable at {shown} ({reason}): start it or point"
                " TRADEPLANE_TEST_POSTGRES_URL at one (postgres tests fail, never skip)",
                pytrace=False,
            )
        database = Database("postgres", _postgres_url(schema), schema=schema)
        try:
            yield database
        finally:
            database.dispose()
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@contextlib.contextmanager
def table_locked(database: Database, table: str) -> Iterator[None]:
    """Hold a lock that stops every writer of ``table`` until the block ends (another session's)."""
    if database.backend == "sqlite":
        assert database.path is not None
        connection = sqlite3.connect(database.path, isolation_level=None, timeout=WAIT_S)
        try:
            connection.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                connection.execute("COMMIT")
        finally:
            connection.close()
        return
    engine = create_engine(make_url(database.url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with engine.connect() as session:
            session.execute(text(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE'))
            try:
                yield
            finally:
                session.rollback()
    finally:
        engine.dispose()


def within(seconds: float, function: Callable[[], T]) -> T:
    """``function()`` run on a thread, failing the test if it has not returned after ``seconds``."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(function())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{getattr(function, '__name__', function)} did not return within {seconds} s")
    if errors:
        raise errors[0]
    return result[0]


def wait_until(condition: Callable[[], bool], what: str, seconds: float = WAIT_S) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not true after {seconds} s")
        time.sleep(0.005)


# -- orders ------------------------------------------------------------------------------------

ORDER_FIELDS = (
    "client_order_id",
    "instrument_id",
    "side",
    "order_type",
    "time_in_force",
    "quantity",
    "price",
    "stop_price",
    "strategy_id",
    "reduce_only",
    "post_only",
    "ts_init",
    "ts_last",
    "status",
    "venue_order_id",
    "triggered_price",
    "filled_quantity",
    "leaves_quantity",
    "avg_fill_price",
    "fills",
    "events",
)


def state(order: Order | None) -> dict[str, Any] | None:
    """Everything an order is, comparable with ``==`` (events and fills included)."""
    if order is None:
        return None
    values = {name: getattr(order, name) for name in ORDER_FIELDS}
    values["fills"], values["events"] = list(order.fills), list(order.events)  # a snapshot
    return values


class Journal:
    """Writes orders to a ``TradeRepository`` the way the OMS does: the order, then each of its
    events exactly once, a fill with its event; ``commit`` is left to the caller."""

    def __init__(self, trades: TradeRepository) -> None:
        self.trades = trades
        self._done: dict[str, int] = {}

    def add(self, order: Order) -> Order:
        self.trades.add_order(order)
        self.sync(order)
        return order

    def adopt(self, order: Order) -> Order:
        """An order read back from the store: its events are journaled already."""
        self._done[order.client_order_id] = len(order.events)
        return order

    def sync(self, order: Order) -> None:
        done = self._done.get(order.client_order_id, 0)
        for event in order.events[done:]:
            self.trades.append_order_event(event)
        self._done[order.client_order_id] = len(order.events)

    def fill(self, order: Order, fill: Fill) -> None:
        order.fill(fill)
        self.trades.add_fill(fill)
        self.sync(order)
