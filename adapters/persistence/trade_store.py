"""The trades store on SQL: orders and their append-only journal, fills, positions, balances.

``SqlTradeRepository`` is the ``TradeRepository`` port as one object, put together from
three parts beside this module, each readable on its own:

- ``trade_unit_of_work``: the writes, buffered and made durable by ``commit`` in one
  transaction (the OMS's unit of work), which other stores' rows may join (``ride``), or,
  with a journal, as one record appended to a file that a thread applies to the tables
  (``trade_journal``);
- ``trade_queries``: the reads, orders rebuilt from their journal;
- ``trade_rows``: the mapping between table rows and domain objects, both ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from adapters.persistence.checkpoint import WalCheckpointer
from adapters.persistence.trade_journal import JournalSettings, Projection
from adapters.persistence.trade_queries import TradeQueries
from adapters.persistence.trade_unit_of_work import TradeUnitOfWork
from application.ports import AccountSnapshot, OrderQuery
from domain.identifiers import ClientOrderId, InstrumentId
from domain.orders import Fill, Order, OrderEvent, OrderStatus
from domain.positions import Position
from domain.risk import RiskLimits, TradingSnapshot


class SqlTradeRepository:
    """``TradeRepository`` on SQLite or PostgreSQL (writes through the driver, reads through Core).

    Composed rather than inherited: every method of the port is listed here and handed to
    the part that does it, so a reader sees the whole surface in one place and each part
    depends only on what it is given (the queries on the unit of work's tracked orders, the
    unit of work on ``get_order`` to read back an order of an earlier run).
    """

    def __init__(self, engine: Engine, *, journal: JournalSettings | None = None) -> None:
        """Synchronous commits without ``journal``; with it, a commit is one append to the
        journal file and the tables follow (the records left unapplied by a previous process
        are applied first). JournalBusy if another process has that journal open."""
        self._writes = TradeUnitOfWork(engine, load=self.get_order, journal=journal)
        self._reads = TradeQueries(engine, self._writes)

    @property
    def projection(self) -> Projection | None:
        """The thread applying the journal to the tables (None for synchronous commits): its
        ``pending`` records and ``failure`` are the journal's health."""
        return self._writes.projection

    def settle(self) -> None:
        """Return once every commit so far is in the tables (at once without a journal);
        raises JournalFailing while the journal's projection fails."""
        self._writes.settle()

    @property
    def commits(self) -> int:
        """Transactions committed so far (a commit with nothing to write does not count)."""
        return self._writes.commits

    @property
    def checkpointer(self) -> WalCheckpointer | None:
        """Checkpoints the SQLite WAL off the committing thread (None on PostgreSQL)."""
        return self._writes.checkpointer

    # -- the unit of work ------------------------------------------------------------------------

    def add_order(self, order: Order) -> None:
        self._writes.add_order(order)

    def append_order_event(self, event: OrderEvent) -> None:
        self._writes.append_order_event(event)

    def add_fill(self, fill: Fill) -> None:
        self._writes.add_fill(fill)

    def save_position(self, position: Position) -> None:
        self._writes.save_position(position)

    def save_balances(self, balances: Mapping[str, Decimal], ts_ns: int) -> None:
        self._writes.save_balances(balances, ts_ns)

    def save_trading_state(self, snapshot: TradingSnapshot, limits: RiskLimits, ts_ns: int) -> None:
        self._writes.save_trading_state(snapshot, limits, ts_ns)

    def save_account_snapshot(self, snapshot: AccountSnapshot) -> None:
        self._writes.save_account_snapshot(snapshot)

    def ride(self, sql: str, row: tuple[Any, ...]) -> None:
        """Write ``row`` with ``sql`` (an insert of another store on this database, rendered by
        ``raw_sql.Dialect``) in the next commit's transaction, before this store's own rows."""
        self._writes.ride(sql, row)

    def riding(self, sql: str) -> bool:
        """True while rows given to ``ride`` with ``sql`` wait for a commit."""
        return self._writes.riding(sql)

    def commit(self) -> None:
        """Write everything since the last commit in one transaction, or nothing (and raise)."""
        self._writes.commit()

    def clear(self) -> None:
        """Delete every order, event, fill, position, balance and snapshot (a fresh paper account)."""
        self._writes.clear()

    def close(self) -> None:
        """Release the connection and the threads (with a journal, once the tables have every
        commit); what was not committed is lost."""
        self._writes.close()

    # -- reads -----------------------------------------------------------------------------------

    def get_order(self, client_order_id: ClientOrderId) -> Order | None:
        return self._reads.get_order(client_order_id)

    def list_orders(
        self, *, instrument_id: InstrumentId | None = None, status: OrderStatus | None = None
    ) -> list[Order]:
        return self._reads.list_orders(instrument_id=instrument_id, status=status)

    def query_orders(self, query: OrderQuery) -> list[Order]:
        """At most ``query.limit`` orders matching it, newest first (filtered in SQL)."""
        return self._reads.query_orders(query)

    def find_by_venue_order_id(self, venue_order_id: str) -> Order | None:
        return self._reads.find_by_venue_order_id(venue_order_id)

    def open_orders(self) -> list[Order]:
        """Orders not in a terminal state, rebuilt from their journal."""
        return self._reads.open_orders()

    def journal(self, client_order_id: ClientOrderId | None = None) -> list[OrderEvent]:
        """The stored journal (of one order), in the order it was written."""
        return self._reads.journal(client_order_id)

    def max_sequence(self, prefix: str) -> int:
        """The highest n of the stored client order ids ``{prefix}-{n}`` (0 when none)."""
        return self._reads.max_sequence(prefix)

    def list_fills(self, *, instrument_id: InstrumentId | None = None) -> list[Fill]:
        return self._reads.list_fills(instrument_id=instrument_id)

    def positions(self) -> dict[InstrumentId, tuple[Decimal, Decimal, Decimal, Decimal, int]]:
        """``Position.state()`` per instrument as last committed."""
        return self._reads.positions()

    def balances(self) -> dict[str, Decimal]:
        return self._reads.balances()

    def stored_positions(self) -> dict[InstrumentId, tuple[Decimal, Decimal, Decimal, Decimal, int]]:
        return self._reads.positions()

    def stored_balances(self) -> dict[str, Decimal]:
        return self._reads.balances()

    def stored_trading_state(self) -> TradingSnapshot | None:
        return self._reads.stored_trading_state()

    def stored_risk_limits(self) -> RiskLimits | None:
        """The limits in force when the trading state was last saved (None if never saved or
        unreadable: they are for the record only, the configured limits apply)."""
        return self._reads.stored_risk_limits()

    def account_snapshots(self, *, since_ns: int = 0, limit: int = 100_000) -> list[AccountSnapshot]:
        """Snapshots at or after ``since_ns``, oldest first, at most ``limit`` (the latest)."""
        return self._reads.account_snapshots(since_ns=since_ns, limit=limit)
