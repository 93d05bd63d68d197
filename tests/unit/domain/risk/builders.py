"""Deterministic builders for the risk tests: instruments, a portfolio, intents, working orders."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId
from domain.instrument import Instrument
from domain.intents import OrderIntent
from domain.orders import Fill, Order, OrderType
from domain.portfolio import Portfolio
from domain.risk import PreTradeRisk, RiskDecision, TradingState
from domain.values import OrderSide

BTC = InstrumentId("BTCUSDT.BINANCE")
ETH = InstrumentId("ETHUSDT.BINANCE")
ETHBTC = InstrumentId("ETHBTC.BINANCE")
STRATEGY = StrategyId("test")
T0 = 1_700_000_000_000_000_000
"""2023-11-14T22:13:20Z."""
SEC = 1_000_000_000
BUY = OrderSide.BUY
SELL = OrderSide.SELL


def instrument(base: str = "BTC", quote: str = "USDT", **rules: str) -> Instrument:
    """A spot instrument on a 0.01 tick and 0.001 lot unless ``rules`` say otherwise."""
    return Instrument(
        id=InstrumentId(f"{base}{quote}.BINANCE"),
        base=base,
        quote=quote,
        price_tick=Decimal(rules.get("price_tick", "0.01")),
        lot_size=Decimal(rules.get("lot_size", "0.001")),
        min_quantity=Decimal(rules.get("min_quantity", "0")),
        min_notional=Decimal(rules.get("min_notional", "0")),
    )


def portfolio(*, marks: dict[InstrumentId, str] | None = None, cash: str = "100000") -> Portfolio:
    """BTCUSDT, ETHUSDT and ETHBTC, valued in USDT; BTC and ETH marked at 100 by default."""
    book = Portfolio(
        instruments=[instrument(), instrument("ETH"), instrument("ETH", "BTC")],
        valuation_currency="USDT",
        balances={"USDT": cash},
    )
    for iid, mark in (marks if marks is not None else {BTC: "100", ETH: "100"}).items():
        book.update_mark(iid, Decimal(mark))
    return book


def intent(
    side: OrderSide = BUY,
    quantity: str = "1",
    *,
    instrument_id: InstrumentId = BTC,
    order_type: OrderType = OrderType.MARKET,
    price: str | None = None,
    stop_price: str | None = None,
    reduce_only: bool = False,
) -> OrderIntent:
    return OrderIntent(
        strategy_id=STRATEGY,
        instrument_id=instrument_id,
        side=side,
        quantity=Decimal(quantity),
        order_type=order_type,
        price=Decimal(price) if price is not None else None,
        stop_price=Decimal(stop_price) if stop_price is not None else None,
        reduce_only=reduce_only,
        reason="test",
        ts_event=T0,
    )


_order_ids = iter(range(1, 10**9))


def working(
    side: OrderSide,
    quantity: str,
    *,
    instrument_id: InstrumentId = BTC,
    price: str = "100",
    filled: str = "0",
) -> Order:
    """An accepted limit order, partially filled by ``filled``."""
    n = next(_order_ids)
    order = Order(
        client_order_id=f"W-{n}",
        instrument_id=instrument_id,
        side=side,
        order_type=OrderType.LIMIT,
        quantity=Decimal(quantity),
        price=Decimal(price),
        ts_init=T0,
    )
    order.submit(T0)
    order.accept(f"V-{n}", T0)
    if Decimal(filled):
        order.fill(
            Fill(
                instrument_id=instrument_id,
                client_order_id=order.client_order_id,
                trade_id=TradeId(f"F-{n}"),
                side=side,
                quantity=Decimal(filled),
                price=Decimal(price),
                ts_event=T0,
            )
        )
    return order


def hold(
    book: Portfolio, side: OrderSide, quantity: str, price: str = "100", iid: InstrumentId = BTC
) -> None:
    """Book a fill so that the portfolio holds a position."""
    n = next(_order_ids)
    book.apply_fill(
        Fill(
            instrument_id=iid,
            client_order_id=ClientOrderId(f"H-{n}"),
            trade_id=TradeId(f"H-{n}"),
            side=side,
            quantity=Decimal(quantity),
            price=Decimal(price),
            ts_event=T0,
        )
    )


def check(
    risk: PreTradeRisk,
    order: OrderIntent,
    *,
    book: Portfolio | None = None,
    open_orders: Sequence[Order] = (),
    last_price: str | None = "100",
    last_price_ts: int | None = T0,
    now_ns: int = T0,
    state: TradingState = TradingState.ACTIVE,
    record: bool = True,
) -> RiskDecision:
    """``risk.check`` with a fresh last trade at 100 and ACTIVE trading unless told otherwise."""
    return risk.check(
        order,
        portfolio=book if book is not None else portfolio(),
        open_orders=open_orders,
        last_price=Decimal(last_price) if last_price is not None else None,
        last_price_ts=last_price_ts,
        now_ns=now_ns,
        trading_state=state,
        record=record,
    )
