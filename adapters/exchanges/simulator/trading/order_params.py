"""A new order's parameters, read and checked as the venue does before any filter or balance.

Mandatory by type: LIMIT needs timeInForce, quantity and price; MARKET quantity or
quoteOrderQty (not both); STOP_LOSS / TAKE_PROFIT quantity and stopPrice; their _LIMIT
variants timeInForce, quantity, price and stopPrice; LIMIT_MAKER quantity and price. A
parameter a type does not take is -1106. Trailing, iceberg and pegged orders are not
simulated: asking for one is -1014, never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from adapters.exchanges.simulator.trading.errors import (
    CLIENT_ID_RANGE,
    VenueError,
    bad_symbol,
    illegal,
    invalid_value,
    mandatory,
    not_required,
    one_of_mandatory,
    unsupported,
)
from adapters.exchanges.simulator.trading.orders import LIMIT_TYPES, ORDER_TYPES, STOP_TYPES, STP_MODES
from adapters.exchanges.simulator.trading.params import Params

_CLIENT_ID = re.compile(CLIENT_ID_RANGE)
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
RESPONSE_TYPES = ("ACK", "RESULT", "FULL")
_NOT_SIMULATED = ("trailingDelta", "icebergQty", "pegPriceType", "pegOffsetValue", "pegOffsetType")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """A new order as sent, once its parameters are known to make sense together."""

    symbol: str
    side: str
    type: str
    quantity: Decimal | None = None
    quote_order_qty: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str | None = None
    client_order_id: str | None = None
    response_type: str = "ACK"
    stp_mode: str | None = None
    strategy_id: int | None = None
    strategy_type: int | None = None


def parse_order(params: Params, symbols: Collection[str]) -> OrderRequest:
    """The order ``params`` describe, or the venue's error for the first thing wrong."""
    symbol = params.text("symbol", required=True) or ""
    if symbol not in symbols:
        raise bad_symbol()
    side = params.choice("side", ("BUY", "SELL"), VenueError(-1117, "Invalid side."), required=True) or ""
    kind = params.choice("type", ORDER_TYPES, VenueError(-1116, "Invalid orderType."), required=True) or ""
    time_in_force = params.choice("timeInForce", TIME_IN_FORCE, VenueError(-1115, "Invalid timeInForce."))
    quantity = params.decimal("quantity")
    quote_order_qty = params.decimal("quoteOrderQty")
    price = params.decimal("price")
    stop_price = params.decimal("stopPrice")
    client_order_id = client_id(params, "newClientOrderId")
    response_type = params.choice("newOrderRespType", RESPONSE_TYPES, invalid_value("newOrderRespType"))
    stp_mode = params.choice("selfTradePreventionMode", STP_MODES, invalid_value("selfTradePreventionMode"))
    strategy_id = params.integer("strategyId")
    strategy_type = params.integer("strategyType")
    if strategy_type is not None and strategy_type < 1_000_000:
        raise VenueError(-1134, "strategyType was less than 1000000.")
    for name in _NOT_SIMULATED:
        if params.text(name) is not None:
            raise unsupported()

    wants = _wanted(kind)
    for name, value in (
        ("timeInForce", time_in_force),
        ("price", price),
        ("stopPrice", stop_price),
        ("quoteOrderQty", quote_order_qty),
    ):
        if value is not None and name not in wants:
            raise not_required(name)
    if kind == "MARKET":
        if quantity is None and quote_order_qty is None:
            raise one_of_mandatory("quantity", "quoteOrderQty")
        if quantity is not None and quote_order_qty is not None:
            raise not_required("quoteOrderQty")
    elif quantity is None:
        raise mandatory("quantity")
    if "timeInForce" in wants and time_in_force is None:
        raise mandatory("timeInForce")
    if kind in LIMIT_TYPES and price is None:
        raise mandatory("price")
    if kind in STOP_TYPES and stop_price is None:
        raise mandatory("stopPrice")
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=kind,
        quantity=quantity,
        quote_order_qty=quote_order_qty,
        price=price,
        stop_price=stop_price,
        time_in_force=time_in_force,
        client_order_id=client_order_id,
        response_type=response_type or ("FULL" if kind in ("MARKET", "LIMIT") else "ACK"),
        stp_mode=stp_mode,
        strategy_id=strategy_id,
        strategy_type=strategy_type,
    )


def client_id(params: Params, name: str) -> str | None:
    """A client order id parameter: 1-36 of ``[.A-Za-z:/0-9_-]``, or absent."""
    value = params.raw(name)
    if value is None:
        return None
    if value == "":
        raise VenueError(-1118 if name == "newClientOrderId" else -1119, f"Parameter '{name}' was empty.")
    if not _CLIENT_ID.fullmatch(value):
        raise illegal(name, CLIENT_ID_RANGE)
    return value


def _wanted(kind: str) -> frozenset[str]:
    """The optional parameters among timeInForce, price, stopPrice, quoteOrderQty ``kind`` takes."""
    wanted: set[str] = set()
    if kind in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        wanted.add("timeInForce")
    if kind in LIMIT_TYPES:
        wanted.add("price")
    if kind in STOP_TYPES:
        wanted.add("stopPrice")
    if kind == "MARKET":
        wanted.add("quoteOrderQty")
    return frozenset(wanted)
