"""The trades store's writes: buffered in memory, made durable together by ``commit``.

This is the OMS's unit of work (see ``TradeRepository``): a fill, its order events, the
position and the balances it changed reach the database in one transaction, or none of them
does. Another store on the same database may have rows written in that transaction
(``ride``): the signals store does, so that a signal and the order it causes take one
commit, not two. Rows go through the driver's ``executemany`` on one kept connection
(``raw_sql``), which on the order path is ten times cheaper than Core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Connection, Engine

from adapters.persistence import schema as s
from adapters.persistence import trade_rows as rows
from adapters.persistence.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from adapters.persistence.raw_sql import Dialect, execute_many
from application.ports import AccountSnapshot
from domain.identifiers import ClientOrderId, InstrumentId
from domain.orders import Fill, Order, OrderEvent
from domain.positions import Position
from domain.risk import RiskLimits, TradingSnapshot


class TradeUnitOfWork:
    """Buffers every write of the trades store until ``commit`` writes them in one transaction.

    It also keeps the orders it tracks: each order added, or read back to have events
    appended (``load``), is one object shared with the OMS until a commit sees it closed;
    the queries hand out these objects rather than rebuilding a second copy.
    """

    def __init__(self, engine: Engine, *, load: Callable[[ClientOrderId], Order | None]) -> None:
        """``load`` reads back a stored order this object does not track (the repository's
        ``get_order``), for an event appended to an order of an earlier run."""
        self._engine = engine
        self._load = load
        d = self.dialect = Dialect(engine.dialect.name)
        self._sql_order = d.insert(s.orders, rows.ORDER_COLUMNS)
        self._sql_event = d.insert(s.order_events, rows.EVENT_COLUMNS)
        self._sql_fill = d.insert(s.fills, rows.FILL_COLUMNS)
        self._sql_projection = d.update(s.orders, rows.PROJECTION_COLUMNS, "client_order_id")
        self._sql_position = d.upsert(s.positions, "instrument_id")
        self._sql_balance = d.upsert(s.balances, "asset")
        self._sql_exists = f"SELECT 1 FROM orders WHERE client_order_id = {d.mark}"
        self._sql_risk = d.upsert(s.risk_state, "id")
        self._sql_snapshot = d.insert(s.account_snapshots, rows.SNAPSHOT_COLUMNS)
        self._new_orders: list[tuple[Any, ...]] = []  # the fixed terms; the state comes at commit
        self._events: list[tuple[Any, ...]] = []
        self._fills: list[tuple[Any, ...]] = []
        self._changed: dict[ClientOrderId, Order] = {}  # orders whose state row is due
        self._positions: dict[InstrumentId, tuple[Any, ...]] = {}
        self._balances: dict[str, Decimal] = {}
        self._balances_ts = 0
        self._risk: tuple[Any, ...] | None = None
        self._snapshots: list[tuple[Any, ...]] = []
        self._riders: dict[str, list[tuple[Any, ...]]] = {}  # statement -> rows of other stores
        self.tracked: dict[ClientOrderId, Order] = {}
        """Open orders whose events go through this store (and those closed since the last commit)."""
        self.event_counts: dict[ClientOrderId, int] = {}
        """Events journaled (or buffered) per order known to this store: the ``seq`` of its next one."""
        self._connection: Connection | None = None
        self.checkpointer = WalCheckpointer(engine) if d.name == "sqlite" else None
        """Checkpoints the SQLite WAL off the committing thread (None on PostgreSQL)."""
        self.commits = 0

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
        self._risk = rows.trading_state_row(snapshot, limits, ts_ns, self.dialect.decimal)

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
        """Write everything since the last commit in one transaction, or nothing.

        One kept connection and one ``executemany`` per table. A failed commit rolls back,
        keeps the buffers (a retry writes them again) and raises.
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
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connect()
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
        try:
            with connection.begin():
                execute_many(
                    connection,
                    (
                        *self._riders.items(),
                        (self._sql_order, new_orders),
                        (self._sql_event, self._events),
                        (self._sql_fill, self._fills),
                        (self._sql_projection, states),
                        (self._sql_position, list(self._positions.values())),
                        (self._sql_balance, balances),
                        (self._sql_risk, [self._risk] if self._risk is not None else []),
                        (self._sql_snapshot, self._snapshots),
                    ),
                )
        except Exception:
            connection.close()
            self._connection = None
            raise
        self._new_orders, self._events, self._fills = [], [], []
        self._changed, self._positions, self._balances = {}, {}, {}
        self._risk = None
        self._riders = {}
        self._snapshots = []
        self.commits += 1
        if self.checkpointer is not None:
            self.checkpointer.committed()
        tracked = self.tracked
        for coid in [c for c, order in tracked.items() if order.status.is_terminal]:
            del tracked[coid]  # closed: read back from the database when asked again

    def exists(self, client_order_id: ClientOrderId) -> bool:
        """Whether the order is stored (committed), asked on the kept connection: the cheap
        answer to the common question about a new client order id."""
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
        with self._engine.begin() as connection:
            for table in tables:
                connection.execute(delete(table))
        self.tracked.clear()
        self.event_counts.clear()

    def close(self) -> None:
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

    def _load_for_write(self, client_order_id: ClientOrderId) -> Order:
        order = self._load(client_order_id)
        if order is None:
            raise KeyError(f"an event for order {client_order_id}, which is not stored")
        self.tracked[client_order_id] = order
        return order
