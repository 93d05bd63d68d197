"""Stored backtest runs: a run's record, the store they live in, and the listing of them.

The runs are kept in the trades store's database of a configuration's ``[storage]`` (SQLite
``data/tradeplane.db`` by default; a blank SQLite file is created at the schema head, a
PostgreSQL database needs ``tradeplane migrate`` first). ``tradeplane backtest --store``
and the gRPC ``BacktestService`` write them; ``tradeplane backtest --list`` and
``ListBacktests``/``GetBacktest`` read them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.engine import Engine

from adapters.memory.repositories import InMemoryBacktestResults
from adapters.persistence.backtest_store import SqlBacktestStore
from adapters.persistence.migrate import DatabaseBehind, is_blank, require_head, upgrade
from application.ports import BacktestRecord, BacktestResults
from entrypoints.backtest.formatting import (
    format_count,
    format_params,
    format_percent,
    format_ratio,
    format_time,
)
from entrypoints.backtest.outcome import BacktestOutcome
from entrypoints.backtest.spec import BacktestError
from entrypoints.config import ConfigError, StorageSettings
from entrypoints.storage import open_engines


def default_storage() -> StorageSettings:
    """Where ``run`` keeps its state by default (the per-user data directory, read when asked)."""
    return StorageSettings(kind="sql")


"""Where ``--store`` keeps runs without ``--config``: data/tradeplane.db, as the example config."""


def record_of(outcome: BacktestOutcome, *, created_ns: int | None = None) -> BacktestRecord:
    """The stored form of a finished run (no run id yet: the store gives one). Its Sharpe
    ratio and drawdown are those of the metrics (6 significant digits), so a listing and the
    run's metrics never disagree."""
    result, metrics = outcome.result, outcome.metrics
    figures = metrics.as_dict(trades=False)
    sharpe = figures["sharpe_ratio"]
    return BacktestRecord(
        created_ns=time.time_ns() if created_ns is None else created_ns,
        strategy=outcome.spec.strategy,
        instrument_id=outcome.instrument,
        params=dict(outcome.spec.params),
        data=tuple(Path(path).name for path in outcome.spec.data),
        first_ts=result.first_ts or 0,
        last_ts=result.last_ts or 0,
        events=result.events,
        capital=outcome.spec.capital,
        final_equity=metrics.final_equity,
        total_return=metrics.total_return,
        sharpe=None if sharpe is None else _float(sharpe),
        max_drawdown=_float(figures["max_drawdown"]),
        trade_count=metrics.trade_count,
        metrics=figures,
        trades=tuple(trade.as_dict() for trade in metrics.trades),
    )


def _float(value: object) -> float:
    assert isinstance(value, float | int), value  # as_dict keeps statistics as numbers
    return float(value)


@dataclass(slots=True)
class OpenedResults:
    """A results store and what to release when done with it."""

    store: BacktestResults
    engine: Engine | None = field(default=None)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


def open_results(storage: StorageSettings, *, create: bool = True) -> OpenedResults | None:
    """The runs store in the trades database of ``storage``; in memory for ``kind = "memory"``.

    A blank SQLite file is brought to the schema head; any other database must be at head
    already. ``create=False`` returns None instead of creating a SQLite file that does not
    exist (listing needs no new file). Raises ConfigError for a database that cannot be
    opened or is behind (the message says to run `tradeplane migrate`).
    """
    if storage.kind == "memory":
        return OpenedResults(InMemoryBacktestResults())
    url = storage.urls()["trades"]
    if not create and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    engine = open_engines(replace(storage, signals_url=url, market_data_url=url))["trades"]
    try:
        if engine.dialect.name == "sqlite" and is_blank(engine):
            upgrade(engine)
        require_head(engine, "trades")
    except DatabaseBehind as error:
        engine.dispose()
        raise ConfigError(str(error)) from None
    return OpenedResults(SqlBacktestStore(engine), engine)


def format_runs(records: Sequence[BacktestRecord]) -> str:
    """The listing of ``tradeplane backtest --list``: one line per run, newest first."""
    header = (
        f"{'run id':<32}  {'when (UTC)':<16}  {'strategy':<18} {'instrument':<18} {'params':<28}"
        f" {'return':>9} {'sharpe':>7} {'max dd':>9} {'trades':>6}"
    )
    lines = [header]
    for record in records:
        when = format_time(record.created_ns)[:16]
        params = format_params(record.params)
        lines.append(
            f"{record.run_id:<32}  {when:<16}  {record.strategy:<18} {record.instrument_id:<18}"
            f" {params:<28} {format_percent(record.total_return):>9} {format_ratio(record.sharpe):>7}"
            f" {format_percent(record.max_drawdown):>9} {format_count(record.trade_count):>6}"
        )
    return "\n".join(lines)


def storage_of(config: str | None) -> StorageSettings:
    """The ``[storage]`` of ``config``, ``default_storage()`` without one; BacktestError if it cannot load."""
    if config is None:
        return default_storage()
    from entrypoints.config import load_settings

    try:
        return load_settings(Path(config)).storage
    except ConfigError as error:
        raise BacktestError(str(error)) from None


def store_for(config: str | None) -> OpenedResults:
    """The store ``--store`` writes to: the trades database of ``--config`` (or the default).

    Raises BacktestError when the configuration keeps nothing or its database cannot be used.
    """
    storage = storage_of(config)
    if storage.kind != "sql":
        raise BacktestError(
            f'--store: the configuration {config} keeps nothing ([storage] kind = "memory");'
            " use one with SQL storage, or leave out --config for data/tradeplane.db"
        )
    try:
        opened = open_results(storage)
    except ConfigError as error:
        raise BacktestError(f"--store: {error}") from None
    assert opened is not None  # created when missing
    return opened
