"""User data stream events: ``executionReport`` and ``outboundAccountPosition``, in the venue's fields.

One execution report per NEW, TRADE (one per fill), CANCELED, EXPIRED and REJECTED; its ``I``
(execution id) grows by one per report of the account, ``t`` is the fill's trade id (-1 when
none). An account position lists the assets whose balance moved, after the report that
moved them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from adapters.exchanges.simulator.trading.filters import fmt
from adapters.exchanges.simulator.trading.orders import Fill, VenueOrder

ZERO = Decimal(0)


def execution_report(
    order: VenueOrder,
    *,
    execution_type: str,
    execution_id: int,
    event_ms: int,
    fill: Fill | None = None,
    reject_reason: str = "NONE",
    client_order_id: str | None = None,
    orig_client_order_id: str = "",
) -> dict[str, Any]:
    """The ``executionReport`` of ``order`` now; a TRADE carries its ``fill``.

    ``client_order_id`` overrides ``c`` (a cancel reports the cancel request's id there and
    the order's own in ``C``).
    """
    return {
        "e": "executionReport",
        "E": event_ms,
        "s": order.symbol,
        "c": order.client_order_id if client_order_id is None else client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.time_in_force,
        "q": fmt(order.orig_qty),
        "p": fmt(order.price),
        "P": fmt(order.stop_price),
        "F": fmt(ZERO),
        "g": -1,
        "C": orig_client_order_id,
        "x": execution_type,
        "X": order.status,
        "r": reject_reason,
        "i": order.order_id,
        "l": fmt(fill.qty if fill else ZERO),
        "z": fmt(order.executed_qty),
        "L": fmt(fill.price if fill else ZERO),
        "n": fmt(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": fill.time if fill else event_ms,
        "t": fill.trade_id if fill else -1,
        "I": execution_id,
        "w": order.is_working and order.is_open,
        "m": fill.is_maker if fill else False,
        "M": False,
        "O": order.created_ms,
        "Z": fmt(order.cum_quote),
        "Y": fmt(fill.quote_qty if fill else ZERO),
        "Q": fmt(order.orig_quote_qty),
        "W": order.working_ms,
        "V": order.stp_mode,
    }


def account_position(
    balances: Iterable[tuple[str, Decimal, Decimal]], *, event_ms: int, update_ms: int
) -> dict[str, Any]:
    """``outboundAccountPosition`` for the (asset, free, locked) that changed."""
    return {
        "e": "outboundAccountPosition",
        "E": event_ms,
        "u": update_ms,
        "B": [{"a": asset, "f": fmt(free), "l": fmt(locked)} for asset, free, locked in balances],
    }


def stream_terminated(event_ms: int) -> dict[str, Any]:
    """Sent on a subscription that ends (unsubscribed)."""
    return {"e": "eventStreamTerminated", "E": event_ms}
