"""The report's interactive price chart (plotly): zoom and pan over the whole run, every trade.

Each trade is a segment from its entry to its exit, green when it made money after fees and
red otherwise, with its numbers on hover; the strategy's indicators are drawn over the price
(or in a panel of their own for an oscillator) and the volume under it. plotly.js is embedded
in the page from the installed package, so the report opens offline and fetches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from domain.positions import PositionSide
from domain.round_trips import RoundTrip
from entrypoints.backtest.charts import SELL_COLOR, Series
from entrypoints.backtest.formatting import format_duration, format_money, format_time
from entrypoints.backtest.report_market import FloatArray, IntArray, MarketSeries

if TYPE_CHECKING:
    from plotly.graph_objects import Figure  # type: ignore[import-untyped]  # plotly ships no type hints

WIN_COLOR = "#1a9850"
LOSS_COLOR = SELL_COLOR
INDICATOR_COLORS = ("#2166ac", "#e08214", "#7b3294", "#01665e")
CHART_ID = "price-chart"
WINNING = "Winning trades"
LOSING = "Losing trades"


def _ms(times: IntArray) -> FloatArray:
    """Nanoseconds as milliseconds since the epoch: what a plotly date axis reads."""
    return times.astype(np.float64) / 1e6


def _trade_text(number: int, trade: RoundTrip, currency: str) -> str:
    unit = f" {currency}" if currency else ""
    side = "long" if trade.side is PositionSide.LONG else "short"
    return (
        f"Trade {number} ({side} {trade.quantity})<br>"
        f"{format_time(trade.entry_ts)} → {format_time(trade.exit_ts)}"
        f" ({format_duration(trade.holding_ns)})<br>"
        f"{format_money(trade.entry_price)} → {format_money(trade.exit_price)}<br>"
        f"net {format_money(trade.net_pnl)}{unit} (fees {format_money(trade.fees)})"
    )


def trade_segments(
    trades: Sequence[RoundTrip], *, winners: bool, currency: str = ""
) -> tuple[list[float | None], list[float | None], list[str | None]]:
    """(x in ms, price, hover text) of the winning (net P&L > 0) or the other trades, entry then
    exit, with a gap (None) between trades so each is its own segment."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    texts: list[str | None] = []
    for number, trade in enumerate(trades, start=1):
        if (trade.net_pnl > 0) is not winners:
            continue
        text = _trade_text(number, trade, currency)
        xs += [trade.entry_ts / 1e6, trade.exit_ts / 1e6, None]
        ys += [float(trade.entry_price), float(trade.exit_price), None]
        texts += [text, text, None]
    return xs, ys, texts


def price_figure(
    *,
    title: str,
    trades: Sequence[RoundTrip],
    market: MarketSeries | None,
    prices: Series = (),
    currency: str = "",
) -> Figure:
    """The figure: price (with its high–low range and the indicators), trades, volume.

    Without ``market`` the price is the replay's sampled one and there is no volume and no
    indicator.
    """
    from plotly.subplots import make_subplots  # type: ignore[import-untyped]

    oscillators = [line for line in market.indicators if not line.overlay] if market else []
    rows = 2 + (1 if oscillators else 0) if market is not None else 1
    heights = [0.62, 0.16, 0.22][:rows] if rows == 3 else [0.78, 0.22][:rows] if rows == 2 else [1.0]
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=heights)
    if market is not None and len(market.times):
        x = _ms(market.times)
        figure.add_scatter(
            x=x,
            y=market.lows,
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
            name="Low",
            row=1,
            col=1,
        )
        figure.add_scatter(
            x=x,
            y=market.highs,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(120,120,120,0.18)",
            hoverinfo="skip",
            name="High–low range",
            row=1,
            col=1,
        )
        figure.add_scatter(
            x=x,
            y=market.closes,
            mode="lines",
            line={"color": "#4d4d4d", "width": 1},
            name="Price",
            row=1,
            col=1,
        )
        colors = iter(INDICATOR_COLORS * 4)
        for line in market.indicators:
            row = 1 if line.overlay else 3
            figure.add_scatter(
                x=x,
                y=line.values,
                mode="lines",
                line={"color": next(colors), "width": 1.3},
                name=line.name,
                row=row,
                col=1,
            )
            for level in line.levels:
                figure.add_hline(y=level, line={"color": "gray", "dash": "dot", "width": 1}, row=row, col=1)
        figure.add_bar(
            x=x,
            y=market.volumes,
            marker={"color": "rgba(90,90,90,0.55)", "line": {"width": 0}},
            name="Volume",
            row=2,
            col=1,
        )
        figure.update_yaxes(title_text="Volume", row=2, col=1)
        if oscillators:
            figure.update_yaxes(title_text=oscillators[0].name, row=3, col=1)
    elif prices:
        times = np.fromiter((p[0] for p in prices), dtype=np.int64, count=len(prices))
        values = [float(p[1]) for p in prices]
        figure.add_scatter(
            x=_ms(times),
            y=values,
            mode="lines",
            line={"color": "#4d4d4d", "width": 1},
            name="Price (sampled)",
            row=1,
            col=1,
        )
    for winners, name, color in ((True, WINNING, WIN_COLOR), (False, LOSING, LOSS_COLOR)):
        xs, ys, texts = trade_segments(trades, winners=winners, currency=currency)
        count = len(xs) // 3
        figure.add_scatter(
            x=xs,
            y=ys,
            hovertext=texts,
            hoverinfo="text",
            mode="lines+markers",
            line={"color": color, "width": 2.5},
            marker={"color": color, "size": 6},
            name=f"{name} ({count})",
            connectgaps=False,
            row=1,
            col=1,
        )
    figure.update_xaxes(type="date", showgrid=True)
    figure.update_xaxes(title_text="Time (UTC)", row=rows, col=1)
    figure.update_yaxes(
        title_text=f"Price ({currency})" if currency else "Price", tickformat=",", row=1, col=1
    )
    figure.update_layout(
        title={"text": f"{title}: price and trades"},
        template="plotly_white",
        height=760 if rows == 3 else 640,
        hovermode="closest",
        dragmode="zoom",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0},
        margin={"l": 70, "r": 30, "t": 90, "b": 50},
        bargap=0,
    )
    return figure


def figure_html(figure: Figure) -> str:
    """The figure as an HTML fragment with plotly.js inlined: one ``<script>`` from the installed
    package, nothing fetched from the network."""
    config: dict[str, Any] = {"displaylogo": False, "scrollZoom": True, "responsive": True}
    fragment: str = figure.to_html(
        full_html=False, include_plotlyjs=True, include_mathjax=False, div_id=CHART_ID, config=config
    )
    return fragment


def buy_and_hold_return(prices: Series) -> Decimal | None:
    """The instrument's own return over the run (last price over first, minus one); None without prices."""
    if not prices or prices[0][1] <= 0:
        return None
    return prices[-1][1] / prices[0][1] - 1
