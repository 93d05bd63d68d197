"""Backtest charts as PNG files: equity with its drawdown, and price with the trades on it.

matplotlib is used through its object API on the Agg canvas (no pyplot, no global state, no
display), imported inside the functions so importing this module does nothing. Series are
downsampled to about one point per horizontal pixel before plotting, so a year of one-minute
bars (~525k points) draws in well under a second; what a pixel column shows is kept: the
price's min and max, the equity's last value and the drawdown's deepest.
"""

from __future__ import annotations

from collections.abc import Sequence
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
BUY_COLOR = "#1a9850"
SELL_COLOR = "#d73027"

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


def plot_equity(
    path: Path, *, title: str, equity_curve: Series, starting_capital: Decimal, currency: str = ""
) -> Path:
    """equity.png: equity (top) over its drawdown from the running peak as a filled area."""
    figure = _figure(EQUITY_SIZE)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    figure.suptitle(f"{title}: equity and drawdown", fontsize=13)
    unit = f" ({currency})" if currency else ""
    if equity_curve:
        times, values = _arrays(equity_curve)
        depth = drawdown_series(values, float(starting_capital)) * 100.0
        eq_times, eq_values = downsample_last(times, values)
        dd_times, dd_values = downsample_extreme(times, depth, keep="max")
        top.plot(_dates(eq_times), eq_values, color="#2166ac", linewidth=1.2, label="Equity")
        top.axhline(float(starting_capital), color="gray", linestyle="--", linewidth=0.8, label="Start")
        top.set_ylabel(f"Equity{unit}")
        _value_axis(top)
        top.legend(loc="upper left")
        _time_axis(top)
        bottom.fill_between(
            _dates(dd_times), -dd_values, 0.0, step="post", color=SELL_COLOR, alpha=0.4, label="Drawdown"
        )
        bottom.set_ylabel("Drawdown (%)")
        bottom.set_xlabel("Time (UTC)")
        bottom.legend(loc="lower left")
        _time_axis(bottom)
    else:
        _empty(top, "no equity recorded")
        _empty(bottom, "")
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


def plot_price(
    path: Path,
    *,
    title: str,
    prices: Series,
    trades: Sequence[RoundTrip],
    fills: Sequence[Fill] | None = None,
    instrument: str = "",
) -> Path:
    """price.png: the price line with buys (▲ green) and sells (▼ red) where they traded."""
    figure = _figure(PRICE_SIZE)
    axes = figure.subplots()
    figure.suptitle(f"{title}: price and trades" + (f" ({instrument})" if instrument else ""), fontsize=13)
    if prices:
        times, values = _arrays(prices)
        line_times, line_values = downsample_extreme(times, values)
        axes.plot(_dates(line_times), line_values, color="#4d4d4d", linewidth=0.9, label="Price")
        buys, sells = _markers(trades, fills)
        for points, marker, color, label in (
            (buys, "^", BUY_COLOR, "Buy"),
            (sells, "v", SELL_COLOR, "Sell"),
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
        axes.legend(loc="upper left")
        _time_axis(axes)
    else:
        _empty(axes, "no prices recorded")
    figure.savefig(path, dpi=DPI, format="png")
    return path
