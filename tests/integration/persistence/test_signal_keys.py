"""Signals with an idempotency key on SQL: stored once per key, durably, with the order they cause.

- ``has_key`` knows a key once it is added: riding the trades store's next commit, in its
  journal before the projection applies it, in the table, and after a restart (the journal
  left behind is replayed when the trades store opens).
- A copy of a stored key is ignored, never an error: not when committed on its own, not in the
  transaction of an order, not when the journal's projection applies it.
- The migration adds the column to a store at 0006 whose signals keep no key, and takes it away.
- Property: whatever the arrivals and commits, one signal per key, in first-arrival order.
"""

from __future__ import annotations

import os
import signal as signals_of_os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from adapters.persistence import schema as s
from adapters.persistence.migrate import alembic_config, current_revision, head_revision, upgrade
from adapters.persistence.signal_store import SqlSignalRepository
from adapters.persistence.trade_journal import PAUSE_ENV, JournalSettings
from adapters.persistence.trade_store import SqlTradeRepository
from domain.identifiers import ClientOrderId, StrategyId
from domain.orders import OrderType
from domain.signals import Signal
from tests.builders import STRATEGY, TS, make_order, make_signal
from tests.integration.persistence.support import WAIT_S, Database, trade_store

REPO = Path(__file__).resolve().parents[3]

SIGNAL_ROWS = s.signals.c.reason, s.signals.c.key


def signal(n: int, strategy: str = "keys") -> Signal:
    return make_signal(strategy_id=StrategyId(strategy), reason=f"signal {n}", ts_event=TS + n)


def standalone(database: Database, engine: Engine | None = None) -> SqlSignalRepository:
    """A signals store committing each add (a database of its own), on a new engine by default."""
    return database.track(SqlSignalRepository(engine if engine is not None else database.open()))


def rows(engine: Engine, strategy: str = "keys") -> list[tuple[str, str | None]]:
    """(reason, key) of the stored signals of ``strategy``, in the order they were stored."""
    query = select(*SIGNAL_ROWS).where(s.signals.c.strategy_id == strategy).order_by(s.signals.c.id)
    with engine.connect() as connection:
        return [(reason, key) for reason, key in connection.execute(query)]


def paused(database: Database, engine: Engine, path: Path) -> SqlTradeRepository:
    """A journaled trades store whose projection applies nothing: commits stay in the journal."""
    os.environ[PAUSE_ENV] = "1"
    try:
        return database.track(SqlTradeRepository(engine, journal=JournalSettings(path)))
    finally:
        del os.environ[PAUSE_ENV]


# -- committed as they arrive ----------------------------------------------------------------------


def test_a_key_is_known_after_the_store_is_reopened(database: Database, engine: Engine) -> None:
    writer = standalone(database, engine)
    assert not writer.has_key("k-1")
    writer.add(signal(1), "k-1")
    writer.add(signal(2))
    assert writer.has_key("k-1")
    writer.close()

    reopened = standalone(database)
    assert reopened.has_key("k-1")
    assert not reopened.has_key("k-2")
    assert rows(engine) == [("signal 1", "k-1"), ("signal 2", None)]


def test_a_copy_of_a_stored_key_is_ignored_not_an_error(database: Database, engine: Engine) -> None:
    first = standalone(database, engine)
    first.add(signal(1), "k-1")
    first.add(signal(2), "k-1")
    standalone(database).add(signal(3), "k-1")  # another process, which knows nothing of it

    assert rows(engine) == [("signal 1", "k-1")]
    assert list(first.list()) == [signal(1)]


def test_the_unique_key_allows_any_number_of_signals_without_one(database: Database, engine: Engine) -> None:
    store = standalone(database, engine)
    for n in range(3):
        store.add(signal(n))
    assert rows(engine) == [(f"signal {n}", None) for n in range(3)]


@pytest.mark.parametrize("key", ["", "x" * 256, "a\0b"])
def test_a_key_that_cannot_be_stored_is_refused_before_any_transaction(
    database: Database, engine: Engine, key: str
) -> None:
    trades = trade_store(database, engine, journaled=False)
    riding = database.track(SqlSignalRepository(engine, unit_of_work=trades))
    for store in (standalone(database, engine), riding):
        with pytest.raises(ValueError, match="signal key"):
            store.add(signal(1), key)
    riding.commit()
    assert trades.commits == 0, "nothing was left riding"
    assert rows(engine) == []


# -- riding the trades store's transaction ---------------------------------------------------------


def test_a_key_is_stored_in_the_transaction_of_the_order_it_causes(
    database: Database, engine: Engine
) -> None:
    trades = trade_store(database, engine, journaled=False)
    signals = database.track(SqlSignalRepository(engine, unit_of_work=trades))
    reader = standalone(database)

    signals.add(signal(1), "k-1")
    assert signals.has_key("k-1"), "pending: known to the process that added it"
    assert not reader.has_key("k-1"), "not durable before the commit"
    signals.add(signal(2), "k-1")  # a copy while the first is pending: nothing rides for it

    order = make_order(client_order_id="O-1", order_type=OrderType.MARKET)
    trades.add_order(order)
    trades.append_order_event(order.events[0])
    trades.commit()

    assert trades.commits == 1, "one transaction for the signal and its order"
    assert reader.has_key("k-1")
    assert signals.has_key("k-1")
    assert rows(engine) == [("signal 1", "k-1")]
    assert standalone(database).has_key("k-1")
    assert trade_store(database, journaled=False).get_order(order.client_order_id) is not None


# -- through the trades journal --------------------------------------------------------------------


def test_a_key_in_the_journal_only_is_known_and_after_a_restart_too(
    database: Database, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "trades.journal"
    trades = paused(database, engine, path)
    signals = database.track(SqlSignalRepository(engine, unit_of_work=trades))
    signals.add(signal(1), "k-1")
    signals.commit()
    signals.add(signal(2), "k-1")  # a copy of a journaled key: nothing more rides
    signals.commit()

    assert trades.commits == 1
    assert rows(engine) == [], "in the journal only: the projection is paused"
    assert signals.has_key("k-1")
    assert not standalone(database).has_key("k-1"), "the table has not got it yet"
    signals.close()
    trades.close()  # paused: the record stays in the journal, as a killed process leaves it

    restarted = database.track(SqlTradeRepository(database.open(), journal=JournalSettings(path)))
    again = database.track(SqlSignalRepository(database.open(), unit_of_work=restarted))
    assert again.has_key("k-1"), "the journal is replayed when the trades store opens"
    assert rows(engine) == [("signal 1", "k-1")]
    assert not again.has_key("k-2")


KILLED_WRITER = """
import sys, time
from pathlib import Path
from adapters.persistence.database import open_engine
from adapters.persistence.signal_store import SqlSignalRepository
from adapters.persistence.trade_journal import JournalSettings
from adapters.persistence.trade_store import SqlTradeRepository
from tests.builders import make_order, make_signal

engine = open_engine(sys.argv[1])
trades = SqlTradeRepository(engine, journal=JournalSettings(Path(sys.argv[2])))
signals = SqlSignalRepository(engine, unit_of_work=trades)
signals.add(make_signal(reason="decided once"), "k-1")
order = make_order(client_order_id="K-1")
trades.add_order(order)
trades.append_order_event(order.events[0])
trades.commit()
print("COMMITTED", flush=True)
time.sleep(120)
"""


def test_a_key_committed_with_its_order_survives_a_kill_9(
    database: Database, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "trades.journal"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, database.url, str(path)],
        cwd=REPO,
        env={**os.environ, PAUSE_ENV: "1"},  # killed with the commit in the journal only
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "COMMITTED", child.communicate(timeout=WAIT_S)
        child.send_signal(signals_of_os.SIGKILL)
        assert child.wait(timeout=WAIT_S) == -signals_of_os.SIGKILL
    finally:
        child.kill()
        child.communicate(timeout=WAIT_S)
    assert rows(engine, STRATEGY) == []

    restarted = database.track(SqlTradeRepository(database.open(), journal=JournalSettings(path)))
    signals = database.track(SqlSignalRepository(database.open(), unit_of_work=restarted))
    assert signals.has_key("k-1")
    assert restarted.get_order(ClientOrderId("K-1")) is not None
    signals.add(make_signal(reason="delivered again"), "k-1")
    signals.commit()
    restarted.settle()
    assert rows(engine, STRATEGY) == [("decided once", "k-1")]


def test_a_copy_of_a_key_in_the_journal_does_not_break_the_projection(
    database: Database, engine: Engine
) -> None:
    trades = trade_store(database, engine, journaled=True)
    one = database.track(SqlSignalRepository(engine, unit_of_work=trades))
    other = database.track(SqlSignalRepository(engine, unit_of_work=trades))  # knows nothing of one's keys
    one.add(signal(1), "k-1")
    one.commit()
    other.add(signal(2), "k-1")
    other.add(signal(3), "k-2")
    other.commit()

    trades.settle()
    projection = trades.projection
    assert projection is not None
    assert projection.failure is None
    assert projection.pending == 0
    assert rows(engine) == [("signal 1", "k-1"), ("signal 3", "k-2")]

    trades.add_order(make_order(client_order_id="O-1"))
    trades.commit()  # the journal still takes commits
    trades.settle()
    assert trade_store(database, journaled=False).get_order(ClientOrderId("O-1")) is not None


def test_keys_are_let_go_once_the_table_has_them(database: Database, engine: Engine) -> None:
    trades = trade_store(database, engine, journaled=True)
    signals = database.track(SqlSignalRepository(engine, unit_of_work=trades))
    for n in range(50):
        signals.add(signal(n), f"k-{n}")
        signals.commit()
    trades.settle()

    assert all(signals.has_key(f"k-{n}") for n in range(50))  # from the table now
    assert signals._journaled_keys == {}, "memory holds only what the table may lack"
    assert signals._riding_keys == {}


# -- the migration -------------------------------------------------------------------------------


def test_the_migration_keys_a_store_at_0006_and_takes_the_key_away_again(database: Database) -> None:
    engine = database.engine
    upgrade(engine, "0006")
    old = [
        {
            "strategy_id": "keys",
            "instrument_id": "BTCUSDT",
            "side": 1,
            "target_position": None,
            "strength": 1.0,
            "reason": f"signal {n}",
            "ts_event": TS + n,
        }
        for n in range(2)
    ]
    with engine.begin() as connection:
        connection.execute(insert(s.signals), old)  # the 0006 columns only

    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0007"
    assert rows(engine) == [("signal 0", None), ("signal 1", None)], "existing signals keep no key"
    store = standalone(database, engine)
    store.add(signal(2), "k-1")
    store.add(signal(3))
    assert store.has_key("k-1")
    with pytest.raises(IntegrityError), engine.begin() as connection:  # the index is unique
        connection.execute(insert(s.signals), {**old[0], "key": "k-1"})
    store.close()

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "0006")
    assert current_revision(engine) == "0006"
    assert "key" not in {column["name"] for column in inspect(engine).get_columns("signals")}
    assert "ux_signals_key" not in {index["name"] for index in inspect(engine).get_indexes("signals")}
    with engine.connect() as connection:
        reasons = connection.execute(select(s.signals.c.reason).order_by(s.signals.c.id)).scalars().all()
    assert reasons == ["signal 0", "signal 1", "signal 2", "signal 3"]


# -- property: one signal per key, first arrival first ---------------------------------------------

Arrival = tuple[str | None, bool]  # a key (or none), and whether a commit follows
ARRIVALS = st.lists(st.tuples(st.one_of(st.none(), st.sampled_from("abcde")), st.booleans()), max_size=25)


@pytest.mark.parametrize("mode", ["standalone", "riding", "journal"])
def test_keyed_signals_are_stored_once_per_key_in_first_arrival_order(
    database: Database, engine: Engine, mode: str
) -> None:
    trades = None if mode == "standalone" else trade_store(database, engine, journaled=mode == "journal")
    signals = database.track(SqlSignalRepository(engine, unit_of_work=trades))
    settle: Callable[[], None] = trades.settle if trades is not None else lambda: None

    @settings(max_examples=15, deadline=None)
    @given(ARRIVALS)
    def stored_once(arrivals: list[Arrival]) -> None:
        strategy = f"p-{uuid.uuid4().hex[:12]}"  # this example's rows
        for n, (key, commit) in enumerate(arrivals):
            signals.add(signal(n, strategy), f"{strategy}-{key}" if key is not None else None)
            if commit:
                signals.commit()
        signals.commit()
        settle()

        first: dict[str, int] = {}
        for n, (key, _) in enumerate(arrivals):
            if key is not None:
                first.setdefault(f"{strategy}-{key}", n)
        expected = [
            (f"signal {n}", None if key is None else f"{strategy}-{key}")
            for n, (key, _) in enumerate(arrivals)
            if key is None or first[f"{strategy}-{key}"] == n
        ]
        assert rows(engine, strategy) == expected
        assert all(signals.has_key(key) for key in first)
        assert not signals.has_key(f"{strategy}-z")

    stored_once()
