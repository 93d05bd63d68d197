"""Costs of risk and sizing: a pre-trade check per order, stops and the trading state per tick."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal

from bench.harness import Result, ns_per_call
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId
from domain.instrument import Instrument
from domain.intents import OrderIntent
from domain.orders import Fill, Order, OrderType
from domain.portfolio import Portfolio
from domain.positions import Position
from domain.risk import PositionStops, PreTradeRisk, RiskLimits, StopRules, TradingState, TradingStateMachine
from domain.sizing import FixedFraction
from domain.values import OrderSide

SUITE = "risk"
BTC = InstrumentId("BTCUSDT.BINANCE")
ETH = InstrumentId("ETHUSDT.BINANCE")
SEC = 1_000_000_000
LIMITS = RiskLimits(
    max_order_quantity=Decimal(10),
    max_order_notional=Decimal(1_000_000),
    max_position_quantity=Decimal(50),
    max_gross_exposure=Decimal(5_000_000),
    price_band_fraction=Decimal("0.05"),
    max_orders_per_window=1_000_000_000,
    window_ns=SEC,
    max_open_orders=100,
    max_data_age_ns=5 * SEC,
)


def _instrument(base: str) -> Instrument:
    return Instrument(
        id=InstrumentId(f"{base}USDT.BINANCE"),
        base=base,
        quote="USDT",
        price_tick=Decimal("0.01"),
        lot_size=Decimal("0.00001"),
    )


def _fill(iid: InstrumentId, side: OrderSide, quantity: str, price: str, n: int) -> Fill:
    return Fill(
        instrument_id=iid,
        client_order_id=ClientOrderId(f"c{n}"),
        trade_id=TradeId(f"t{n}"),
        side=side,
        quantity=Decimal(quantity),
        price=Decimal(price),
        ts_event=0,
    )


def _world() -> tuple[Portfolio, list[Order]]:
    """Two positions and three working orders: a typical small book."""
    portfolio = Portfolio(
        instruments=[_instrument("BTC"), _instrument("ETH")],
        valuation_currency="USDT",
        balances={"USDT": "1000000"},
    )
    portfolio.apply_fill(_fill(BTC, OrderSide.BUY, "1.5", "25000", 1))
    portfolio.apply_fill(_fill(ETH, OrderSide.SELL, "10", "1600", 2))
    orders = []
    for n, (iid, side, price) in enumerate(
        [(BTC, OrderSide.BUY, "24900"), (BTC, OrderSide.SELL, "25100"), (ETH, OrderSide.BUY, "1590")]
    ):
        order = Order(
            client_order_id=f"w{n}",
            instrument_id=iid,
            side=side,
            order_type=OrderType.LIMIT,
            quantity=Decimal("0.5"),
            price=Decimal(price),
            ts_init=0,
        )
        order.submit(0)
        order.accept(f"v{n}", 0)
        orders.append(order)
    return portfolio, orders


def _intent(order_type: OrderType, price: Decimal | None) -> OrderIntent:
    return OrderIntent(
        strategy_id=StrategyId("bench"),
        instrument_id=BTC,
        side=OrderSide.BUY,
        quantity=Decimal("0.25"),
        order_type=order_type,
        price=price,
        reason="bench",
        ts_event=0,
    )


def run() -> list[Result]:
    portfolio, orders = _world()
    last = Decimal("25000.00")
    market = _intent(OrderType.MARKET, None)
    limit = _intent(OrderType.LIMIT, Decimal("24990.00"))
    too_big = OrderIntent(
        strategy_id=StrategyId("bench"),
        instrument_id=BTC,
        side=OrderSide.BUY,
        quantity=Decimal(11),
        reason="b",
        ts_event=0,
    )

    def checks(intent: OrderIntent, limits: RiskLimits) -> Callable[[int], None]:
        risk = PreTradeRisk(limits)
        clock = itertools.count()  # the throttle refuses time going backwards between runs

        def loop(n: int) -> None:
            check = risk.check
            for _ in range(n):
                i = next(clock)
                check(
                    intent,
                    portfolio=portfolio,
                    open_orders=orders,
                    last_price=last,
                    last_price_ts=i,
                    now_ns=i,
                    trading_state=TradingState.ACTIVE,
                )

        return loop

    guard = TradingStateMachine(
        RiskLimits(daily_loss_limit=Decimal(5000), max_drawdown_fraction=Decimal("0.1"))
    )
    equity = Decimal("1000000.00")

    ticks = itertools.count()

    def on_equity(n: int) -> None:
        for _ in range(n):
            guard.on_equity(equity, next(ticks))

    stops = PositionStops(StopRules(stop_loss_fraction=Decimal("0.05"), trailing_fraction=Decimal("0.03")))
    position = Position(BTC)
    position.apply(_fill(BTC, OrderSide.BUY, "1.5", "25000", 3))

    def on_price(n: int) -> None:
        for _ in range(n):
            stops.on_price(position, last, 0)

    sizer = FixedFraction(Decimal("0.02"))
    btc = portfolio.instruments[BTC]

    def sizing(n: int) -> None:
        for _ in range(n):
            sizer.size(instrument=btc, price=last, equity=equity, strength=0.8)

    n = 20_000
    rows: list[tuple[str, Callable[[int], None], str]] = [
        (
            "pretrade_check_market_all_limits",
            checks(market, LIMITS),
            "approved; 2 positions, 3 working orders",
        ),
        ("pretrade_check_limit_all_limits", checks(limit, LIMITS), "approved"),
        ("pretrade_check_market_no_limits", checks(market, RiskLimits()), "approved"),
        ("pretrade_check_rejected", checks(too_big, LIMITS), "MAX_ORDER_QUANTITY"),
        ("trading_state_on_equity", on_equity, "per equity update"),
        ("stops_on_price", on_price, "per tick, no exit"),
        ("sizing_fixed_fraction", sizing, ""),
    ]
    return [Result(SUITE, name, ns_per_call(loop, n) / 1_000, "us/op", note) for name, loop, note in rows]


if __name__ == "__main__":
    for result in run():
        print(f"{result.name:<36} {result.value:8.2f} {result.unit}  {result.note}")
