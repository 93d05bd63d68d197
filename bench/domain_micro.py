"""Per-event costs of the domain core: market data, orders and fills, positions."""

from __future__ import annotations

from decimal import Decimal

from bench.harness import Result, ns_per_call
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.orders import Fill, Order, OrderType
from domain.positions import Position
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
                    trade_id="t1",
                    side=OrderSide.BUY,
                    quantity=size,
                    price=price,
                    ts_event=i,
                )
            )

    fills = [
        Fill(
            instrument_id=BTC,
            client_order_id="c",
            trade_id=str(i),
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

    return [
        Result(SUITE, "TradeTick.create (validated)", ns_per_call(trade_create, 100_000), "ns/op"),
        Result(SUITE, "TradeTick (trusted constructor)", ns_per_call(trade_raw, 100_000), "ns/op"),
        Result(SUITE, "order create+submit+accept+fill", ns_per_call(order_lifecycle, 20_000), "ns/op"),
        Result(SUITE, "Position.apply(fill)", ns_per_call(position_apply, 100_000), "ns/op"),
    ]
