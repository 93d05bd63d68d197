"""The signals store on SQL: every signal a strategy emitted, committed as it arrives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine, Row

from adapters.persistence import schema as s
from adapters.persistence.raw_sql import Dialect, execute_many
from domain.identifiers import InstrumentId, StrategyId
from domain.signals import Signal
from domain.values import OrderSide


class SqlSignalRepository:
    """``SignalRepository``: a signal is committed before ``add`` returns (nothing is lost)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = Dialect(engine.dialect.name)
        self._sql = self._dialect.insert(s.signals)
        self._connection: Connection | None = None

    def add(self, signal: Signal) -> None:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connection = self._engine.connect()
        try:
            self._insert(connection, signal)
        except Exception:
            connection.close()
            self._connection = None
            raise

    def _insert(self, connection: Connection, signal: Signal) -> None:
        row = (
            signal.strategy_id,
            signal.instrument_id,
            int(signal.side) if signal.side is not None else None,
            self._dialect.decimal(signal.target_position),
            signal.strength,
            signal.reason,
            signal.ts_event,
        )
        with connection.begin():
            execute_many(connection, ((self._sql, (row,)),))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def list(self, *, strategy_id: StrategyId | None = None, limit: int = 1000) -> Sequence[Signal]:
        """The latest ``limit`` signals (of one strategy), oldest first."""
        query = select(s.signals).order_by(s.signals.c.id.desc()).limit(limit)
        if strategy_id is not None:
            query = query.where(s.signals.c.strategy_id == strategy_id)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_signal(row) for row in reversed(rows)]


def _signal(row: Row[Any]) -> Signal:
    return Signal(
        strategy_id=StrategyId(row.strategy_id),
        instrument_id=InstrumentId(row.instrument_id),
        side=OrderSide(row.side) if row.side is not None else None,
        target_position=row.target_position,
        strength=row.strength,
        reason=row.reason,
        ts_event=row.ts_event,
    )
