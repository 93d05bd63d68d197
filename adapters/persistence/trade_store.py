"""The trades store on SQL: orders and their append-only journal, fills, positions, balances.

Writes are buffered in memory and made durable by ``commit`` in one transaction, which is
the OMS's unit of work (see ``TradeRepository``). An order read back from the store is
rebuilt by replaying its journal through the domain's state machine, so a stored order is
exactly the one that wrote it, or loading fails loudly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, Row

from adapters.persistence import schema as s
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId, VenueOrderId
from domain.orders import Fill, LiquiditySide, Order, OrderEvent, OrderStatus, OrderType, TimeInForce
from domain.positions import Position
from domain.values import OrderSide

_UPDATE_ORDER = (
    update(s.orders)
    .where(s.orders.c.client_order_id == bindparam("coid"))
    .values(
        status=bindparam("status"),
        venue_order_id=bindparam("venue_order_id"),
        filled_quantity=bindparam("filled_quantity"),
        ts_last=bindparam("ts_last"),
        event_count=bindparam("event_count"),
    )
)


class SqlTradeRepository:
    """``TradeRepository`` on SQLAlchemy Core (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._new_orders: list[dict[str, Any]] = []
        self._events: list[dict[str, Any]] = []
        self._fills: list[dict[str, Any]] = []
        self._dirty: dict[ClientOrderId, Order] = {}
        self._positions: dict[InstrumentId, dict[str, Any]] = {}
        self._balances: dict[str, Decimal] = {}
        self._balances_ts = 0
        self._live: dict[ClientOrderId, Order] = {}  # orders whose events go through this store
        self._seq: dict[ClientOrderId, int] = {}
        self._connection: Connection | None = None
        self.commits = 0

    # -- writes (buffered) -----------------------------------------------------------------------

    def add_order(self, order: Order) -> None:
        coid = order.client_order_id
        if coid in self._live or coid in self._seq:
            raise ValueError(f"order {coid} is already stored")
        self._live[coid] = order
        self._seq[coid] = 0
        self._new_orders.append(_order_row(order))
        self._dirty[coid] = order

    def append_order_event(self, event: OrderEvent) -> None:
        coid = event.client_order_id
        order = self._live.get(coid) or self._load_for_write(coid)
        seq = self._seq[coid]
        self._seq[coid] = seq + 1
        self._events.append(
            {
                "client_order_id": coid,
                "seq": seq,
                "status": event.status.value,
                "ts_event": event.ts_event,
                "reason": event.reason,
                "venue_order_id": event.venue_order_id,
                "trade_id": event.fill.trade_id if event.fill is not None else None,
                "triggered_price": event.triggered_price,
            }
        )
        self._dirty[coid] = order

    def add_fill(self, fill: Fill) -> None:
        self._fills.append(
            {
                "trade_id": fill.trade_id,
                "client_order_id": fill.client_order_id,
                "venue_order_id": fill.venue_order_id,
                "instrument_id": fill.instrument_id,
                "side": int(fill.side),
                "quantity": fill.quantity,
                "price": fill.price,
                "fee": fill.fee,
                "liquidity": fill.liquidity.value,
                "strategy_id": fill.strategy_id,
                "ts_event": fill.ts_event,
            }
        )

    def save_position(self, position: Position) -> None:
        self._positions[position.instrument_id] = {
            "instrument_id": position.instrument_id,
            "quantity": position.quantity,
            "cost": position.cost,
            "realized_pnl": position.realized_pnl,
            "fees": position.fees,
            "fill_count": position.fill_count,
            "ts_last": position.ts_last,
        }

    def save_balances(self, balances: Mapping[str, Decimal], ts_ns: int) -> None:
        self._balances = dict(balances)
        self._balances_ts = ts_ns

    def commit(self) -> None:
        """Write everything since the last commit in one transaction, or nothing.

        One kept connection and one statement per table (executemany): on PostgreSQL a
        commit is a handful of round trips, not one per row. A failed commit rolls back,
        keeps the buffers (a retry writes them again) and raises.
        """
        if not (self._new_orders or self._events or self._fills or self._positions or self._balances):
            return
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            connection = self._connection = self._engine.connect()
        try:
            with connection.begin():
                if self._new_orders:
                    connection.execute(insert(s.orders), self._new_orders)
                if self._events:
                    connection.execute(insert(s.order_events), self._events)
                if self._fills:
                    connection.execute(insert(s.fills), self._fills)
                if self._dirty:
                    connection.execute(
                        _UPDATE_ORDER,
                        [
                            {
                                "coid": order.client_order_id,
                                "status": order.status.value,
                                "venue_order_id": order.venue_order_id,
                                "filled_quantity": order.filled_quantity,
                                "ts_last": order.ts_last,
                                "event_count": self._seq[order.client_order_id],
                            }
                            for order in self._dirty.values()
                        ],
                    )
                if self._positions:
                    self._upsert(connection, s.positions, list(self._positions.values()), "instrument_id")
                if self._balances:
                    rows = [
                        {"asset": asset, "amount": amount, "ts_last": self._balances_ts}
                        for asset, amount in self._balances.items()
                    ]
                    self._upsert(connection, s.balances, rows, "asset")
        except Exception:
            connection.close()
            self._connection = None
            raise
        self._new_orders, self._events, self._fills = [], [], []
        self._dirty, self._positions, self._balances = {}, {}, {}
        self.commits += 1
        live = self._live
        for coid in [c for c, order in live.items() if order.status.is_terminal]:
            del live[coid]  # closed: read back from the database when asked again

    def _upsert(self, connection: Connection, table: Any, rows: list[dict[str, Any]], key: str) -> None:
        dialect = connection.dialect.name
        statement = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
        changes = {column.name: statement.excluded[column.name] for column in table.c if column.name != key}
        connection.execute(statement.on_conflict_do_update(index_elements=[key], set_=changes), rows)

    def close(self) -> None:
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
        """Delete every order, event, fill, position and balance (a fresh paper account)."""
        with self._engine.begin() as connection:
            for table in (s.order_events, s.fills, s.orders, s.positions, s.balances):
                connection.execute(delete(table))
        self._live.clear()
        self._seq.clear()


def _order_row(order: Order) -> dict[str, Any]:
    return {
        "client_order_id": order.client_order_id,
        "instrument_id": order.instrument_id,
        "side": int(order.side),
        "order_type": order.order_type.value,
        "time_in_force": order.time_in_force.value,
        "quantity": order.quantity,
        "price": order.price,
        "stop_price": order.stop_price,
        "strategy_id": order.strategy_id,
        "reduce_only": order.reduce_only,
        "ts_init": order.ts_init,
        "status": order.status.value,
        "venue_order_id": order.venue_order_id,
        "filled_quantity": order.filled_quantity,
        "ts_last": order.ts_last,
        "event_count": 0,
    }


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
