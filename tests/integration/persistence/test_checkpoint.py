"""WalCheckpointer (SQLite only): the trades store's WAL is checkpointed by a thread of its own,
so the log stays bounded while no commit pays for a checkpoint, and every commit stays durable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from adapters.persistence.checkpoint import WalCheckpointer
from adapters.persistence.migrate import upgrade
from adapters.persistence.trade_store import SqlTradeRepository
from domain.orders import OrderType
from tests.builders import make_order
from tests.integration.persistence.support import WAIT_S, sqlite_database


def test_the_trade_store_checkpoints_off_the_committing_thread(tmp_path: Path) -> None:
    with sqlite_database(tmp_path) as database:
        upgrade(database.engine)
        trades = database.track(SqlTradeRepository(database.engine))
        checkpointer = trades.checkpointer
        assert checkpointer is not None
        orders = [make_order(client_order_id=f"O-{i}", order_type=OrderType.MARKET) for i in range(120)]
        for order in orders:
            trades.add_order(order)
            trades.append_order_event(order.events[0])
            trades.commit()
        deadline = time.monotonic() + WAIT_S
        while checkpointer.checkpoints < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.checkpoints >= 1
        assert checkpointer.failures == 0
        with database.engine.connect() as connection:
            limit = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert limit == 1000, "the engine's other connections keep SQLite's default"

        fresh = database.track(SqlTradeRepository(database.open()))
        assert {o.client_order_id for o in fresh.list_orders()} == {o.client_order_id for o in orders}


def test_a_checkpointer_is_for_sqlite_and_counts_positive_commits(tmp_path: Path) -> None:
    with sqlite_database(tmp_path) as database:
        with pytest.raises(ValueError, match="every_commits"):
            WalCheckpointer(database.engine, every_commits=0)
        checkpointer = WalCheckpointer(database.engine, every_commits=3)
        checkpointer.committed()
        checkpointer.committed()
        assert checkpointer._thread is None, "woken only every 3 commits"
        checkpointer.close()
        checkpointer.committed()
        checkpointer.committed()
        checkpointer.committed()
        assert checkpointer._thread is None, "closed: never started again"
