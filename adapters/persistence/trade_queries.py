"""The trades store's reads: orders (rebuilt from their journal), fills, positions, balances,
the risk state and account snapshots, through SQLAlchemy Core.

Reads see what is committed (with a journal, they first wait for the tables to have every
commit so far: ``settle``; a lookup by client order id does not need to, see ``get_order``),
but for one thing: an order the unit of work tracks is
returned as that very object (the OMS and the store share one object per order, whatever
its uncommitted events), never as a second copy rebuilt from the database; the other
orders are rebuilt, a page at a time, by ``trade_rows.rebuild_orders``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.engine import Connection, Engine, Row

from adapters.persistence import schema as s
from adapters.persistence import trade_rows as rows
from adapters.persistence.trade_unit_of_work import TradeUnitOfWork
from application.ports import AccountSnapshot, OrderQuery
from domain.errors import DomainError
from domain.identifiers import ClientOrderId, InstrumentId, highest_sequence
from domain.orders import Fill, Order, OrderEvent, OrderStatus
from domain.risk import RiskLimits, TradingSnapshot

log = logging.getLogger("tradeplane.persistence")

_TERMINAL = [status.value for status in OrderStatus if status.is_terminal]


class TradeQueries:
    """Every read of the trades store; ``unit_of_work`` supplies the orders it tracks."""

    def __init__(self, engine: Engine, unit_of_work: TradeUnitOfWork) -> None:
        self._engine = engine
        self._unit_of_work = unit_of_work

    # -- orders ----------------------------------------------------------------------------------

    def get_order(self, client_order_id: ClientOrderId) -> Order | None:
        """The order, tracked from now on (the OMS is about to work with it), or None.

        Never waits for a journal's projection: an order with commits not yet in the tables is
        tracked (closed ones too, until their last commit is applied), so it is answered from
        memory, and any other is in the tables as it stands.
        """
        uow = self._unit_of_work
        tracked = uow.tracked.get(client_order_id)
        if tracked is not None:
            return tracked
        if not uow.exists(client_order_id):  # the common answer (a new id), cheaply
            return None
        with self._engine.connect() as connection:
            row = connection.execute(
                select(s.orders).where(s.orders.c.client_order_id == client_order_id)
            ).first()
            if row is None:
                return None
            (order,) = self._rebuilt(connection, [row]).values()
        uow.track(order)
        return order

    def list_orders(
        self, *, instrument_id: InstrumentId | None = None, status: OrderStatus | None = None
    ) -> list[Order]:
        self._unit_of_work.settle()
        query = select(s.orders).order_by(s.orders.c.ts_init, s.orders.c.client_order_id)
        if instrument_id is not None:
            query = query.where(s.orders.c.instrument_id == instrument_id)
        if status is not None:
            query = query.where(s.orders.c.status == status.value)
        return self._orders_of(query)

    def query_orders(self, query: OrderQuery) -> list[Order]:
        """Filtered, ordered and limited in SQL (indexes on instrument, status, strategy, time);
        only the page's orders are rebuilt from their journal."""
        self._unit_of_work.settle()
        table = s.orders
        select_rows = select(table).order_by(table.c.ts_init.desc(), table.c.client_order_id.desc())
        if query.instrument_id is not None:
            select_rows = select_rows.where(table.c.instrument_id == query.instrument_id)
        if query.status is not None:
            select_rows = select_rows.where(table.c.status == query.status.value)
        if query.strategy_id is not None:
            select_rows = select_rows.where(table.c.strategy_id == query.strategy_id)
        if query.open_only:
            select_rows = select_rows.where(table.c.status.not_in(_TERMINAL))
        if query.before is not None:
            ts, coid = query.before
            select_rows = select_rows.where(
                or_(table.c.ts_init < ts, and_(table.c.ts_init == ts, table.c.client_order_id < coid))
            )
        return self._orders_of(select_rows.limit(max(0, query.limit)))

    def find_by_venue_order_id(self, venue_order_id: str) -> Order | None:
        self._unit_of_work.settle()
        orders = self._orders_of(select(s.orders).where(s.orders.c.venue_order_id == venue_order_id).limit(1))
        return orders[0] if orders else None

    def open_orders(self) -> list[Order]:
        """Orders not in a terminal state, tracked from now on: their events will come through."""
        self._unit_of_work.settle()
        query = select(s.orders).where(s.orders.c.status.not_in(_TERMINAL)).order_by(s.orders.c.ts_init)
        return self._orders_of(query, track=True)

    def journal(self, client_order_id: ClientOrderId | None = None) -> list[OrderEvent]:
        """The stored journal (of one order), in the order it was written."""
        orders = self.list_orders() if client_order_id is None else [self.get_order(client_order_id)]
        return [event for order in orders if order is not None for event in order.events]

    def max_sequence(self, prefix: str) -> int:
        """The highest n of the stored client order ids ``{prefix}-{n}`` (0 when none)."""
        self._unit_of_work.settle()
        query = select(s.orders.c.client_order_id).where(s.orders.c.client_order_id.startswith(f"{prefix}-"))
        with self._engine.connect() as connection:
            return highest_sequence(connection.execute(query).scalars(), prefix)

    # -- fills, positions, balances --------------------------------------------------------------

    def list_fills(self, *, instrument_id: InstrumentId | None = None) -> list[Fill]:
        self._unit_of_work.settle()
        query = select(s.fills).order_by(s.fills.c.id)
        if instrument_id is not None:
            query = query.where(s.fills.c.instrument_id == instrument_id)
        with self._engine.connect() as connection:
            return [rows.fill_from_row(row) for row in connection.execute(query)]

    def positions(self) -> dict[InstrumentId, tuple[Decimal, Decimal, Decimal, Decimal, int]]:
        """``Position.state()`` per instrument as last committed."""
        self._unit_of_work.settle()
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
        self._unit_of_work.settle()
        with self._engine.connect() as connection:
            return {row.asset: row.amount for row in connection.execute(select(s.balances))}

    # -- risk state and account snapshots --------------------------------------------------------

    def stored_trading_state(self) -> TradingSnapshot | None:
        self._unit_of_work.settle()
        with self._engine.connect() as connection:
            row = connection.execute(select(s.risk_state).where(s.risk_state.c.id == 1)).first()
        return rows.trading_snapshot_from_row(row) if row is not None else None

    def stored_risk_limits(self) -> RiskLimits | None:
        """The limits in force when the trading state was last saved (None if never saved, or
        if the record cannot be read: it is for the record only, the configured limits apply)."""
        self._unit_of_work.settle()
        with self._engine.connect() as connection:
            text = connection.execute(select(s.risk_state.c.limits).where(s.risk_state.c.id == 1)).scalar()
        if text is None:
            return None
        try:
            return RiskLimits.from_mapping(json.loads(text))
        except (ValueError, TypeError, DomainError) as error:  # JSONDecodeError is a ValueError
            log.warning("the stored risk limits cannot be read (%s); the configured ones apply", error)
            return None

    def account_snapshots(self, *, since_ns: int = 0, limit: int = 100_000) -> list[AccountSnapshot]:
        """Snapshots at or after ``since_ns``, oldest first, at most ``limit`` (the latest)."""
        self._unit_of_work.settle()
        table = s.account_snapshots
        query = select(table).where(table.c.ts >= since_ns).order_by(table.c.id.desc()).limit(limit)
        with self._engine.connect() as connection:
            found = connection.execute(query).all()
        return [rows.account_snapshot_from_row(row) for row in reversed(found)]

    # -- internals -------------------------------------------------------------------------------

    def _orders_of(self, query: Select[Any], *, track: bool = False) -> list[Order]:
        """The orders of ``query``'s rows: the tracked ones as they are, the others rebuilt
        (and tracked from now on when ``track``)."""
        tracked = self._unit_of_work.tracked
        with self._engine.connect() as connection:
            found = connection.execute(query).all()
            rebuilt = self._rebuilt(connection, [row for row in found if row.client_order_id not in tracked])
        if track:
            for order in rebuilt.values():
                self._unit_of_work.track(order)
        return [tracked.get(row.client_order_id) or rebuilt[row.client_order_id] for row in found]

    def _rebuilt(self, connection: Connection, stored: Sequence[Row[Any]]) -> dict[ClientOrderId, Order]:
        counts = self._unit_of_work.event_counts
        result = {}
        for order, event_count in rows.rebuild_orders(connection, stored):
            counts.setdefault(order.client_order_id, event_count)
            result[order.client_order_id] = order
        return result
