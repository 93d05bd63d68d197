"""Bars built from trades by event time: OHLCV per interval, closed by the next interval's trade."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId
from domain.market_data import Bar, TradeTick
from domain.ml.bar_builder import BarBuilder
from domain.values import AggressorSide

BTC = InstrumentId("BTCUSDT.BINANCE")
SECOND = 1_000_000_000


def trade(ts: int, price: int, size: int = 1) -> TradeTick:
    return TradeTick.create(
        instrument_id=BTC,
        price=Decimal(price),
        size=Decimal(size),
        aggressor=AggressorSide.BUYER,
        trade_id=str(ts),
        ts_event=ts,
        ts_init=ts,
    )


def test_a_bar_closes_on_the_first_trade_after_its_end() -> None:
    builder = BarBuilder(BTC, 60 * SECOND)
    assert builder.on_trade(trade(5 * SECOND, 100)) is None
    assert builder.on_trade(trade(30 * SECOND, 103, 2)) is None
    assert builder.on_trade(trade(59 * SECOND, 99)) is None
    closed = builder.on_trade(trade(61 * SECOND, 101))
    assert closed == Bar(BTC, Decimal(100), Decimal(103), Decimal(99), Decimal(99), Decimal(4), 60 * SECOND,
                         60 * SECOND, 61 * SECOND)  # fmt: skip


def test_quiet_intervals_make_no_bar() -> None:
    builder = BarBuilder(BTC, 60 * SECOND)
    builder.on_trade(trade(1 * SECOND, 100))
    closed = builder.on_trade(trade(600 * SECOND, 101))
    assert closed is not None
    assert closed.ts_event == 60 * SECOND
    assert builder.on_trade(trade(659 * SECOND, 102)) is None


@pytest.mark.parametrize("interval", [0, -1, True, 1.5])
def test_a_bad_interval_is_refused(interval: object) -> None:
    with pytest.raises(InvalidParameter, match="bar_seconds"):
        BarBuilder(BTC, interval)  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.integers(0, 5 * SECOND), st.integers(1, 1000), st.integers(1, 9)), max_size=80))
def test_bars_are_the_trades_grouped_by_interval(steps: list[tuple[int, int, int]]) -> None:
    interval = SECOND
    builder = BarBuilder(BTC, interval)
    ts = 0
    trades = []
    bars = []
    for gap, price, size in steps:
        ts += gap
        tick = trade(ts, price, size)
        trades.append(tick)
        closed = builder.on_trade(tick)
        if closed is not None:
            bars.append(closed)
    groups: dict[int, list[TradeTick]] = {}
    for tick in trades:
        groups.setdefault(tick.ts_event // interval, []).append(tick)
    expected = [
        Bar(BTC, g[0].price, max(t.price for t in g), min(t.price for t in g), g[-1].price,
            sum((t.size for t in g), Decimal(0)), interval, (key + 1) * interval, 0)
        for key, g in sorted(groups.items())
    ][:-1]  # the last bar is still open  # fmt: skip
    assert [bar._replace(ts_init=0) for bar in bars] == expected
