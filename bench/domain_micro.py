"""Per-event costs of the domain core: market data, orders and fills, positions."""

from __future__ import annotations

from decimal import Decimal

from bench.harness import Result, ns_per_call
from domain.identifiers import ClientOrderId, InstrumentId, TradeId
from domain.indicators import SMA
from domain.market_data import BookDelta, BookSnapshot, TradeTick
from domain.order_book import OrderBook
from domain.orders import Fill, Order, OrderType
from domain.positions import Position
from domain.strategies import SmaCrossover
from domain.values import AggressorSide, OrderSide

SUITE = "domain"
BTC = InstrumentId("BTCUSDT.BINANCE")


def run() -> list[Result]:
    price, size = Decimal("25123.45"), Decimal("0.012")

    def trade_create(n: int) -> None:
        for i in range(n):
            TradeTick.create(
                instrument_id=BTC,
                price="25123.45",
                size="0.012",
                aggressor=AggressorSide.BUYER,
                trade_id="1",
                ts_event=i,
                ts_init=i,
            )

    def trade_raw(n: int) -> None:
        for i in range(n):
            TradeTick(BTC, price, size, AggressorSide.BUYER, "1", i, i)

    def order_lifecycle(n: int) -> None:
        for i in range(n):
            order = Order(
                client_order_id=f"o{i}",
                instrument_id=BTC,
                side=OrderSide.BUY,
                order_type=OrderType.MARKET,
                quantity=size,
                ts_init=i,
            )
            order.submit(i)
            order.accept("v1", i)
            order.fill(
                Fill(
                    instrument_id=BTC,
                    client_order_id=order.client_order_id,
                    trade_id=TradeId("t1"),
                    side=OrderSide.BUY,
                    quantity=size,
                    price=price,
                    ts_event=i,
                )
            )

    fills = [
        Fill(
            instrument_id=BTC,
            client_order_id=ClientOrderId("c"),
            trade_id=TradeId(str(i)),
            side=OrderSide.BUY if i % 3 else OrderSide.SELL,
            quantity=size,
            price=price + i % 7,
            fee=Decimal("0.01"),
            ts_event=i,
        )
        for i in range(1000)
    ]

    def position_apply(n: int) -> None:
        position = Position(BTC)
        for i in range(n):
            position.apply(fills[i % 1000])

    def sma_update(n: int) -> None:
        sma = SMA(20)
        for i in range(n):
            sma.update(25000.0 + (i % 13))

    book = OrderBook(BTC)
    book.apply_snapshot(
        BookSnapshot.create(
            instrument_id=BTC,
            bids=[(str(20000 - i), "1.5") for i in range(1000)],
            asks=[(str(20001 + i), "1.5") for i in range(1000)],
            sequence=1,
            ts_event=0,
            ts_init=0,
        )
    )
    deltas = [
        BookDelta(BTC, ((Decimal(20000 - i % 50), Decimal(1 + i % 3)),), (), i + 2, i + 2, 0, 0)
        for i in range(100_000)
    ]

    def book_delta(n: int) -> None:
        apply = book.apply_delta
        for i in range(n):
            apply(deltas[i])

    ticks = [
        TradeTick(BTC, Decimal(25000) + Decimal(i % 17) / 4, size, AggressorSide.BUYER, "1", i, i)
        for i in range(100_000)
    ]

    def strategy_on_trade(n: int) -> None:
        strategy = SmaCrossover(strategy_id="s", instrument_ids=[BTC], params={"fast": 10, "slow": 30})
        for i in range(n):
            strategy.on_trade(ticks[i])

    return [
        Result(SUITE, "SMA(20).update", ns_per_call(sma_update, 100_000), "ns/op"),
        Result(
            SUITE,
            "OrderBook.apply_delta (1 level, 1000-level book)",
            ns_per_call(book_delta, 100_000, repeat=1),
            "ns/op",
        ),
        Result(SUITE, "SmaCrossover.on_trade", ns_per_call(strategy_on_trade, 100_000), "ns/op"),
        Result(SUITE, "TradeTick.create (validated)", ns_per_call(trade_create, 100_000), "ns/op"),
        Result(SUITE, "TradeTick (trusted constructor)", ns_per_call(trade_raw, 100_000), "ns/op"),
        Result(SUITE, "order create+submit+accept+fill", ns_per_call(order_lifecycle, 20_000), "ns/op"),
        Result(SUITE, "Position.apply(fill)", ns_per_call(position_apply, 100_000), "ns/op"),
    ]
