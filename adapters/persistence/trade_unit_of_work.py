"""The trades store's writes: buffered in memory, made durable together by ``commit``.

This is the OMS's unit of work (see ``TradeRepository``): a fill, its order events, the
position and the balances it changed reach the database in one transaction, or none of them
does. Another store on the same database may have rows written in that transaction
(``ride``): the signals store does, so that a signal and the order it causes take one
commit, not two. Rows go through the driver's ``executemany`` on one kept connection
(``raw_sql``), which on the order path is ten times cheaper than Core.

With a journal (``trade_journal``) ``commit`` appends the same rows as one record to a file
(a median of ~10 µs on bench/persistence.py's OMS run, against ~0.1-0.16 ms for a SQLite
transaction and ~2-3 ms for a PostgreSQL one) and a thread applies
them to the tables; every other store sees them there once ``settle`` returns.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Connection, Engine

from adapters.persistence import schema as s
from adapters.persistence import trade_journal
from adapters.persistence import trade_rows as rows
from adapters.persistence.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from adapters.persistence.raw_sql import Dialect, execute_many
from adapters.persistence.trade_journal import (
    JournalFile,
    JournalSettings,
    Projection,
    Statements,
    StoredIds,
)
from application.ports import AccountSnapshot
from domain.identifiers import ClientOrderId, InstrumentId
from domain.orders import Fill, Order, OrderEvent
from domain.positions import Position
from domain.risk import RiskLimits, TradingSnapshot

OWN_STATEMENTS = ("order", "event", "fill", "projection", "position", "balance", "risk", "snapshot")
"""The keys of the trades store's statements, in the order a commit runs them (after riders)."""


class TradeUnitOfWork:
    """Buffers every write of the trades store until ``commit`` writes them in one transaction.

    It also keeps the orders it tracks: each order added, or read back to have events
    appended (``load``), is one object shared with the OMS until a commit sees it closed;
    the queries hand out these objects rather than rebuilding a second copy.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        load: Callable[[ClientOrderId], Order | None],
        journal: JournalSettings | None = None,
    ) -> None:
        """``load`` reads back a stored order this object does not track (the repository's
        ``get_order``), for an event appended to an order of an earlier run. With ``journal``
        a commit is one append to that file and the tables follow (``trade_journal``); the
        records a previous process left unapplied are applied here, before anything is read.
        JournalBusy if another process has the file open."""
        self._engine = engine
        self._load = load
        d = self.dialect = Dialect(engine.dialect.name)
        self.sql_of = {
            "order": d.insert(s.orders, rows.ORDER_COLUMNS),
            "event": d.insert(s.order_events, rows.EVENT_COLUMNS),
            "fill": d.insert(s.fills, rows.FILL_COLUMNS),
            "projection": d.update(s.orders, rows.PROJECTION_COLUMNS, "client_order_id"),
            "position": d.upsert(s.positions, "instrument_id"),
            "balance": d.upsert(s.balances, "asset"),
            "risk": d.upsert(s.risk_state, "id"),
            "snapshot": d.insert(s.account_snapshots, rows.SNAPSHOT_COLUMNS),
        }
        """The SQL of each of this store's statement keys (``OWN_STATEMENTS``)."""
        self._bulk_sql_of = (
            {
                "order": d.insert_json(s.orders, rows.ORDER_COLUMNS),
                "event": d.insert_json(s.order_events, rows.EVENT_COLUMNS),
                "fill": d.insert_json(s.fills, rows.FILL_COLUMNS),
                "snapshot": d.insert_json(s.account_snapshots, rows.SNAPSHOT_COLUMNS),
            }
            if d.name == "sqlite"
            else {}
        )
        """Inserts of a journal batch's rows as one JSON parameter, per key (SQLite)."""
        self._sql_exists = f"SELECT 1 FROM orders WHERE client_order_id = {d.mark}"
        self._new_orders: list[tuple[Any, ...]] = []  # the fixed terms; the state comes at commit
        self._events: list[tuple[Any, ...]] = []
        self._fills: list[tuple[Any, ...]] = []
        self._changed: dict[ClientOrderId, Order] = {}  # orders whose state row is due
        self._positions: dict[InstrumentId, tuple[Any, ...]] = {}
        self._balances: dict[str, Decimal] = {}
        self._balances_ts = 0
        self._risk: tuple[Any, ...] | None = None
        self._limits: tuple[RiskLimits | None, str] = (None, "")  # the last saved, and their JSON
        self._snapshots: list[tuple[Any, ...]] = []
        self._riders: dict[str, list[tuple[Any, ...]]] = {}  # statement -> rows of other stores
        self.tracked: dict[ClientOrderId, Order] = {}
        """Open orders whose events go through this store (and those closed since the last commit)."""
        self.event_counts: dict[ClientOrderId, int] = {}
        """Events journaled (or buffered) per order known to this store: the ``seq`` of its next one."""
        self._connection: Connection | None = None
        self.checkpointer = WalCheckpointer(engine) if d.name == "sqlite" and journal is None else None
        """Checkpoints the SQLite WAL off the committing thread (None on PostgreSQL, and with a
        journal, whose projection thread commits on SQLite's own schedule)."""
        self.commits = 0
        self._closing: deque[tuple[int, ClientOrderId]] = deque()  # closed orders, by record
        self._closing_last: dict[ClientOrderId, int] = {}  # the latest record of each there
        self.journal: JournalFile | None = None
        self._stored: StoredIds | None = None  # with a journal: the ids in the tables at start
        self._projection: Projection | None = None
        if journal is not None:
            file = self.journal = JournalFile(journal)
            try:
                last = trade_journal.replay(engine, file, self.apply_records)
                self._stored = trade_journal.stored_ids(engine)
                self._projection = Projection(engine, file, self.apply_records, applied=last)
            except BaseException:
                file.close()
                raise

    @property
    def projection(self) -> Projection | None:
        """The thread applying the journal to the tables (None for synchronous commits)."""
        return self._projection

    # -- buffered writes -------------------------------------------------------------------------

    def add_order(self, order: Order) -> None:
        """Buffer a new order; ValueError if it is already stored."""
        coid = order.client_order_id
        if coid in self.tracked or coid in self.event_counts:
            raise ValueError(f"order {coid} is already stored")
        self.tracked[coid] = order
        self.event_counts[coid] = 0
        self._new_orders.append(rows.order_terms(order, self.dialect.decimal))
        self._changed[coid] = order

    def append_order_event(self, event: OrderEvent) -> None:
        """Buffer the next event of the order's journal; KeyError if the order is not stored."""
        coid = event.client_order_id
        order = self.tracked.get(coid) or self._load_for_write(coid)
        seq = self.event_counts[coid]
        self.event_counts[coid] = seq + 1
        self._events.append(rows.event_row(event, seq, self.dialect.decimal))
        self._changed[coid] = order

    def add_fill(self, fill: Fill) -> None:
        self._fills.append(rows.fill_row(fill, self.dialect.decimal))

    def save_position(self, position: Position) -> None:
        self._positions[position.instrument_id] = rows.position_row(position, self.dialect.decimal)

    def save_balances(self, balances: Mapping[str, Decimal], ts_ns: int) -> None:
        self._balances = dict(balances)
        self._balances_ts = ts_ns

    def save_trading_state(self, snapshot: TradingSnapshot, limits: RiskLimits, ts_ns: int) -> None:
        if limits is not self._limits[0]:  # the same (frozen) limits on every save, as a rule
            self._limits = (limits, rows.limits_json(limits))
        self._risk = rows.trading_state_row(snapshot, self._limits[1], ts_ns, self.dialect.decimal)

    def save_account_snapshot(self, snapshot: AccountSnapshot) -> None:
        self._snapshots.append(rows.account_snapshot_row(snapshot, self.dialect.decimal))

    def ride(self, sql: str, row: tuple[Any, ...]) -> None:
        """Write ``row`` with ``sql`` (an insert of another store on this database, rendered by
        ``raw_sql.Dialect``) in the next commit's transaction, before this store's own rows."""
        pending = self._riders.get(sql)
        if pending is None:
            self._riders[sql] = [row]
        else:
            pending.append(row)

    def riding(self, sql: str) -> bool:
        """True while rows given to ``ride`` with ``sql`` wait for a commit."""
        return sql in self._riders

    # -- the transaction -------------------------------------------------------------------------

    def commit(self) -> None:
        """Make everything since the last commit durable together, or nothing (and raise).

        Synchronous: one transaction on one kept connection, one ``executemany`` per table.
        With a journal: one record appended to the journal file (see ``trade_journal``), which
        a background thread then applies to the tables. A failed commit keeps the buffers (a
        retry writes them again) and raises.
        """
        if not (
            self._new_orders
            or self._events
            or self._fills
            or self._positions
            or self._balances
            or self._risk
            or self._riders
            or self._snapshots
        ):
            return
        changed = self._changed
        statements = self._statements()
        projection = self._projection
        if projection is not None:
            seq = projection.append(statements)
        else:
            seq = 0
            self._execute(statements)
        self._new_orders, self._events, self._fills = [], [], []
        self._changed, self._positions, self._balances = {}, {}, {}
        self._risk = None
        self._riders = {}
        self._snapshots = []
        self.commits += 1
        if self.checkpointer is not None:
            self.checkpointer.committed()
        tracked = self.tracked
        if projection is None:
            for coid in [c for c, order in tracked.items() if order.status.is_terminal]:
                del tracked[coid]  # closed: read back from the database when asked again
            return
        # An order closed by this commit stays tracked until the tables have it: a read of it
        # in between gets the object, never a stale row (``track`` does the same for a closed
        # order read back, which the tables have: it goes at the next commit).
        closing, last = self._closing, self._closing_last
        for coid, order in changed.items():
            if order.status.is_terminal:
                closing.append((seq, coid))
                last[coid] = seq  # let go once this commit is applied, not an earlier one
        applied = projection.applied
        while closing and closing[0][0] <= applied:
            done, coid = closing.popleft()
            if last.get(coid) == done:
                del last[coid]
                closed = tracked.get(coid)
                if closed is not None and closed.status.is_terminal:
                    del tracked[coid]

    def _statements(self) -> Statements:
        """The buffered writes as (statement key or rider SQL, rows), in the order they run."""
        dec = self.dialect.decimal
        counts = self.event_counts
        # An order new in this commit is inserted with its latest state (one statement, not
        # an insert and then an update of the state columns).
        changed = dict(self._changed)
        new_orders = []
        for terms in self._new_orders:
            order = changed.pop(terms[0])
            new_orders.append((*terms, *rows.order_state(order, counts[order.client_order_id], dec)))
        states = [(*rows.order_state(order, counts[coid], dec), coid) for coid, order in changed.items()]
        balances = [(asset, dec(amount), self._balances_ts) for asset, amount in self._balances.items()]
        statements: Statements = list(self._riders.items())
        for key, found in (
            ("order", new_orders),
            ("event", self._events),
            ("fill", self._fills),
            ("projection", states),
            ("position", list(self._positions.values())),
            ("balance", balances),
            ("risk", [self._risk] if self._risk is not None else []),
            ("snapshot", self._snapshots),
        ):
            if found:
                statements.append((key, found))
        return statements

    def _execute(self, statements: Statements) -> None:
        """The synchronous commit: ``statements`` in one transaction on the kept connection."""
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connect()
        sql_of = self.sql_of
        try:
            with connection.begin():
                execute_many(connection, [(sql_of.get(key, key), found) for key, found in statements])
        except Exception:
            connection.close()
            self._connection = None
            raise

    def apply_records(self, connection: Connection, records: Sequence[tuple[int, Statements]]) -> None:
        """Apply journal records to the tables in ``connection``'s transaction (the projection
        thread and the replay at start)."""
        trade_journal.apply(
            connection, self.sql_of, OWN_STATEMENTS, self.dialect, records, bulk_sql_of=self._bulk_sql_of
        )

    def settle(self) -> None:
        """Return once every commit so far is in the tables (at once without a journal)."""
        if self._projection is not None:
            self._projection.settle()

    def exists(self, client_order_id: ClientOrderId) -> bool:
        """Whether the order is stored (committed), asked on the kept connection: the cheap
        answer to the common question about a new client order id.

        With a journal the process is the tables' one writer: an order it added is known
        without asking (it may not be in the tables yet), and an id not among those stored at
        start (``StoredIds``) is not stored; only a possible match is asked of the database.
        """
        stored = self._stored
        if stored is not None:
            if client_order_id in self.event_counts:
                return True
            if client_order_id not in stored:
                return False  # neither in the tables at start nor added since
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connect()
        if connection.in_transaction():  # not expected: commit() always ends its transaction
            connection.commit()
        dbapi = connection.connection
        cursor = dbapi.cursor()
        try:
            cursor.execute(self._sql_exists, (client_order_id,))
            found = cursor.fetchone() is not None
        finally:
            cursor.close()
        if self.dialect.name == "postgresql":
            dbapi.rollback()  # psycopg opened a transaction for the SELECT: end it
        return found

    def clear(self) -> None:
        """Delete every order, event, fill, position, balance and snapshot (a fresh paper account)."""
        tables = (
            s.order_events,
            s.fills,
            s.orders,
            s.positions,
            s.balances,
            s.risk_state,
            s.account_snapshots,
        )
        self.settle()
        with self._engine.begin() as connection:
            for table in tables:
                connection.execute(delete(table))
        self.tracked.clear()
        self.event_counts.clear()
        self._closing.clear()
        self._closing_last.clear()
        if self._stored is not None:
            self._stored = trade_journal.StoredIds(1_000_000)

    def close(self) -> None:
        """Release the connection and the threads; with a journal, apply what it holds first
        (and raise JournalFailing if that fails: the records stay for the next start)."""
        try:
            if self._projection is not None:
                self._projection.close()
        finally:
            if self.journal is not None:
                self.journal.close()
            if self.checkpointer is not None:
                self.checkpointer.close()
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _connect(self) -> Connection:
        """The kept connection of the writes; on SQLite its checkpoints are the checkpointer's."""
        connection = self._connection = self._engine.connect()
        if self.checkpointer is not None:
            connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
            connection.commit()
        return connection

    def track(self, order: Order) -> None:
        """Track an order read back from the tables (the OMS is about to work with it); a closed
        one is let go at the next commit, unless events for it come first."""
        coid = order.client_order_id
        self.tracked[coid] = order
        if self._projection is not None and order.status.is_terminal and coid not in self._closing_last:
            seq = self._projection.appended
            self._closing.append((seq, coid))
            self._closing_last[coid] = seq

    def _load_for_write(self, client_order_id: ClientOrderId) -> Order:
        order = self._load(client_order_id)
        if order is None:
            raise KeyError(f"an event for order {client_order_id}, which is not stored")
        self.track(order)
        return order
