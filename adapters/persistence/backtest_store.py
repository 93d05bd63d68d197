"""Stored backtest runs on SQL (``BacktestResults``): one row per run, listed newest first.

Each call is its own short transaction on a connection from the engine's pool, so the store
may be used from any thread (the gRPC server saves from a worker thread, never on its loop).
Parameters, data files, metrics and trades are JSON text: decimals inside them are already
exact strings; the headline figures have columns of their own for listing and sorting.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from adapters.persistence import schema as s
from application.ports import BacktestRecord

_SUMMARY = [column for column in s.backtest_runs.c if column.name != "trades"]


class SqlBacktestStore:
    """``BacktestResults`` in the ``backtest_runs`` table of ``engine``'s database (at head)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, record: BacktestRecord) -> str:
        run_id = record.run_id or uuid.uuid4().hex
        row = {
            "run_id": run_id,
            "created_ns": record.created_ns,
            "strategy": record.strategy,
            "instrument_id": record.instrument_id,
            "params": json.dumps(dict(record.params)),
            "data": json.dumps(list(record.data)),
            "first_ts": record.first_ts,
            "last_ts": record.last_ts,
            "events": record.events,
            "capital": record.capital,
            "final_equity": record.final_equity,
            "total_return": record.total_return,
            "sharpe": record.sharpe,
            "max_drawdown": record.max_drawdown,
            "trade_count": record.trade_count,
            "metrics": json.dumps(dict(record.metrics)),
            "trades": json.dumps([dict(trade) for trade in record.trades]),
        }
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(s.backtest_runs), row)
        except IntegrityError:
            raise ValueError(f"backtest run {run_id} is stored already") from None
        return run_id

    def get(self, run_id: str) -> BacktestRecord | None:
        query = select(s.backtest_runs).where(s.backtest_runs.c.run_id == run_id)
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else _record(row, trades=json.loads(row["trades"]))

    def list(self, *, strategy: str | None = None, limit: int = 50) -> Sequence[BacktestRecord]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1 (was {limit})")
        table = s.backtest_runs
        query = select(*_SUMMARY)
        if strategy is not None:
            query = query.where(table.c.strategy == strategy)
        query = query.order_by(table.c.created_ns.desc(), table.c.run_id.desc()).limit(limit)
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [_record(row, trades=()) for row in rows]


def _record(row: RowMapping, *, trades: Sequence[Mapping[str, Any]]) -> BacktestRecord:
    return BacktestRecord(
        run_id=row["run_id"],
        created_ns=row["created_ns"],
        strategy=row["strategy"],
        instrument_id=row["instrument_id"],
        params=json.loads(row["params"]),
        data=tuple(json.loads(row["data"])),
        first_ts=row["first_ts"],
        last_ts=row["last_ts"],
        events=row["events"],
        capital=row["capital"],
        final_equity=row["final_equity"],
        total_return=row["total_return"],
        sharpe=row["sharpe"],
        max_drawdown=row["max_drawdown"],
        trade_count=row["trade_count"],
        metrics=json.loads(row["metrics"]),
        trades=tuple(trades),
    )
