"""Orders to the venue's parameters, and the venue's order and trade payloads back.

Prices and quantities go out as exact decimal strings (``format(d, "f")``), never floats,
and come back parsed as Decimals. ``newClientOrderId`` is our client order id: a resent
order is recognised, and the venue's answers are matched to ours by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.brokers.binance.errors import MalformedPayload
from application.messages import VenueOrder
from domain.errors import InvalidValue
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId, VenueOrderId
from domain.orders import Fill, LiquiditySide, Order, OrderStatus, OrderType, TimeInForce
from domain.values import ZERO, OrderSide, non_negative, positive, to_decimal

VENUE = "BINANCE"
NS_PER_MS = 1_000_000
RESPONSE_TYPE = "FULL"
"""The answer to a new order carries its immediate fills: booked at once, whichever path
(this answer, the order-update stream, a recovery query) delivers them first."""

STATUSES: dict[str, OrderStatus] = {
    "NEW": OrderStatus.ACCEPTED,
    "PENDING_NEW": OrderStatus.ACCEPTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "PENDING_CANCEL": OrderStatus.ACCEPTED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
"""The venue's order status -> ours."""

_TYPES: dict[str, OrderType] = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP_MARKET,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
    "TAKE_PROFIT": OrderType.STOP_MARKET,
    "TAKE_PROFIT_LIMIT": OrderType.STOP_LIMIT,
}
_SIDES = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}


def instrument_id_of(symbol: str) -> InstrumentId:
    """``BTCUSDT`` -> ``BTCUSDT.BINANCE``."""
    return InstrumentId.of(symbol, VENUE)


def text(value: Decimal) -> str:
    """An exact decimal string, never in exponent notation."""
    return format(value, "f")


def venue_order_type(order: Order) -> str:
    """The venue's type for ``order``: LIMIT_MAKER for a post-only limit, STOP_LOSS(_LIMIT) for stops."""
    kind = order.effective_type
    if kind is OrderType.MARKET:
        return "MARKET"
    if kind is OrderType.LIMIT:
        return "LIMIT_MAKER" if getattr(order, "post_only", False) else "LIMIT"
    if kind is OrderType.STOP_MARKET:
        return "STOP_LOSS"
    return "STOP_LOSS_LIMIT"


def new_order_params(order: Order) -> list[tuple[str, object]]:
    """``POST /api/v3/order`` parameters for ``order`` (without recvWindow/timestamp)."""
    venue_type = venue_order_type(order)
    params: list[tuple[str, object]] = [
        ("symbol", order.instrument_id.symbol),
        ("side", order.side.name),
        ("type", venue_type),
    ]
    if venue_type in ("LIMIT", "STOP_LOSS_LIMIT"):
        params.append(("timeInForce", order.time_in_force.value))
    params.append(("quantity", text(order.quantity)))
    if venue_type in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT"):
        if order.price is None:  # the domain order guarantees it; a triggered stop-limit keeps it
            raise ValueError(f"{order.client_order_id}: a {venue_type} order needs a price")
        params.append(("price", text(order.price)))
    if venue_type in ("STOP_LOSS", "STOP_LOSS_LIMIT"):
        if order.stop_price is None:
            raise ValueError(f"{order.client_order_id}: a {venue_type} order needs a stop price")
        params.append(("stopPrice", text(order.stop_price)))
    params += [("newClientOrderId", order.client_order_id), ("newOrderRespType", RESPONSE_TYPE)]
    return params


# -- reading the venue's payloads ------------------------------------------------------------


def ms_to_ns(value: object) -> int | None:
    """A venue time (ms) as ns; None when absent or not a positive integer."""
    return value * NS_PER_MS if type(value) is int and value > 0 else None


def _decimal(payload: Mapping[str, Any], key: str, *, what: str) -> Decimal:
    try:
        return non_negative(payload.get(key, "0"), key)
    except InvalidValue:
        raise MalformedPayload(f"{what}: {key} is not a decimal", payload.get(key)) from None


def _id(value: object) -> str | None:
    if type(value) is int and value >= 0:
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueOrderState:
    """An order as a REST answer describes it (POST, GET or DELETE /api/v3/order, openOrders)."""

    symbol: str
    order_id: str
    client_order_id: str
    status: str
    side: OrderSide
    venue_type: str
    time_in_force: str
    quantity: Decimal
    executed: Decimal
    price: Decimal
    stop_price: Decimal
    ts_ns: int | None

    @property
    def our_status(self) -> OrderStatus:
        return STATUSES.get(self.status, OrderStatus.ACCEPTED)

    @property
    def order_type(self) -> OrderType:
        return _TYPES.get(self.venue_type, OrderType.LIMIT)


def parse_order(payload: object, *, client_order_id: str | None = None) -> VenueOrderState:
    """Read a REST order answer; ``client_order_id`` when the caller knows it (a DELETE answer's
    ``clientOrderId`` is the cancel's own id, ``origClientOrderId`` the order's)."""
    if not isinstance(payload, dict):
        raise MalformedPayload("an order answer must be an object", payload)
    what = "order answer"
    symbol = payload.get("symbol")
    order_id = _id(payload.get("orderId"))
    status = payload.get("status")
    side = _SIDES.get(str(payload.get("side")))
    coid = client_order_id or payload.get("origClientOrderId") or payload.get("clientOrderId")
    if not isinstance(symbol, str) or order_id is None or not isinstance(status, str) or side is None:
        raise MalformedPayload(f"{what} lacks symbol, orderId, status or side", payload)
    if not isinstance(coid, str) or not coid:
        raise MalformedPayload(f"{what} lacks clientOrderId", payload)
    ts = (
        ms_to_ns(payload.get("updateTime"))
        or ms_to_ns(payload.get("transactTime"))
        or ms_to_ns(payload.get("time"))
    )
    return VenueOrderState(
        symbol=symbol,
        order_id=order_id,
        client_order_id=coid,
        status=status,
        side=side,
        venue_type=str(payload.get("type", "LIMIT")),
        time_in_force=str(payload.get("timeInForce", "GTC")),
        quantity=_decimal(payload, "origQty", what=what),
        executed=_decimal(payload, "executedQty", what=what),
        price=_decimal(payload, "price", what=what),
        stop_price=_decimal(payload, "stopPrice", what=what),
        ts_ns=ts,
    )


def _fill(
    *,
    instrument_id: InstrumentId,
    client_order_id: str,
    venue_order_id: str,
    trade_id: str,
    side: OrderSide,
    quantity: object,
    price: object,
    fee: object,
    fee_asset: object,
    maker: bool,
    ts_event: int,
    strategy_id: StrategyId | None = None,
) -> Fill:
    asset = fee_asset if isinstance(fee_asset, str) else ""
    return Fill(
        instrument_id=instrument_id,
        client_order_id=ClientOrderId(client_order_id),
        venue_order_id=VenueOrderId(venue_order_id),
        trade_id=TradeId(trade_id),
        side=side,
        quantity=positive(quantity, "fill quantity"),
        price=positive(price, "fill price"),
        fee=to_decimal(fee if fee is not None else "0", "fill fee"),
        fee_asset=asset,
        liquidity=LiquiditySide.MAKER if maker else LiquiditySide.TAKER,
        strategy_id=strategy_id,
        ts_event=ts_event,
    )


def fills_of_response(
    payload: Mapping[str, Any], state: VenueOrderState, instrument_id: InstrumentId, fallback_ns: int
) -> list[Fill]:
    """The ``fills`` of a FULL answer to a new order: its immediate executions, taken as taker
    (a new order's immediate match takes liquidity), at the answer's ``transactTime``."""
    raw = payload.get("fills") or []
    if not isinstance(raw, list):
        raise MalformedPayload("order answer fills must be a list", raw)
    ts = state.ts_ns or fallback_ns
    fills = []
    for entry in raw:
        trade_id = _id(entry.get("tradeId")) if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or trade_id is None:
            raise MalformedPayload("an order answer fill lacks tradeId", entry)
        try:
            fills.append(
                _fill(
                    instrument_id=instrument_id,
                    client_order_id=state.client_order_id,
                    venue_order_id=state.order_id,
                    trade_id=trade_id,
                    side=state.side,
                    quantity=entry.get("qty"),
                    price=entry.get("price"),
                    fee=entry.get("commission"),
                    fee_asset=entry.get("commissionAsset"),
                    maker=False,
                    ts_event=ts,
                )
            )
        except InvalidValue as error:
            raise MalformedPayload(f"order answer fill: {error}", entry) from None
    return fills


def fill_of_trade(
    trade: object, *, client_order_id: str, instrument_id: InstrumentId, fallback_ns: int
) -> Fill:
    """One ``GET /api/v3/myTrades`` entry as a fill of ``client_order_id``."""
    if not isinstance(trade, dict):
        raise MalformedPayload("a trade must be an object", trade)
    trade_id, order_id = _id(trade.get("id")), _id(trade.get("orderId"))
    buyer = trade.get("isBuyer")
    if trade_id is None or order_id is None or not isinstance(buyer, bool):
        raise MalformedPayload("a trade lacks id, orderId or isBuyer", trade)
    try:
        return _fill(
            instrument_id=instrument_id,
            client_order_id=client_order_id,
            venue_order_id=order_id,
            trade_id=trade_id,
            side=OrderSide.BUY if buyer else OrderSide.SELL,
            quantity=trade.get("qty"),
            price=trade.get("price"),
            fee=trade.get("commission"),
            fee_asset=trade.get("commissionAsset"),
            maker=trade.get("isMaker") is True,
            ts_event=ms_to_ns(trade.get("time")) or fallback_ns,
        )
    except InvalidValue as error:
        raise MalformedPayload(f"trade: {error}", trade) from None


def venue_order(
    state: VenueOrderState,
    fills: tuple[Fill, ...],
    *,
    instrument_id: InstrumentId,
    fallback_ns: int,
    reason: str = "",
) -> VenueOrder:
    """The reconciliation answer for one order (``VenueOrder``)."""
    kind = state.order_type
    price = state.price if kind.has_price and state.price > ZERO else None
    try:
        tif = TimeInForce(state.time_in_force)
    except ValueError:
        tif = TimeInForce.GTC
    status = state.our_status
    return VenueOrder(
        client_order_id=ClientOrderId(state.client_order_id),
        venue_order_id=VenueOrderId(state.order_id),
        instrument_id=instrument_id,
        side=state.side,
        order_type=kind,
        time_in_force=tif,
        price=price,
        quantity=state.quantity,
        filled_quantity=state.executed,
        status=status,
        fills=fills,
        reason=reason or (f"{state.status.lower()} at the venue" if status.is_terminal else ""),
        ts_last=state.ts_ns or fallback_ns,
        post_only=state.venue_type == "LIMIT_MAKER",
    )
