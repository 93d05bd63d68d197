"""The trades store on SQL: orders and their append-only journal, fills, positions, balances.

Writes are buffered in memory and made durable by ``commit`` in one transaction, which is
the OMS's unit of work (see ``TradeRepository``). Another store on the same database may
have rows ride along (``ride``): the signals store does, so that a signal and the order it
causes take one transaction, not two. An order read back from the store is
rebuilt by replaying its journal through the domain's state machine, so a stored order is
exactly the one that wrote it, or loading fails loudly.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select
from sqlalchemy.engine import Connection, Engine, Row

from adapters.persistence import schema as s
from adapters.persistence.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from adapters.persistence.raw_sql import Dialect, execute_many
from application.ports import AccountSnapshot, OrderQuery
from domain.errors import DomainError
from domain.identifiers import (
    ClientOrderId,
    InstrumentId,
    StrategyId,
    TradeId,
    VenueOrderId,
    highest_sequence,
)
from domain.orders import Fill, LiquiditySide, Order, OrderEvent, OrderStatus, OrderType, TimeInForce
from domain.positions import Position
from domain.risk import RiskLimits, RiskReason, TradingSnapshot, TradingState
from domain.values import OrderSide

_ORDER_COLUMNS = [c.name for c in s.orders.c]
_EVENT_COLUMNS = [c.name for c in s.order_events.c if c.name != "id"]
_FILL_COLUMNS = [c.name for c in s.fills.c if c.name != "id"]
log = logging.getLogger("tradeplane.persistence")
_SNAPSHOT_COLUMNS = [c.name for c in s.account_snapshots.c if c.name != "id"]
_PROJECTION_COLUMNS = ["status", "venue_order_id", "filled_quantity", "ts_last", "event_count"]
_PROJECTED = len(_ORDER_COLUMNS) - len(_PROJECTION_COLUMNS)  # an order row: the order, then these
assert _ORDER_COLUMNS[_PROJECTED:] == _PROJECTION_COLUMNS


class SqlTradeRepository:
    """``TradeRepository`` on SQLite or PostgreSQL (writes through the driver, reads through Core)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        d = self._dialect = Dialect(engine.dialect.name)
        self._sql_order = d.insert(s.orders, _ORDER_COLUMNS)
        self._sql_event = d.insert(s.order_events, _EVENT_COLUMNS)
        self._sql_fill = d.insert(s.fills, _FILL_COLUMNS)
        self._sql_projection = d.update(s.orders, _PROJECTION_COLUMNS, "client_order_id")
        self._sql_position = d.upsert(s.positions, "instrument_id")
        self._sql_balance = d.upsert(s.balances, "asset")
        self._sql_exists = f"SELECT 1 FROM orders WHERE client_order_id = {d.mark}"
        self._sql_risk = d.upsert(s.risk_state, "id")
        self._sql_snapshot = d.insert(s.account_snapshots, _SNAPSHOT_COLUMNS)
        self._snapshots: list[tuple[Any, ...]] = []
        self._risk: tuple[Any, ...] | None = None
        self._riders: dict[str, list[tuple[Any, ...]]] = {}  # statement -> rows of other stores
        self._new_orders: list[tuple[Any, ...]] = []
        self._events: list[tuple[Any, ...]] = []
        self._fills: list[tuple[Any, ...]] = []
        self._dirty: dict[ClientOrderId, Order] = {}
        self._positions: dict[InstrumentId, tuple[Any, ...]] = {}
        self._balances: dict[str, Decimal] = {}
        self._balances_ts = 0
        self._live: dict[ClientOrderId, Order] = {}  # orders whose events go through this store
        self._seq: dict[ClientOrderId, int] = {}
        self._connection: Connection | None = None
        self._checkpointer = WalCheckpointer(engine) if d.name == "sqlite" else None
        self.commits = 0

    # -- writes (buffered) -----------------------------------------------------------------------

    def add_order(self, order: Order) -> None:
        coid = order.client_order_id
        if coid in self._live or coid in self._seq:
            raise ValueError(f"order {coid} is already stored")
        self._live[coid] = order
        self._seq[coid] = 0
        dec = self._dialect.decimal
        self._new_orders.append(
            (
                coid,
                order.instrument_id,
                int(order.side),
                order.order_type.value,
                order.time_in_force.value,
                dec(order.quantity),
                dec(order.price),
                dec(order.stop_price),
                order.strategy_id,
                order.reduce_only,
                order.ts_init,
                order.status.value,
                order.venue_order_id,
                dec(order.filled_quantity),
                order.ts_last,
                0,
            )
        )
        self._dirty[coid] = order

    def append_order_event(self, event: OrderEvent) -> None:
        coid = event.client_order_id
        order = self._live.get(coid) or self._load_for_write(coid)
        seq = self._seq[coid]
        self._seq[coid] = seq + 1
        self._events.append(
            (
                coid,
                seq,
                event.status.value,
                event.ts_event,
                event.reason,
                event.venue_order_id,
                event.fill.trade_id if event.fill is not None else None,
                self._dialect.decimal(event.triggered_price),
            )
        )
        self._dirty[coid] = order

    def add_fill(self, fill: Fill) -> None:
        dec = self._dialect.decimal
        self._fills.append(
            (
                fill.trade_id,
                fill.client_order_id,
                fill.venue_order_id,
                fill.instrument_id,
                int(fill.side),
                dec(fill.quantity),
                dec(fill.price),
                dec(fill.fee),
                fill.liquidity.value,
                fill.strategy_id,
                fill.ts_event,
            )
        )

    def save_position(self, position: Position) -> None:
        dec = self._dialect.decimal
        self._positions[position.instrument_id] = (
            position.instrument_id,
            dec(position.quantity),
            dec(position.cost),
            dec(position.realized_pnl),
            dec(position.fees),
            position.fill_count,
            position.ts_last,
        )

    def save_trading_state(self, snapshot: TradingSnapshot, limits: RiskLimits, ts_ns: int) -> None:
        dec = self._dialect.decimal
        row = {
            "id": 1,
            "state": snapshot.state.value,
            "reason": snapshot.reason.value if snapshot.reason is not None else None,
            "message": snapshot.message,
            "since_ns": snapshot.since_ns,
            "peak_equity": dec(snapshot.peak_equity),
            "opening_equity": dec(snapshot.opening_equity),
            "limits": json.dumps(limits.to_mapping(), sort_keys=True),
            "ts_last": ts_ns,
            "day": snapshot.day,
            "equity": dec(snapshot.equity),
        }
        self._risk = tuple(row[column.name] for column in s.risk_state.c)

    def stored_trading_state(self) -> TradingSnapshot | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(s.risk_state).where(s.risk_state.c.id == 1)).first()
        if row is None:
            return None
        return TradingSnapshot(
            state=TradingState(row.state),
            reason=RiskReason(row.reason) if row.reason is not None else None,
            message=row.message,
            since_ns=row.since_ns,
            day=row.day,
            equity=row.equity,
            opening_equity=row.opening_equity,
            peak_equity=row.peak_equity,
        )

    def stored_risk_limits(self) -> RiskLimits | None:
        """The limits in force when the trading state was last saved (None if never saved, or
        if the record cannot be read: it is for the record only, the configured limits apply)."""
        with self._engine.connect() as connection:
            text = connection.execute(select(s.risk_state.c.limits).where(s.risk_state.c.id == 1)).scalar()
        if text is None:
            return None
        try:
            return RiskLimits.from_mapping(json.loads(text))
        except (ValueError, TypeError, DomainError) as error:  # JSONDecodeError is a ValueError
            log.warning("the stored risk limits cannot be read (%s); the configured ones apply", error)
            return None

    def save_balances(self, balances: Mapping[str, Decimal], ts_ns: int) -> None:
        self._balances = dict(balances)
        self._balances_ts = ts_ns

    def save_account_snapshot(self, snapshot: AccountSnapshot) -> None:
        dec = self._dialect.decimal
        self._snapshots.append(
            (
                snapshot.ts_ns,
                dec(snapshot.equity),
                dec(snapshot.peak_equity),
                dec(snapshot.realized_pnl),
                dec(snapshot.fees),
            )
        )

    def account_snapshots(self, *, since_ns: int = 0, limit: int = 100_000) -> list[AccountSnapshot]:
        table = s.account_snapshots
        query = select(table).where(table.c.ts >= since_ns).order_by(table.c.id.desc()).limit(limit)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            AccountSnapshot(
                ts_ns=row.ts,
                equity=row.equity,
                peak_equity=row.peak_equity,
                realized_pnl=row.realized_pnl,
                fees=row.fees,
            )
            for row in reversed(rows)
        ]

    def ride(self, sql: str, row: tuple[Any, ...]) -> None:
        """Write ``row`` with ``sql`` (an insert of another store on this database, rendered by
        ``raw_sql.Dialect``) in the next commit's transaction, before this store's own rows."""
        rows = self._riders.get(sql)
        if rows is None:
            self._riders[sql] = [row]
        else:
            rows.append(row)

    def riding(self, sql: str) -> bool:
        """True while rows given to ``ride`` with ``sql`` wait for a commit."""
        return sql in self._riders

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
        dec = self._dialect.decimal
        seq = self._seq
        # An order new in this commit is inserted with its latest state (one statement, not
        # an insert and then an update of the projection columns, the last of each row).
        new_orders = []
        dirty = dict(self._dirty)
        for row in self._new_orders:
            order = dirty.pop(row[0])
            new_orders.append(
                (
                    *row[:_PROJECTED],
                    order.status.value,
                    order.venue_order_id,
                    dec(order.filled_quantity),
                    order.ts_last,
                    seq[order.client_order_id],
                )
            )
        projection = [
            (
                order.status.value,
                order.venue_order_id,
                dec(order.filled_quantity),
                order.ts_last,
                seq[coid],
                coid,
            )
            for coid, order in dirty.items()
        ]
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
                        (self._sql_projection, projection),
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
        self._dirty, self._positions, self._balances = {}, {}, {}
        self._risk = None
        self._riders = {}
        self._snapshots = []
        self.commits += 1
        if self._checkpointer is not None:
            self._checkpointer.committed()
        live = self._live
        for coid in [c for c, order in live.items() if order.status.is_terminal]:
            del live[coid]  # closed: read back from the database when asked again

    def _connect(self) -> Connection:
        """The kept connection of the writes; on SQLite its checkpoints are the checkpointer's."""
        connection = self._connection = self._engine.connect()
        if self._checkpointer is not None:
            connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
            connection.commit()
        return connection

    def _exists(self, client_order_id: ClientOrderId) -> bool:
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
        if self._dialect.name == "postgresql":
            dbapi.rollback()  # psycopg opened a transaction for the SELECT: end it
        return found

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _load_for_write(self, client_order_id: ClientOrderId) -> Order:
        order = self.get_order(client_order_id)
        if order is None:
            raise KeyError(f"an event for order {client_order_id}, which is not stored")
        self._live[client_order_id] = order
        return order

    # -- reads -----------------------------------------------------------------------------------

    def get_order(self, client_order_id: ClientOrderId) -> Order | None:
        live = self._live.get(client_order_id)
        if live is not None:
            return live
        if not self._exists(client_order_id):  # the common answer (a new id), cheaply
            return None
        with self._engine.connect() as connection:
            row = connection.execute(
                select(s.orders).where(s.orders.c.client_order_id == client_order_id)
            ).first()
            if row is None:
                return None
            (order,) = self._rebuild(connection, [row])
        self._live[client_order_id] = order  # one object per order: the OMS and the store share it
        return order

    def list_orders(
        self, *, instrument_id: InstrumentId | None = None, status: OrderStatus | None = None
    ) -> Sequence[Order]:
        query = select(s.orders).order_by(s.orders.c.ts_init, s.orders.c.client_order_id)
        if instrument_id is not None:
            query = query.where(s.orders.c.instrument_id == instrument_id)
        if status is not None:
            query = query.where(s.orders.c.status == status.value)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
            stored = [row for row in rows if row.client_order_id not in self._live]
            rebuilt = {order.client_order_id: order for order in self._rebuild(connection, stored)}
        return [self._live.get(row.client_order_id) or rebuilt[row.client_order_id] for row in rows]

    def query_orders(self, query: OrderQuery) -> list[Order]:
        """Filtered, ordered and limited in SQL (indexes on instrument, status, strategy, time);
        only the page's orders are rebuilt from their journal."""
        table = s.orders
        select_rows = select(table).order_by(table.c.ts_init.desc(), table.c.client_order_id.desc())
        if query.instrument_id is not None:
            select_rows = select_rows.where(table.c.instrument_id == query.instrument_id)
        if query.status is not None:
            select_rows = select_rows.where(table.c.status == query.status.value)
        if query.strategy_id is not None:
            select_rows = select_rows.where(table.c.strategy_id == query.strategy_id)
        if query.open_only:
            terminal = [status.value for status in OrderStatus if status.is_terminal]
            select_rows = select_rows.where(table.c.status.not_in(terminal))
        if query.before is not None:
            ts, coid = query.before
            select_rows = select_rows.where(
                or_(table.c.ts_init < ts, and_(table.c.ts_init == ts, table.c.client_order_id < coid))
            )
        return self._orders_of(select_rows.limit(max(0, query.limit)))

    def find_by_venue_order_id(self, venue_order_id: str) -> Order | None:
        orders = self._orders_of(select(s.orders).where(s.orders.c.venue_order_id == venue_order_id).limit(1))
        return orders[0] if orders else None

    def _orders_of(self, query: Select[Any]) -> list[Order]:
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
            stored = [row for row in rows if row.client_order_id not in self._live]
            rebuilt = {order.client_order_id: order for order in self._rebuild(connection, stored)}
        return [self._live.get(row.client_order_id) or rebuilt[row.client_order_id] for row in rows]

    def list_fills(self, *, instrument_id: InstrumentId | None = None) -> Sequence[Fill]:
        query = select(s.fills).order_by(s.fills.c.id)
        if instrument_id is not None:
            query = query.where(s.fills.c.instrument_id == instrument_id)
        with self._engine.connect() as connection:
            return [_fill(row) for row in connection.execute(query)]

    def journal(self, client_order_id: ClientOrderId | None = None) -> list[OrderEvent]:
        """The stored journal (of one order), in the order it was written."""
        orders = self.list_orders() if client_order_id is None else [self.get_order(client_order_id)]
        return [event for order in orders if order is not None for event in order.events]

    def open_orders(self) -> Sequence[Order]:
        terminal = [status.value for status in OrderStatus if status.is_terminal]
        query = select(s.orders).where(s.orders.c.status.not_in(terminal)).order_by(s.orders.c.ts_init)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
            stored = [row for row in rows if row.client_order_id not in self._live]
            rebuilt = {order.client_order_id: order for order in self._rebuild(connection, stored)}
        for coid, order in rebuilt.items():
            self._live[ClientOrderId(coid)] = order  # working: its events will come through here
        return [self._live.get(row.client_order_id) or rebuilt[row.client_order_id] for row in rows]

    def max_sequence(self, prefix: str) -> int:
        query = select(s.orders.c.client_order_id).where(s.orders.c.client_order_id.startswith(f"{prefix}-"))
        with self._engine.connect() as connection:
            return highest_sequence(connection.execute(query).scalars(), prefix)

    def stored_positions(self) -> dict[InstrumentId, tuple[Decimal, Decimal, Decimal, Decimal, int]]:
        return self.positions()

    def stored_balances(self) -> dict[str, Decimal]:
        return self.balances()

    def positions(self) -> dict[InstrumentId, tuple[Decimal, Decimal, Decimal, Decimal, int]]:
        with self._engine.connect() as connection:
            return {
                InstrumentId(row.instrument_id): (
                    row.quantity,
                    row.cost,
                    row.realized_pnl,
                    row.fees,
                    row.fill_count,
                )
                for row in connection.execute(select(s.positions))
            }

    def balances(self) -> dict[str, Decimal]:
        with self._engine.connect() as connection:
            return {row.asset: row.amount for row in connection.execute(select(s.balances))}

    def _rebuild(self, connection: Connection, rows: Sequence[Row[Any]]) -> list[Order]:
        if not rows:
            return []
        ids = [row.client_order_id for row in rows]
        events: dict[str, list[Row[Any]]] = defaultdict(list)
        for event in connection.execute(
            select(s.order_events)
            .where(s.order_events.c.client_order_id.in_(ids))
            .order_by(s.order_events.c.client_order_id, s.order_events.c.seq)
        ):
            events[event.client_order_id].append(event)
        fills: dict[tuple[str, str], Fill] = {}
        for row in connection.execute(select(s.fills).where(s.fills.c.client_order_id.in_(ids))):
            fills[(row.client_order_id, row.trade_id)] = _fill(row)
        result = []
        for row in rows:
            order = _order(row)
            journal = events[row.client_order_id]
            order.replay([_event(e, fills) for e in journal[1:]])  # the first is the constructor's
            self._seq.setdefault(order.client_order_id, len(journal))
            result.append(order)
        return result

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
        self._live.clear()
        self._seq.clear()


def _order(row: Row[Any]) -> Order:
    return Order(
        client_order_id=row.client_order_id,
        instrument_id=InstrumentId(row.instrument_id),
        side=OrderSide(row.side),
        order_type=OrderType(row.order_type),
        quantity=row.quantity,
        price=row.price,
        stop_price=row.stop_price,
        time_in_force=TimeInForce(row.time_in_force),
        strategy_id=StrategyId(row.strategy_id) if row.strategy_id is not None else None,
        reduce_only=row.reduce_only,
        ts_init=row.ts_init,
    )


def _fill(row: Row[Any]) -> Fill:
    return Fill(
        instrument_id=InstrumentId(row.instrument_id),
        client_order_id=ClientOrderId(row.client_order_id),
        venue_order_id=VenueOrderId(row.venue_order_id) if row.venue_order_id is not None else None,
        trade_id=TradeId(row.trade_id),
        side=OrderSide(row.side),
        quantity=row.quantity,
        price=row.price,
        fee=row.fee,
        liquidity=LiquiditySide(row.liquidity),
        strategy_id=StrategyId(row.strategy_id) if row.strategy_id is not None else None,
        ts_event=row.ts_event,
    )


def _event(row: Row[Any], fills: Mapping[tuple[str, str], Fill]) -> OrderEvent:
    fill = None
    if row.trade_id is not None:
        fill = fills.get((row.client_order_id, row.trade_id))
        if fill is None:
            raise ValueError(
                f"order {row.client_order_id}: journal names fill {row.trade_id}, which is missing"
            )
    return OrderEvent(
        client_order_id=ClientOrderId(row.client_order_id),
        status=OrderStatus(row.status),
        ts_event=row.ts_event,
        reason=row.reason,
        fill=fill,
        venue_order_id=VenueOrderId(row.venue_order_id) if row.venue_order_id is not None else None,
        triggered_price=row.triggered_price,
    )
