"""Restoring the paper venue from its log at start: its state is the fold of what it reported."""

from __future__ import annotations

from decimal import Decimal

from adapters.brokers.paper.account import VenueAccount
from adapters.brokers.paper.matching import WorkingOrder
from adapters.brokers.paper.orders import VenueIds, VenueOrders
from adapters.brokers.paper.venue_log import Record, VenueLog, VenueLogError, fill_of, order_of, record_of
from application.messages import OrderExpired
from domain.errors import DomainError
from domain.identifiers import ClientOrderId, VenueOrderId
from domain.orders import OrderStatus, OrderType

MARKET_ORDER_CUT = "the rest of this market order was lost when the paper venue restarted"


def restore(log: VenueLog, orders: VenueOrders, ids: VenueIds, account: VenueAccount | None = None) -> None:
    """Replay ``log`` into ``orders``, ``ids`` and ``account``, then compact the log.

    The account starts from the last balances the log holds (or its starting balances) and
    takes every fill logged after them; the compacted log ends with the balances as rebuilt,
    so the fills of the orders it keeps are not counted twice at the next start.

    Orders working at the venue are working again (a resting limit rests, behind whatever is
    displayed when the market returns: its queue position is lost); the rest of a market order
    cut by the crash expires. Raises VenueLogError naming the file and line of a malformed record.
    """
    records = log.load()
    for number, record in enumerate(records, start=2):
        try:
            _replay(record, orders, ids, account)
        except (KeyError, TypeError, ValueError, AttributeError, DomainError) as error:
            raise VenueLogError(
                f"paper venue log {log.path} line {number} ({record.get('e')!r}) is malformed: {error!r}"
            ) from None
    cut = [order for order in orders.working.values() if order.order_type is not OrderType.LIMIT]
    for order in cut:
        order.status = OrderStatus.EXPIRED
        order.reason = MARKET_ORDER_CUT
        orders.close(order)
        expired = OrderExpired(
            client_order_id=order.client_order_id, reason=order.reason, ts_event=order.ts_last
        )
        records.append(record_of(expired, order))
    for order in orders.working.values():
        orders.rest(order)
    kept = set(orders.working) | set(orders.closed)
    counters: Record = {"e": "ids", "id": "", "venue": ids.orders, "trades": ids.trades}
    kept_records: list[Record] = [counters, *(record for record in records if record["id"] in kept)]
    if account is not None:
        kept_records.append(
            {"e": "balances", "id": "", "totals": {a: str(v) for a, v in account.totals.items()}}
        )
    log.rewrite(kept_records)


def _replay(record: Record, orders: VenueOrders, ids: VenueIds, account: VenueAccount | None) -> None:
    """Apply one record: an arrival makes an order, the others move the order they name."""
    kind = record["e"]
    if kind == "balances":  # the account as it stood at the last compaction
        if account is not None:
            account.totals = {str(asset): _amount(amount) for asset, amount in record["totals"].items()}
        return
    if kind == "ids":  # the counters as they stood at the last compaction
        ids.orders = max(ids.orders, int(record["venue"]))
        ids.trades = max(ids.trades, int(record["trades"]))
        return
    client_order_id = ClientOrderId(record["id"])
    if kind in ("accepted", "rejected"):
        order = WorkingOrder(order_of(record), ids.next_sequence())
        order.ts_last = record["ts"]
        if kind == "rejected":
            order.status = OrderStatus.REJECTED
            order.reason = record["reason"]
            orders.remember(order)
            return
        order.venue_order_id = VenueOrderId(record["venue_id"])
        ids.orders += 1  # ids continue after the restart: none is ever given twice
        order.status = OrderStatus.ACCEPTED
        orders.working[client_order_id] = order
        return
    order = orders.working[client_order_id]
    order.ts_last = record["ts"]
    if kind == "filled":
        fill = fill_of(record, order)
        ids.trades += 1
        order.take(fill.quantity)
        order.fills.append(fill)
        if account is not None:
            account.apply_fill(fill)
        if order.leaves:
            order.status = OrderStatus.PARTIALLY_FILLED
            return
        order.status = OrderStatus.FILLED
    elif kind in ("canceled", "expired"):
        order.status = OrderStatus.CANCELED if kind == "canceled" else OrderStatus.EXPIRED
        order.reason = record["reason"]
    else:
        raise ValueError(f"unknown record kind {kind!r}")
    del orders.working[client_order_id]
    orders.remember(order)


def _amount(text: object) -> Decimal:
    if not isinstance(text, str):
        raise ValueError(f"expected a decimal string, got {text!r}")
    return Decimal(text)
