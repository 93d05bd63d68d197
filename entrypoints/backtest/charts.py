"""Backtest charts as PNG files: equity with its drawdown against buy and hold, and the price with
the last trades on it.

matplotlib is used through its object API on the Agg canvas (no pyplot, no global state, no
display), imported inside the functions so importing this module does nothing. Series are
downsampled to about one point per horizontal pixel before plotting, so a year of one-minute
bars (~525k points) draws in well under a second; what a pixel column shows is kept: the
price's min and max, the equity's last value and the drawdown's deepest.

Hundreds of ▲/▼ markers over a whole run merge into one blob, so ``price.png`` shows the span
of the last ``PRICE_TRADES`` trades only (its title says so); the HTML report's interactive
chart has them all. Legends sit under the plots, never over a curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import numpy.typing as npt

from domain.orders import Fill
from domain.performance import drawdown_series
from domain.positions import PositionSide
from domain.round_trips import RoundTrip
from domain.values import OrderSide

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
EQUITY_SIZE = (1200, 700)
"""Pixels (width, height) of equity.png: a wide two-panel chart, equity over drawdown (3:1)."""
PRICE_SIZE = (1200, 600)
"""Pixels (width, height) of price.png."""
BUCKETS = 1200
"""Horizontal buckets for downsampling: one per pixel of the chart's width."""
PRICE_TRADES = 50
"""price.png shows the last this many trades (every trade of a shorter run)."""
MAX_MARKERS = 2 * PRICE_TRADES
"""Most ▲/▼ markers price.png draws: an entry and an exit per trade shown (the latest fills when
positions were scaled into)."""
BUY_COLOR = "#1a9850"
SELL_COLOR = "#d73027"
EQUITY_COLOR = "#2166ac"
HOLD_COLOR = "#e08214"

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Series: TypeAlias = Sequence[tuple[int, Decimal]]


def _arrays(series: Series) -> tuple[IntArray, FloatArray]:
    times = np.fromiter((p[0] for p in series), dtype=np.int64, count=len(series))
    values = np.fromiter((float(p[1]) for p in series), dtype=np.float64, count=len(series))
    return times, values


def _buckets(times: IntArray, buckets: int) -> tuple[IntArray, IntArray]:
    """(first index, last index) of each non-empty time bucket of the sorted ``times``."""
    span = max(int(times[-1] - times[0]), 1)
    index = np.minimum(((times - times[0]) / span * buckets).astype(np.int64), buckets - 1)
    changes = np.flatnonzero(np.diff(index)) + 1
    firsts = np.concatenate(([0], changes)).astype(np.int64)
    lasts = np.concatenate((changes - 1, [len(times) - 1])).astype(np.int64)
    return firsts, lasts


def downsample_last(
    times: IntArray, values: FloatArray, buckets: int = BUCKETS
) -> tuple[IntArray, FloatArray]:
    """The last point of each time bucket (short series are returned as they are)."""
    if len(times) <= 2 * buckets:
        return times, values
    _, lasts = _buckets(times, buckets)
    return times[lasts], values[lasts]


def downsample_extreme(
    times: IntArray, values: FloatArray, buckets: int = BUCKETS, *, keep: str = "both"
) -> tuple[IntArray, FloatArray]:
    """Min and max of each time bucket (``keep="max"``: the max only), so no spike is lost.

    Each bucket gives its two points at its first and last times, ordered as the bucket moved
    (min first when it rose), so the line still reads in the right direction.
    """
    if len(times) <= 2 * buckets:
        return times, values
    firsts, lasts = _buckets(times, buckets)
    highs = np.maximum.reduceat(values, firsts)
    if keep == "max":
        return times[lasts], highs
    lows = np.minimum.reduceat(values, firsts)
    rising = values[lasts] >= values[firsts]
    out_times = np.column_stack((times[firsts], times[lasts])).ravel()
    out_values = np.column_stack((np.where(rising, lows, highs), np.where(rising, highs, lows))).ravel()
    return out_times, out_values


def _dates(times: IntArray) -> npt.NDArray[np.datetime64]:
    """UTC datetimes matplotlib converts itself (its date units), exact to the nanosecond."""
    return times.astype("datetime64[ns]")


def _figure(size: tuple[int, int]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _time_axis(axes: Axes) -> None:
    from matplotlib import dates

    # matplotlib.dates ships without type hints; these two constructors are all we call there.
    locator = dates.AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    axes.grid(visible=True, alpha=0.3)


def _value_axis(axes: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    # Thousands separators for large values, no fixed decimals for small ones (30,000 / 0.00012).
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.10g}"))


def _empty(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color="gray")
    axes.set_xticks([])
    axes.set_yticks([])


def buy_and_hold(prices: Series, starting_capital: Decimal) -> list[tuple[int, Decimal]]:
    """What ``starting_capital`` put into the instrument at the first price would be worth at each
    later price (no fees, no slippage): the benchmark a strategy has to beat."""
    if not prices:
        return []
    first = prices[0][1]
    if first <= 0:
        raise ValueError(f"the first price must be positive to buy and hold, was {first}")
    units = starting_capital / first
    return [(ts, units * price) for ts, price in prices]


def _outside_legend(figure: Figure, axes: Sequence[Axes]) -> None:
    """One framed legend for ``axes``, under the plots (constrained layout makes room for it)."""
    handles = []
    labels = []
    for each in axes:
        found, names = each.get_legend_handles_labels()
        handles += found
        labels += names
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=len(handles), frameon=True)


def equity_figure(
    *,
    title: str,
    equity_curve: Series,
    starting_capital: Decimal,
    currency: str = "",
    benchmark: Series = (),
    benchmark_label: str = "Buy and hold",
) -> Figure:
    """Equity (top) with ``benchmark`` (buy and hold, named ``benchmark_label``) beside it, over
    its drawdown from the running peak as a filled area."""
    figure = _figure(EQUITY_SIZE)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    figure.suptitle(f"{title}: equity and drawdown", fontsize=13)
    unit = f" ({currency})" if currency else ""
    if equity_curve:
        times, values = _arrays(equity_curve)
        depth = drawdown_series(values, float(starting_capital)) * 100.0
        eq_times, eq_values = downsample_last(times, values)
        dd_times, dd_values = downsample_extreme(times, depth, keep="max")
        top.plot(_dates(eq_times), eq_values, color=EQUITY_COLOR, linewidth=1.2, label="Equity", zorder=3)
        if benchmark:
            hold_times, hold_values = downsample_last(*_arrays(benchmark))
            top.plot(
                _dates(hold_times),
                hold_values,
                color=HOLD_COLOR,
                linewidth=1.0,
                linestyle="-",
                alpha=0.9,
                label=benchmark_label,
                zorder=2,
            )
        top.axhline(float(starting_capital), color="gray", linestyle="--", linewidth=0.8, label="Start")
        top.set_ylabel(f"Equity{unit}")
        _value_axis(top)
        _time_axis(top)
        bottom.fill_between(
            _dates(dd_times), -dd_values, 0.0, step="post", color=SELL_COLOR, alpha=0.4, label="Drawdown"
        )
        bottom.set_ylabel("Drawdown (%)")
        bottom.set_xlabel("Time (UTC)")
        _time_axis(bottom)
        _outside_legend(figure, (top, bottom))
    else:
        _empty(top, "no equity recorded")
        _empty(bottom, "")
    return figure


def plot_equity(
    path: Path,
    *,
    title: str,
    equity_curve: Series,
    starting_capital: Decimal,
    currency: str = "",
    benchmark: Series = (),
    benchmark_label: str = "Buy and hold",
) -> Path:
    """equity.png: see ``equity_figure``."""
    figure = equity_figure(
        title=title,
        equity_curve=equity_curve,
        starting_capital=starting_capital,
        currency=currency,
        benchmark=benchmark,
        benchmark_label=benchmark_label,
    )
    figure.savefig(path, dpi=DPI, format="png")
    return path


def _markers(
    trades: Sequence[RoundTrip], fills: Sequence[Fill] | None
) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(buys, sells) as (ts_ns, price): the fills themselves when given, else each trade's entry
    and exit (a scaled-in entry then shows at its average cost)."""
    buys: set[tuple[int, float]] = set()
    sells: set[tuple[int, float]] = set()
    if fills is not None:
        for fill in fills:
            (buys if fill.side is OrderSide.BUY else sells).add((fill.ts_event, float(fill.price)))
    else:
        for trade in trades:
            long = trade.side is PositionSide.LONG
            (buys if long else sells).add((trade.entry_ts, float(trade.entry_price)))
            (sells if long else buys).add((trade.exit_ts, float(trade.exit_price)))
    return sorted(buys), sorted(sells)


@dataclass(frozen=True, slots=True)
class TradeWindow:
    """What price.png shows: the markers of the last ``shown`` of ``total`` trades, from
    ``since_ns`` (None: the whole run)."""

    buys: list[tuple[int, float]]
    sells: list[tuple[int, float]]
    shown: int
    total: int
    since_ns: int | None

    @property
    def caption(self) -> str:
        """Which trades the chart shows, for its title."""
        if self.since_ns is None:
            return f"all {self.total} trades" if self.total != 1 else "the one trade"
        return f"the last {self.shown} of {self.total} trades"


def trade_window(
    trades: Sequence[RoundTrip], fills: Sequence[Fill] | None, limit: int = PRICE_TRADES
) -> TradeWindow:
    """The last ``limit`` trades and the markers of their span (fills when given, else entries
    and exits), at most ``2 * limit`` of them, the latest kept."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, was {limit}")
    total = len(trades)
    since = min(trade.entry_ts for trade in trades[-limit:]) if total > limit else None
    buys, sells = _markers(trades[-limit:], fills)
    if since is not None:
        buys = [point for point in buys if point[0] >= since]
        sells = [point for point in sells if point[0] >= since]
    cap = 2 * limit
    if len(buys) + len(sells) > cap:
        kept = sorted([(*p, True) for p in buys] + [(*p, False) for p in sells])[-cap:]
        buys = [(ts, price) for ts, price, is_buy in kept if is_buy]
        sells = [(ts, price) for ts, price, is_buy in kept if not is_buy]
    return TradeWindow(buys, sells, min(total, limit), total, since)


def price_figure(
    *,
    title: str,
    prices: Series,
    trades: Sequence[RoundTrip],
    fills: Sequence[Fill] | None = None,
    instrument: str = "",
    limit: int = PRICE_TRADES,
) -> Figure:
    """The price line with buys (▲ green) and sells (▼ red) where they traded, over the span of
    the last ``limit`` trades (see ``trade_window``)."""
    figure = _figure(PRICE_SIZE)
    axes = figure.subplots()
    window = trade_window(trades, fills, limit)
    where = f" on {instrument}" if instrument and instrument not in title else ""
    figure.suptitle(f"{title}: price and {window.caption}{where}", fontsize=13)
    if prices:
        times, values = _arrays(prices)
        if window.since_ns is not None:
            margin = max((int(times[-1]) - window.since_ns) // 50, 1)
            keep = times >= window.since_ns - margin
            if keep.any():
                times, values = times[keep], values[keep]
        line_times, line_values = downsample_extreme(times, values)
        axes.plot(_dates(line_times), line_values, color="#4d4d4d", linewidth=0.9, label="Price")
        for points, marker, color, label in (
            (window.buys, "^", BUY_COLOR, "Buy"),
            (window.sells, "v", SELL_COLOR, "Sell"),
        ):
            if points:
                marker_times = np.array([p[0] for p in points], dtype=np.int64)
                axes.scatter(
                    _dates(marker_times),
                    [p[1] for p in points],
                    marker=marker,
                    s=60,
                    color=color,
                    edgecolors="black",
                    linewidths=0.5,
                    zorder=3,
                    label=f"{label} ({len(points)})",
                )
        axes.set_ylabel("Price")
        _value_axis(axes)
        axes.set_xlabel("Time (UTC)")
        _time_axis(axes)
        _outside_legend(figure, (axes,))
    else:
        _empty(axes, "no prices recorded")
    return figure


def plot_price(
    path: Path,
    *,
    title: str,
    prices: Series,
    trades: Sequence[RoundTrip],
    fills: Sequence[Fill] | None = None,
    instrument: str = "",
) -> Path:
    """price.png: see ``price_figure``."""
    figure = price_figure(title=title, prices=prices, trades=trades, fills=fills, instrument=instrument)
    figure.savefig(path, dpi=DPI, format="png")
    return path
