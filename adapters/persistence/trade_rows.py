"""Rows of the trades store and the domain objects they hold, both ways, in one place.

The writes send plain tuples in table column order (``raw_sql`` statements); the reads get
SQLAlchemy rows back. An order is stored as its fixed terms plus a projection of its latest
state (status, venue id, filled quantity, last update, journal length), and is read back by
replaying its journal through the domain's state machine (``rebuild_orders``), so a stored
order is exactly the one that wrote it, or loading fails loudly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from adapters.persistence import schema as s
from application.ports import AccountSnapshot
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId, VenueOrderId
from domain.orders import Fill, LiquiditySide, Order, OrderEvent, OrderStatus, OrderType, TimeInForce
from domain.positions import Position
from domain.risk import RiskLimits, RiskReason, TradingSnapshot, TradingState
from domain.values import OrderSide

ToDriver = Callable[[Decimal | None], Any]
"""How a decimal goes to the driver (``raw_sql.Dialect.decimal``): exact text or a Decimal."""

ORDER_COLUMNS = [c.name for c in s.orders.c]
EVENT_COLUMNS = [c.name for c in s.order_events.c if c.name != "id"]
FILL_COLUMNS = [c.name for c in s.fills.c if c.name != "id"]
SNAPSHOT_COLUMNS = [c.name for c in s.account_snapshots.c if c.name != "id"]
RISK_COLUMNS = [
    "id",
    "state",
    "reason",
    "message",
    "since_ns",
    "peak_equity",
    "opening_equity",
    "limits",
    "ts_last",
    "day",
    "equity",
]
"""``trading_state_row``'s order, the table's (checked below)."""
assert [c.name for c in s.risk_state.c] == RISK_COLUMNS
PROJECTION_COLUMNS = ["status", "venue_order_id", "filled_quantity", "ts_last", "event_count"]
"""The columns of an order row that follow its state; the fixed terms come first."""
assert ORDER_COLUMNS[len(ORDER_COLUMNS) - len(PROJECTION_COLUMNS) :] == PROJECTION_COLUMNS


# -- domain -> row -------------------------------------------------------------------------------


def order_terms(order: Order, dec: ToDriver) -> tuple[Any, ...]:
    """The columns of an order row that never change, in column order."""
    return (
        order.client_order_id,
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
        order.post_only,
    )


def order_state(order: Order, event_count: int, dec: ToDriver) -> tuple[Any, ...]:
    """The projection columns of an order row (``PROJECTION_COLUMNS``), as of now."""
    return (order.status.value, order.venue_order_id, dec(order.filled_quantity), order.ts_last, event_count)


def event_row(event: OrderEvent, seq: int, dec: ToDriver) -> tuple[Any, ...]:
    """A journal row: the order's ``seq``-th event (0 is the constructor's)."""
    return (
        event.client_order_id,
        seq,
        event.status.value,
        event.ts_event,
        event.reason,
        event.venue_order_id,
        event.fill.trade_id if event.fill is not None else None,
        dec(event.triggered_price),
    )


def fill_row(fill: Fill, dec: ToDriver) -> tuple[Any, ...]:
    return (
        fill.trade_id,
        fill.client_order_id,
        fill.venue_order_id,
        fill.instrument_id,
        int(fill.side),
        dec(fill.quantity),
        dec(fill.price),
        dec(fill.fee),
        fill.fee_asset,
        fill.liquidity.value,
        fill.strategy_id,
        fill.ts_event,
    )


def position_row(position: Position, dec: ToDriver) -> tuple[Any, ...]:
    return (
        position.instrument_id,
        dec(position.quantity),
        dec(position.cost),
        dec(position.realized_pnl),
        dec(position.fees),
        position.fill_count,
        position.ts_last,
    )


def limits_json(limits: RiskLimits) -> str:
    """The limits as kept in ``risk_state``, for the record: sorted JSON, exact strings."""
    return json.dumps(limits.to_mapping(), sort_keys=True)


def trading_state_row(snapshot: TradingSnapshot, limits: str, ts_ns: int, dec: ToDriver) -> tuple[Any, ...]:
    """The one row of ``risk_state``; ``limits`` is their ``limits_json``."""
    return (
        1,
        snapshot.state.value,
        snapshot.reason.value if snapshot.reason is not None else None,
        snapshot.message,
        snapshot.since_ns,
        dec(snapshot.peak_equity),
        dec(snapshot.opening_equity),
        limits,
        ts_ns,
        snapshot.day,
        dec(snapshot.equity),
    )


def account_snapshot_row(snapshot: AccountSnapshot, dec: ToDriver) -> tuple[Any, ...]:
    return (
        snapshot.ts_ns,
        dec(snapshot.equity),
        dec(snapshot.peak_equity),
        dec(snapshot.realized_pnl),
        dec(snapshot.fees),
    )


# -- row -> domain -------------------------------------------------------------------------------


def rebuild_orders(connection: Connection, rows: Sequence[Row[Any]]) -> list[tuple[Order, int]]:
    """The orders of ``rows`` (of ``orders``), each replayed from its journal, with the length
    of that journal (the ``seq`` of its next event). Two queries whatever the number of orders.

    Raises ValueError when a journal names a fill that is not stored, and the domain's errors
    when a journal is not a legal sequence of the order's states.
    """
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
        fills[(row.client_order_id, row.trade_id)] = fill_from_row(row)
    result = []
    for row in rows:
        order = _order(row)
        journal = events[row.client_order_id]
        order.replay([_event(e, fills) for e in journal[1:]])  # the first is the constructor's
        result.append((order, len(journal)))
    return result


def fill_from_row(row: Row[Any]) -> Fill:
    return Fill(
        instrument_id=InstrumentId(row.instrument_id),
        client_order_id=ClientOrderId(row.client_order_id),
        venue_order_id=VenueOrderId(row.venue_order_id) if row.venue_order_id is not None else None,
        trade_id=TradeId(row.trade_id),
        side=OrderSide(row.side),
        quantity=row.quantity,
        price=row.price,
        fee=row.fee,
        fee_asset=row.fee_asset,
        liquidity=LiquiditySide(row.liquidity),
        strategy_id=StrategyId(row.strategy_id) if row.strategy_id is not None else None,
        ts_event=row.ts_event,
    )


def trading_snapshot_from_row(row: Row[Any]) -> TradingSnapshot:
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


def account_snapshot_from_row(row: Row[Any]) -> AccountSnapshot:
    return AccountSnapshot(
        ts_ns=row.ts,
        equity=row.equity,
        peak_equity=row.peak_equity,
        realized_pnl=row.realized_pnl,
        fees=row.fees,
    )


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
        post_only=row.post_only,
        ts_init=row.ts_init,
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
