"""The signals store on SQL: every signal a strategy emitted.

On a database of its own a signal is committed as it arrives. On the trades store's database
(the default: both in ``tradeplane.db``) it rides in the trades store's next transaction: the
commit that journals the order it causes, before that order reaches the broker, writes the
signal too (one commit instead of two), and ``commit`` writes a signal that caused no order
(the strategy engine calls it at the end of the market event that produced the signal).

A signal decided in another process comes with a key and is stored once per key (a unique
column; an insert of a stored key does nothing, so a copy can never fail the transaction, or
the journal's projection, it rides in). ``has_key`` answers from the keys this process added
that the table may not have yet (riding the next commit, or in the trades journal until its
projection applies them), then from the table: a journal a previous run left is replayed into
the tables when the trades store opens, before anything asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine, Row

from adapters.persistence import schema as s
from adapters.persistence.raw_sql import Dialect, execute_many
from adapters.persistence.trade_store import SqlTradeRepository
from application.ports import check_signal_key
from domain.identifiers import InstrumentId, StrategyId
from domain.signals import Signal
from domain.values import OrderSide


class SqlSignalRepository:
    """``SignalRepository``: committed as it arrives, or with the trades store's next commit.

    ``unit_of_work`` is the trades store on the same database (the same engine), whose
    transactions the signals then ride; without it each ``add`` commits before it returns.
    Riding is right only where the orders a signal causes are journaled by that trades store
    before they leave the process (the one-process engine): a composition that hands intents
    to another process must not pass ``unit_of_work``.
    """

    def __init__(self, engine: Engine, *, unit_of_work: SqlTradeRepository | None = None) -> None:
        self._engine = engine
        self._dialect = Dialect(engine.dialect.name)
        self._sql = f"{self._dialect.insert(s.signals)} ON CONFLICT (key) DO NOTHING"
        self._sql_has_key = f"SELECT 1 FROM {s.signals.name} WHERE key = {self._dialect.mark}"
        self._connection: Connection | None = None
        self._unit_of_work = unit_of_work
        self._riding_keys: dict[str, None] = {}
        """Keys of signals riding the trades store's next commit."""
        self._journaled_keys: dict[str, int] = {}
        """Keys committed to the trades journal -> a record number they are in by: in the table
        once the projection has applied it (increasing in insertion order)."""

    def add(self, signal: Signal, key: str | None = None) -> None:
        if key is not None:
            check_signal_key(key)
            if self._unsettled(key):
                return  # a copy of a signal this process has added: the first one wins
        row = (
            signal.strategy_id,
            signal.instrument_id,
            int(signal.side) if signal.side is not None else None,
            self._dialect.decimal(signal.target_position),
            signal.strength,
            signal.reason,
            signal.ts_event,
            key,
        )
        if self._unit_of_work is not None:
            self._unit_of_work.ride(self._sql, row)
            if key is not None:
                self._riding_keys[key] = None
            return
        connection = self._connect()
        try:
            with connection.begin():
                execute_many(connection, ((self._sql, (row,)),))
        except Exception:
            self._disconnect()
            raise

    def has_key(self, key: str) -> bool:
        """True once a signal with ``key`` was added by this process (pending, in the journal
        or in the table) or is in the table (stored by an earlier run)."""
        if self._unsettled(key):
            return True
        connection = self._connect()
        try:
            with connection.begin():
                return connection.exec_driver_sql(self._sql_has_key, (key,)).first() is not None
        except Exception:
            self._disconnect()
            raise

    def _unsettled(self, key: str) -> bool:
        """Whether ``key`` is among the keys added here that the table may not have yet; keys
        the table has are let go (memory stays bounded by the journal's pending records)."""
        uow = self._unit_of_work
        if uow is None:
            return False  # each add committed before it returned
        riding, journaled = self._riding_keys, self._journaled_keys
        projection = uow.projection
        if riding and not uow.riding(self._sql):  # the trades store has committed them
            if projection is not None:
                record = projection.appended  # the commit that took them, or a later one
                for done in riding:
                    journaled[done] = record
            riding.clear()
        if journaled and projection is not None:
            applied = projection.applied
            while journaled:
                oldest = next(iter(journaled))
                if journaled[oldest] > applied:
                    break
                del journaled[oldest]
        return key in riding or key in journaled

    def _connect(self) -> Connection:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connection = self._engine.connect()
        return connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def commit(self) -> None:
        """Make the signals still riding durable: the trades store commits (with whatever it
        has buffered, each piece of which is a whole unit of work of the OMS at this point)."""
        uow = self._unit_of_work
        if uow is not None and uow.riding(self._sql):
            uow.commit()

    def close(self) -> None:
        self.commit()
        self._disconnect()

    def list(self, *, strategy_id: StrategyId | None = None, limit: int = 1000) -> Sequence[Signal]:
        """The latest ``limit`` signals (of one strategy), oldest first."""
        if self._unit_of_work is not None:
            self._unit_of_work.settle()  # riding signals committed to a journal reach the table
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
