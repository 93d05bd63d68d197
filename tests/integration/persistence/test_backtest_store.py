"""Stored backtest runs: one contract for the SQL store (SQLite, PostgreSQL) and the in-memory fake."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.memory.repositories import InMemoryBacktestResults
from adapters.persistence.backtest_store import SqlBacktestStore
from adapters.persistence.migrate import upgrade
from application.ports import BacktestRecord, BacktestResults
from tests.integration.persistence.support import postgres_database, sqlite_database

T0 = 1_704_067_200_000_000_000

TRADES = (
    {
        "instrument_id": "BTCUSDT.BINANCE",
        "side": "LONG",
        "quantity": "0.23456789",
        "entry_ts": T0,
        "entry_price": "42000.12345678",
        "exit_ts": T0 + 60_000_000_000,
        "exit_price": "42100.5",
        "gross_pnl": "23.5466665432109876",
        "fees": "0.0000000000000000001",
        "net_pnl": "23.5466665432109875",
        "holding_ns": 60_000_000_000,
    },
)


def make_record(*, strategy: str = "sma_crossover", created_ns: int = T0, run_id: str = "") -> BacktestRecord:
    return BacktestRecord(
        run_id=run_id,
        created_ns=created_ns,
        strategy=strategy,
        instrument_id="BTCUSDT.BINANCE",
        params={"fast": "10", "slow": "40", "source": "bar"},
        data=("BTCUSDT-1m-2024-01.csv", "BTCUSDT-1m-2024-02.csv"),
        first_ts=T0,
        last_ts=T0 + 86_400_000_000_000,
        events=44_640,
        capital=Decimal("10000"),
        final_equity=Decimal("10123.456789012345678901"),
        total_return=Decimal("0.0123456789012345678901"),
        sharpe=1.2345,
        max_drawdown=0.0421,
        trade_count=1,
        metrics={"total_return": "0.0123456789012345678901", "sharpe_ratio": 1.2345, "win_rate": None},
        trades=TRADES,
    )


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BacktestResults]:
    if request.param == "memory":
        yield InMemoryBacktestResults()
        return
    opened = sqlite_database(tmp_path) if request.param == "sqlite" else postgres_database()
    with opened as database:
        upgrade(database.engine)
        yield SqlBacktestStore(database.engine)


def test_a_saved_run_comes_back_exactly(store: BacktestResults) -> None:
    record = make_record()

    run_id = store.save(record)

    assert re.fullmatch(r"[0-9a-f]{32}", run_id)
    assert store.get(run_id) == replace(record, run_id=run_id)
    assert store.get("0" * 32) is None


def test_runs_are_listed_newest_first_without_their_trades(store: BacktestResults) -> None:
    ids = [store.save(make_record(created_ns=T0 + i, strategy=("a", "b")[i % 2])) for i in range(5)]

    listed = store.list()

    assert [r.run_id for r in listed] == ids[::-1]
    assert all(r.trades == () for r in listed)
    assert listed[0].metrics["sharpe_ratio"] == 1.2345
    assert [r.run_id for r in store.list(strategy="b")] == [ids[3], ids[1]]
    assert [r.run_id for r in store.list(limit=2)] == [ids[4], ids[3]]
    assert store.list(strategy="nobody") == []


def test_a_given_run_id_is_kept_and_never_stored_twice(store: BacktestResults) -> None:
    assert store.save(make_record(run_id="f" * 32)) == "f" * 32
    with pytest.raises(ValueError, match="stored already"):
        store.save(make_record(run_id="f" * 32))


def test_a_run_without_a_sharpe_ratio_is_stored(store: BacktestResults) -> None:
    run_id = store.save(replace(make_record(), sharpe=None, trades=(), trade_count=0))
    stored = store.get(run_id)
    assert stored is not None
    assert stored.sharpe is None
    assert stored.trades == ()


def test_a_limit_below_one_is_refused(store: BacktestResults) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.list(limit=0)
