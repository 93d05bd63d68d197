"""What the report's charts hold: the last trades on price.png, buy and hold beside the equity,
the interactive chart's trades, indicators and volume (checked on the data, not the pixels)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from domain.identifiers import InstrumentId
from domain.indicators import SMA, sma
from domain.market_data import Bar, QuoteTick, TradeTick
from domain.performance import DAY_NS
from domain.positions import PositionSide
from domain.round_trips import RoundTrip
from entrypoints.backtest.charts import (
    MAX_MARKERS,
    PRICE_SIZE,
    PRICE_TRADES,
    buy_and_hold,
    equity_figure,
    plot_price,
    price_figure,
    trade_window,
)
from entrypoints.backtest.report_interactive import (
    LOSING,
    WINNING,
    buy_and_hold_return,
    figure_html,
    trade_segments,
)
from entrypoints.backtest.report_interactive import price_figure as interactive_figure
from entrypoints.backtest.report_market import market_series
from tests.builders import make_fill
from tests.unit.entrypoints.backtest.test_report import assert_self_contained, png_size

D = Decimal
T0 = 19_675 * DAY_NS
MINUTE = 60 * 10**9
INSTRUMENT = InstrumentId("BTCUSDT.BINANCE")


def round_trips(count: int, *, every: int = 30 * MINUTE) -> list[RoundTrip]:
    """``count`` long trades, alternately winning and losing, one every ``every``."""
    trades = []
    for i in range(count):
        entry = D(100) + D(i % 7)
        exit_ = entry + (D(2) if i % 2 == 0 else D(-1))
        trades.append(
            RoundTrip(
                instrument_id=INSTRUMENT,
                side=PositionSide.LONG,
                quantity=D(1),
                entry_ts=T0 + i * every,
                entry_price=entry,
                exit_ts=T0 + i * every + every // 2,
                exit_price=exit_,
                gross_pnl=exit_ - entry,
                fees=D("0.1"),
            )
        )
    return trades


def prices(count: int, step: int = 5 * MINUTE) -> list[tuple[int, Decimal]]:
    return [(T0 + i * step, D(100) + D(i % 13)) for i in range(count)]


def bars(closes: list[float], volume: str = "2.5") -> list[Bar]:
    return [
        Bar.create(
            instrument_id=INSTRUMENT,
            open=f"{c:.2f}",
            high=f"{c + 1:.2f}",
            low=f"{c - 1:.2f}",
            close=f"{c:.2f}",
            volume=volume,
            interval_ns=MINUTE,
            ts_event=T0 + (i + 1) * MINUTE,
            ts_init=T0 + (i + 1) * MINUTE,
        )
        for i, c in enumerate(closes)
    ]


def markers_drawn(figure: Figure) -> int:
    """How many scatter markers the figure's first axes draw."""
    return sum(
        int(np.asarray(collection.get_offsets()).shape[0]) for collection in figure.axes[0].collections
    )


# --- price.png --------------------------------------------------------------------------------


def test_a_long_run_shows_only_its_last_trades_and_says_so(tmp_path: Path) -> None:
    trades = round_trips(348)
    window = trade_window(trades, None)
    assert (window.shown, window.total) == (PRICE_TRADES, 348)
    assert window.since_ns == trades[-PRICE_TRADES].entry_ts
    assert len(window.buys) + len(window.sells) <= MAX_MARKERS
    assert window.caption == "the last 50 of 348 trades"

    figure = price_figure(title="run", prices=prices(348 * 6), trades=trades)
    drawn = markers_drawn(figure)
    assert 0 < drawn <= MAX_MARKERS
    assert figure.get_suptitle() == "run: price and the last 50 of 348 trades"
    assert figure.axes[0].get_legend() is None
    assert figure.legends
    path = plot_price(tmp_path / "price.png", title="run", prices=prices(348 * 6), trades=trades)
    assert png_size(path.read_bytes()) == PRICE_SIZE
    assert 10_000 < path.stat().st_size < 400_000


def test_a_short_run_shows_every_trade() -> None:
    trades = round_trips(7)
    window = trade_window(trades, None)
    assert window.since_ns is None
    assert window.caption == "all 7 trades"
    assert len(window.buys) == len(window.sells) == 7


@settings(max_examples=60, deadline=None)
@given(count=st.integers(0, 400), limit=st.integers(1, 80), scale=st.integers(1, 4))
def test_price_png_never_draws_more_than_its_markers(count: int, limit: int, scale: int) -> None:
    trades = round_trips(count)
    # Scaled-in positions: several fills per entry.
    fills = [
        make_fill(quantity="1", price="100", trade_id=f"T-{i}-{k}", ts_event=trade.entry_ts + k)
        for i, trade in enumerate(trades)
        for k in range(scale)
    ]
    window = trade_window(trades, fills, limit)
    assert len(window.buys) + len(window.sells) <= 2 * limit
    assert window.shown == min(count, limit)
    if window.since_ns is not None:
        assert all(ts >= window.since_ns for ts, _ in window.buys + window.sells)


# --- equity.png -------------------------------------------------------------------------------


def test_buy_and_hold_is_the_capital_riding_the_price() -> None:
    series = [(T0, D(100)), (T0 + DAY_NS, D(110)), (T0 + 2 * DAY_NS, D(95))]
    assert buy_and_hold(series, D(1000)) == [(T0, D(1000)), (T0 + DAY_NS, D(1100)), (T0 + 2 * DAY_NS, D(950))]
    assert buy_and_hold([], D(1000)) == []
    assert buy_and_hold_return(series) == D("-0.05")


def test_the_equity_chart_draws_buy_and_hold_beside_the_equity() -> None:
    equity = [(T0 + i * DAY_NS, D(1000) + D(i)) for i in range(10)]
    benchmark = buy_and_hold([(T0 + i * DAY_NS, D(100) + D(i * 2)) for i in range(10)], D(1000))
    figure = equity_figure(title="run", equity_curve=equity, starting_capital=D(1000), benchmark=benchmark)
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert set(lines) >= {"Equity", "Buy and hold"}
    assert np.asarray(lines["Buy and hold"].get_ydata()).tolist() == [float(value) for _, value in benchmark]
    assert figure.axes[0].get_legend() is None
    assert figure.legends
    assert figure.legends[0].get_frame_on()


# --- interactive chart ------------------------------------------------------------------------


def test_trade_segments_join_each_entry_to_its_exit_by_outcome() -> None:
    trades = round_trips(4)
    xs, ys, texts = trade_segments(trades, winners=True)
    assert xs == [
        trades[0].entry_ts / 1e6,
        trades[0].exit_ts / 1e6,
        None,
        trades[2].entry_ts / 1e6,
        trades[2].exit_ts / 1e6,
        None,
    ]
    assert ys == [100.0, 102.0, None, 102.0, 104.0, None]
    assert texts[0] is not None
    assert texts[0].startswith("Trade 1 (long 1)")
    losers = trade_segments(trades, winners=False)[0]
    assert len(losers) == 6


def test_market_series_buckets_keep_range_volume_and_the_strategys_indicators() -> None:
    closes = [100 + 10 * np.sin(i / 20) for i in range(1_000)]
    series = market_series(
        bars(closes),
        strategy="sma_crossover",
        params={"fast": "5", "slow": "20", "source": "bar"},
        start_ns=T0 + MINUTE,
        end_ns=T0 + 1_000 * MINUTE,
        points=100,
    )
    assert series.events == 1_000
    assert len(series.times) == 100
    assert series.volumes.sum() == 2.5 * 1_000
    assert series.highs.max() == max(float(f"{c:.2f}") for c in closes) + 1
    # Each bucket holds the indicator's value at its last bar, as the domain's SMA computes it.
    exact = np.array([float(f"{c:.2f}") for c in closes])
    ends = (series.times - T0) // MINUTE - 1
    names = [line.name for line in series.indicators]
    assert names == ["SMA(5)", "SMA(20)"]
    np.testing.assert_allclose(series.indicators[0].values, sma(exact, 5)[ends], rtol=1e-12)
    np.testing.assert_allclose(series.indicators[1].values, sma(exact, 20)[ends], rtol=1e-12)


def test_indicators_follow_the_strategys_source_and_kind() -> None:
    closes = [100 + 5 * np.sin(i / 9) for i in range(300)]
    span = {"start_ns": T0, "end_ns": T0 + 301 * MINUTE}
    # A strategy reading trades draws no indicator from bars (it never saw them).
    on_trades = market_series(bars(closes), strategy="sma_crossover", params={"source": "trade"}, **span)
    assert all(np.isnan(line.values).all() for line in on_trades.indicators)
    bands = market_series(bars(closes), strategy="bollinger_breakout", params={"source": "bar"}, **span)
    assert [line.name.split()[0] for line in bands.indicators] == ["Upper", "Middle", "Lower"]
    rsi = market_series(bars(closes), strategy="rsi_mean_reversion", params={"source": "bar"}, **span)
    assert [(line.overlay, line.levels) for line in rsi.indicators] == [(False, (30.0, 70.0))]
    unknown = market_series(bars(closes), strategy="nope", params={}, **span)
    assert unknown.indicators == ()


@settings(max_examples=40, deadline=None)
@given(count=st.integers(1, 600), points=st.integers(1, 200))
def test_buckets_are_bounded_and_conserve_the_volume(count: int, points: int) -> None:
    series = market_series(
        bars([100.0 + i % 17 for i in range(count)], volume="1.5"),
        strategy="sma_crossover",
        params={"source": "bar"},
        start_ns=T0 + MINUTE,
        end_ns=T0 + count * MINUTE,
        points=points,
    )
    assert 1 <= len(series.times) <= points
    assert series.volumes.sum() == 1.5 * count
    assert np.all(np.diff(series.times) > 0)
    assert all(len(line.values) == len(series.times) for line in series.indicators)


def _reference_buckets(
    events: list[TradeTick | QuoteTick], *, start_ns: int, end_ns: int, points: int, fast: int
) -> list[tuple[float, ...]]:
    """Each bucket's (last time, first, high, low, last, volume, SMA at its end), event by event."""
    width = max(1, -(-(end_ns - start_ns + 1) // points))
    average = SMA(fast)
    rows: list[list[float]] = []
    current = -1
    for event in events:
        if isinstance(event, TradeTick):
            price, volume = float(event.price), float(event.size)
        else:
            price, volume = float((event.bid_price + event.ask_price) / 2), 0.0
        bucket = min(max(event.ts_event - start_ns, 0) // width, points - 1)
        if bucket != current:
            if rows:
                rows[-1].append(average.value)
            rows.append([event.ts_event, price, price, price, price, volume])
            current = bucket
        else:
            row = rows[-1]
            row[0], row[2], row[3], row[4] = event.ts_event, max(row[2], price), min(row[3], price), price
            row[5] += volume
        if isinstance(event, TradeTick):
            average.update(price)
    rows[-1].append(average.value)
    return [tuple(row) for row in rows]


@settings(max_examples=60, deadline=None)
@given(
    moves=st.lists(
        st.tuples(st.integers(0, 3), st.integers(-50, 50), st.integers(1, 999), st.booleans()),
        min_size=1,
        max_size=300,
    ),
    points=st.integers(1, 40),
)
def test_trade_and_quote_buckets_are_those_of_each_event_taken_in_turn(
    moves: list[tuple[int, int, int, bool]], points: int
) -> None:
    events: list[TradeTick | QuoteTick] = []
    ts, price = T0, 10_000
    for gap, change, size, quote in moves:
        ts += gap * MINUTE
        price = max(1, price + change)
        if quote:
            events.append(
                QuoteTick.create(
                    instrument_id=INSTRUMENT,
                    bid_price=D(price) / 100,
                    bid_size=D(size),
                    ask_price=D(price + 3) / 100,
                    ask_size=D(size),
                    ts_event=ts,
                    ts_init=ts,
                )
            )
        else:
            events.append(
                TradeTick.create(
                    instrument_id=INSTRUMENT,
                    price=D(price) / 100,
                    size=D(size) / 1000,
                    trade_id=str(len(events)),
                    ts_event=ts,
                    ts_init=ts,
                )
            )
    span = {"start_ns": T0, "end_ns": ts, "points": points}
    series = market_series(events, strategy="sma_crossover", params={"fast": "3", "slow": "5"}, **span)
    expected = _reference_buckets(events, fast=3, **span)
    got = zip(
        series.times.tolist(),
        series.opens.tolist(),
        series.highs.tolist(),
        series.lows.tolist(),
        series.closes.tolist(),
        series.volumes.tolist(),
        series.indicators[0].values.tolist(),
        strict=True,
    )
    assert series.events == len(events)
    assert [tuple(np.nan_to_num(row, nan=-1.0)) for row in got] == [
        tuple(np.nan_to_num(row, nan=-1.0)) for row in expected
    ]


def test_the_interactive_chart_has_trades_indicators_and_volume_in_one_page() -> None:
    closes = [100 + 10 * np.sin(i / 20) for i in range(500)]
    market = market_series(
        bars(closes),
        strategy="sma_crossover",
        params={"fast": "5", "slow": "20", "source": "bar"},
        start_ns=T0,
        end_ns=T0 + 501 * MINUTE,
    )
    trades = round_trips(6, every=60 * MINUTE)
    figure = interactive_figure(title="run", trades=trades, market=market, currency="USDT")
    names = [trace.name for trace in figure.data]
    assert {"Price", "SMA(5)", "SMA(20)", "Volume", f"{WINNING} (3)", f"{LOSING} (3)"} <= set(names)
    winning = next(trace for trace in figure.data if trace.name == f"{WINNING} (3)")
    assert len(winning.x) == 9  # three segments, each ended by a gap

    page = figure_html(figure)
    assert_self_contained(page)
    call = re.search(r'Plotly\.newPlot\(\s*"price-chart",\s*(\[.*?\]),\s*\{', page, re.S)
    assert call is not None
    traces = json.loads(call.group(1))
    assert {trace["name"] for trace in traces} >= {"SMA(5)", "SMA(20)", "Volume", f"{WINNING} (3)"}


def test_without_the_market_the_chart_has_the_sampled_price_and_the_trades() -> None:
    figure = interactive_figure(title="run", trades=round_trips(2), market=None, prices=prices(50))
    assert [trace.name for trace in figure.data] == ["Price (sampled)", f"{WINNING} (1)", f"{LOSING} (1)"]
