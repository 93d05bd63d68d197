"""The paper broker on history without quotes or books: last-trade liquidity and bars."""

from __future__ import annotations

from decimal import Decimal

from adapters.brokers.paper import PaperBrokerConfig
from domain.market_data import Bar
from domain.orders import LiquiditySide, OrderStatus, OrderType
from domain.values import OrderSide
from tests.builders import BTCUSDT, STEP_NS, TS, make_order
from tests.unit.adapters.brokers.paper.paper_venue import PaperVenue

MINUTE = 60_000_000_000
ON = PaperBrokerConfig(last_trade_liquidity=True, taker_fee_bps=Decimal(10), maker_fee_bps=Decimal(2))


def _bar(ohlc: str, volume: str, ts: int) -> Bar:
    """``ohlc``: "open high low close"."""
    open_, high, low, close = ohlc.split()
    return Bar.create(
        instrument_id=BTCUSDT, open=open_, high=high, low=low, close=close, volume=volume,
        interval_ns=MINUTE, ts_event=ts, ts_init=ts,
    )  # fmt: skip


def _market(side: OrderSide = OrderSide.BUY, quantity: str = "2", ts: int = TS) -> object:
    return make_order(order_type=OrderType.MARKET, side=side, quantity=quantity, ts_init=ts)


def test_without_the_mode_a_market_order_with_only_trades_seen_is_rejected() -> None:
    venue = PaperVenue(PaperBrokerConfig())
    venue.trade("100.00", "0.1")
    order = venue.submit(_market())  # type: ignore[arg-type]
    assert order.status is OrderStatus.REJECTED


def test_a_market_order_fills_in_full_at_the_last_trade_price() -> None:
    venue = PaperVenue(ON)
    venue.trade("100.00", "0.1")
    order = venue.submit(_market(quantity="5"))  # type: ignore[arg-type]
    assert venue.fills() == [(Decimal(5), Decimal("100.00"))]
    assert order.status is OrderStatus.FILLED
    assert order.fills[0].liquidity is LiquiditySide.TAKER
    assert order.fills[0].fee == Decimal("0.5")  # 5 x 100 x 10 bps


def test_slippage_applies_to_last_trade_fills() -> None:
    venue = PaperVenue(PaperBrokerConfig(last_trade_liquidity=True, slippage_bps=Decimal(100)))
    venue.trade("100.00", "0.1")
    venue.submit(_market(OrderSide.SELL, "1"))  # type: ignore[arg-type]
    assert venue.fills() == [(Decimal(1), Decimal("99.00"))]


def test_a_limit_order_is_marketable_against_the_last_price_or_rests() -> None:
    venue = PaperVenue(ON)
    venue.trade("100.00", "0.1")
    taken = venue.submit(make_order(client_order_id="L-1", price="101.00", quantity="1", ts_init=TS))
    assert venue.fills(taken) == [(Decimal(1), Decimal("100.00"))]
    resting = venue.submit(make_order(client_order_id="L-2", price="99.00", quantity="1", ts_init=TS))
    assert resting.status is OrderStatus.ACCEPTED


def test_on_bars_a_market_order_fills_at_the_close_it_saw() -> None:
    venue = PaperVenue(ON)
    venue.publish(_bar("100 104 99 103", "50", TS))
    venue.submit(_market(ts=TS))  # type: ignore[arg-type]
    assert venue.fills() == [(Decimal(2), Decimal("103"))]


def test_an_order_arriving_during_a_bar_meets_its_open() -> None:
    venue = PaperVenue(PaperBrokerConfig(last_trade_liquidity=True, latency_ns=STEP_NS))
    venue.publish(_bar("100 104 99 103", "50", TS))
    order = venue.submit(_market(ts=TS))  # type: ignore[arg-type]
    assert order.status is OrderStatus.SUBMITTED  # on its way
    venue.publish(_bar("105 106 101 102", "50", TS + MINUTE))
    assert venue.fills() == [(Decimal(2), Decimal("105"))]


def test_a_resting_limit_fills_at_its_price_when_the_bar_goes_through_within_its_volume() -> None:
    venue = PaperVenue(ON)
    venue.publish(_bar("100 104 99 103", "50", TS))
    bid = venue.submit(make_order(client_order_id="B-1", price="98.00", quantity="3", ts_init=TS))
    ask = venue.submit(
        make_order(client_order_id="A-1", side=OrderSide.SELL, price="110.00", quantity="1", ts_init=TS)
    )
    venue.publish(_bar("101 109 98 100", "50", TS + MINUTE))  # touches 98: queue unknown
    assert bid.status is OrderStatus.ACCEPTED
    venue.publish(_bar("100 111 97 99", "2", TS + 2 * MINUTE))  # through both
    assert venue.fills(bid) == [(Decimal(2), Decimal("98.00"))]  # the bar's volume caps it
    assert venue.fills(ask) == [(Decimal(1), Decimal("110.00"))]
    assert bid.fills[0].liquidity is LiquiditySide.MAKER
