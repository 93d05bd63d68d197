"""Deterministic builders for domain objects: fixed ids, timestamps and instrument rules.

Every builder takes keyword overrides and otherwise returns the same object on every call,
so a test states only what matters to it. Decimal inputs may be given as strings.
"""

from __future__ import annotations

from decimal import Decimal

from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId, VenueOrderId
from domain.instrument import Instrument, InstrumentRegistry
from domain.intents import OrderIntent
from domain.orders import Fill, LiquiditySide, Order, OrderStatus, OrderType, TimeInForce
from domain.portfolio import Portfolio
from domain.signals import Signal
from domain.values import OrderSide

TS = 1_700_000_000_000_000_000
"""A fixed event time: 2023-11-14T22:13:20Z in nanoseconds."""
STEP_NS = 1_000_000
"""One millisecond, the gap builders put between successive events."""

VENUE = "BINANCE"
BTCUSDT = InstrumentId("BTCUSDT.BINANCE")
ETHUSDT = InstrumentId("ETHUSDT.BINANCE")
SOLUSDT = InstrumentId("SOLUSDT.BINANCE")
STRATEGY = StrategyId("test-strategy")
CLIENT_ORDER_ID = ClientOrderId("O-1")
VENUE_ORDER_ID = VenueOrderId("V-1")
TRADE_ID = TradeId("T-1")


def make_instrument(
    *,
    base: str = "BTC",
    quote: str = "USDT",
    venue: str = VENUE,
    instrument_id: str | None = None,
    price_tick: object = "0.01",
    lot_size: object = "0.00001",
    min_quantity: object = "0",
    min_notional: object = "0",
) -> Instrument:
    """A spot instrument ``{base}{quote}.{venue}``; BTCUSDT on Binance rules by default."""
    return Instrument(
        id=InstrumentId(instrument_id or f"{base}{quote}.{venue}"),
        base=base,
        quote=quote,
        price_tick=price_tick,  # type: ignore[arg-type]  # validated and parsed by Instrument
        lot_size=lot_size,  # type: ignore[arg-type]
        min_quantity=min_quantity,  # type: ignore[arg-type]
        min_notional=min_notional,  # type: ignore[arg-type]
    )


def make_registry(*instruments: Instrument) -> InstrumentRegistry:
    """A registry of ``instruments`` (BTCUSDT and ETHUSDT when none are given)."""
    return InstrumentRegistry(instruments or (make_instrument(), make_instrument(base="ETH")))


def make_order(
    *,
    client_order_id: str = CLIENT_ORDER_ID,
    instrument_id: str = BTCUSDT,
    side: OrderSide = OrderSide.BUY,
    order_type: OrderType = OrderType.LIMIT,
    quantity: object = "1",
    price: object | None = None,
    stop_price: object | None = None,
    time_in_force: TimeInForce = TimeInForce.GTC,
    strategy_id: StrategyId | None = STRATEGY,
    reduce_only: bool = False,
    ts_init: int = TS,
) -> Order:
    """A new (INITIALIZED) order; limit types get price 100, stop types stop price 105."""
    if price is None and order_type.has_price:
        price = "100"
    if stop_price is None and order_type.has_stop:
        stop_price = "105"
    return Order(
        client_order_id=client_order_id,
        instrument_id=instrument_id,  # type: ignore[arg-type]  # Order validates the id itself
        side=side,
        order_type=order_type,
        quantity=quantity,
        price=price,
        stop_price=stop_price,
        time_in_force=time_in_force,
        strategy_id=strategy_id,
        reduce_only=reduce_only,
        ts_init=ts_init,
    )


def make_fill(
    *,
    instrument_id: str = BTCUSDT,
    client_order_id: str = CLIENT_ORDER_ID,
    venue_order_id: str | None = None,
    trade_id: str = TRADE_ID,
    side: OrderSide = OrderSide.BUY,
    quantity: object = "1",
    price: object = "100",
    fee: object = "0",
    liquidity: LiquiditySide = LiquiditySide.TAKER,
    strategy_id: StrategyId | None = STRATEGY,
    ts_event: int = TS + STEP_NS,
) -> Fill:
    """One execution; a 1 BTC buy at 100 with no fee by default."""
    return Fill(
        instrument_id=InstrumentId(instrument_id),
        client_order_id=ClientOrderId(client_order_id),
        venue_order_id=VenueOrderId(venue_order_id) if venue_order_id is not None else None,
        trade_id=TradeId(trade_id),
        side=side,
        quantity=quantity,  # type: ignore[arg-type]  # validated and parsed by Fill
        price=price,  # type: ignore[arg-type]
        fee=fee,  # type: ignore[arg-type]
        liquidity=liquidity,
        strategy_id=strategy_id,
        ts_event=ts_event,
    )


def make_fill_for(
    order: Order,
    *,
    quantity: object | None = None,
    price: object | None = None,
    trade_id: str | None = None,
    fee: object = "0",
    venue_order_id: str | None = None,
    ts_event: int | None = None,
) -> Fill:
    """A fill matching ``order`` (ids, instrument, side) for its leaves quantity by default.

    The trade id defaults to ``T-{n}`` with n the number of fills the order already has, so
    successive calls give distinct ids.
    """
    return make_fill(
        instrument_id=order.instrument_id,
        client_order_id=order.client_order_id,
        venue_order_id=venue_order_id,
        trade_id=trade_id if trade_id is not None else f"T-{len(order.fills) + 1}",
        side=order.side,
        quantity=quantity if quantity is not None else order.quantity - order.filled_quantity,
        price=price if price is not None else (order.price or Decimal(100)),
        fee=fee,
        ts_event=ts_event if ts_event is not None else order.ts_last + STEP_NS,
    )


def make_order_in(status: OrderStatus, **overrides: object) -> Order:
    """An order driven to ``status`` through legal moves only (quantity 1 unless overridden).

    PARTIALLY_FILLED and CANCEL_PENDING orders have a venue order id; a partially filled
    order has half its quantity filled.
    """
    order = make_order(**overrides)  # type: ignore[arg-type]
    if status is OrderStatus.INITIALIZED:
        return order
    ts = order.ts_init
    if status is OrderStatus.REJECTED:
        order.submit(ts + STEP_NS)
        order.reject("venue refused", ts + 2 * STEP_NS)
        return order
    order.submit(ts + STEP_NS)
    if status is OrderStatus.SUBMITTED:
        return order
    order.accept(VENUE_ORDER_ID, ts + 2 * STEP_NS)
    if status is OrderStatus.PARTIALLY_FILLED:
        order.fill(make_fill_for(order, quantity=order.quantity / 2))
    elif status is OrderStatus.FILLED:
        order.fill(make_fill_for(order))
    elif status is OrderStatus.CANCEL_PENDING:
        order.request_cancel(ts + 3 * STEP_NS)
    elif status is OrderStatus.CANCELED:
        order.cancel(ts + 3 * STEP_NS)
    elif status is OrderStatus.EXPIRED:
        order.expire(ts + 3 * STEP_NS)
    assert order.status is status, f"builder could not reach {status}"
    return order


def make_portfolio(
    *instruments: Instrument,
    valuation_currency: str = "USDT",
    balances: dict[str, object] | None = None,
) -> Portfolio:
    """A portfolio over ``instruments`` (BTCUSDT and ETHUSDT by default), 10 000 USDT cash."""
    return Portfolio(
        instruments=make_registry(*instruments),
        valuation_currency=valuation_currency,
        balances={"USDT": "10000"} if balances is None else balances,
    )


def make_signal(
    *,
    strategy_id: StrategyId = STRATEGY,
    instrument_id: str = BTCUSDT,
    side: OrderSide | None = OrderSide.BUY,
    target_position: object | None = None,
    strength: float = 1.0,
    reason: str = "fast SMA crossed above slow SMA",
    ts_event: int = TS,
) -> Signal:
    """A buy signal at full strength; pass ``side=None, target_position=...`` for a target."""
    return Signal(
        strategy_id=strategy_id,
        instrument_id=InstrumentId(instrument_id),
        side=side,
        target_position=target_position,  # type: ignore[arg-type]  # validated by Signal
        strength=strength,
        reason=reason,
        ts_event=ts_event,
    )


def make_intent(
    *,
    strategy_id: StrategyId = STRATEGY,
    instrument_id: str = BTCUSDT,
    side: OrderSide = OrderSide.BUY,
    quantity: object = "1",
    order_type: OrderType = OrderType.MARKET,
    price: object | None = None,
    stop_price: object | None = None,
    time_in_force: TimeInForce = TimeInForce.GTC,
    reduce_only: bool = False,
    reason: str = "signal",
    ts_event: int = TS,
) -> OrderIntent:
    """A market buy of 1; limit types get price 100, stop types stop price 105."""
    if price is None and order_type.has_price:
        price = "100"
    if stop_price is None and order_type.has_stop:
        stop_price = "105"
    return OrderIntent(
        strategy_id=strategy_id,
        instrument_id=InstrumentId(instrument_id),
        side=side,
        quantity=quantity,  # type: ignore[arg-type]  # validated and parsed by OrderIntent
        order_type=order_type,
        price=price,  # type: ignore[arg-type]
        stop_price=stop_price,  # type: ignore[arg-type]
        time_in_force=time_in_force,
        reduce_only=reduce_only,
        reason=reason,
        ts_event=ts_event,
    )
