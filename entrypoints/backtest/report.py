"""The backtest report: charts, one self-contained HTML page and result.json, in one folder.

``write_report`` writes into one directory:

- ``equity.png`` (1200×700 px, with buy and hold beside the equity) and ``price.png``
  (1200×600 px, the last trades), see ``charts``;
- ``report.html``: the metrics, parameters and trade list as tables, the equity chart embedded
  as a base64 data URI, and the interactive price chart (``report_interactive``) with plotly.js
  inlined: the one file works anywhere (mailed, attached, opened offline) and fetches nothing;
- ``result.json``: title, parameters, metrics (``PerformanceReport.as_dict``) and trades, for
  tools and for comparing runs.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from domain.orders import Fill
from domain.performance import PerformanceReport
from domain.round_trips import RoundTrip
from domain.values import plain
from entrypoints.backtest import charts
from entrypoints.backtest.formatting import (
    format_duration,
    format_money,
    format_percent,
    format_time,
    metric_rows,
)
from entrypoints.backtest.refusals import RefusalCounts
from entrypoints.backtest.report_interactive import buy_and_hold_return, figure_html, price_figure
from entrypoints.backtest.report_market import MarketSeries


@dataclass(frozen=True, slots=True)
class Table:
    """A table of text cells the report adds after the metrics; ``key`` names it in result.json."""

    caption: str
    key: str
    heads: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where ``write_report`` put each file."""

    directory: Path
    html: Path
    equity_png: Path
    price_png: Path
    result_json: Path


def write_report(
    directory: str | Path,
    *,
    title: str,
    metrics: PerformanceReport,
    equity_curve: Sequence[tuple[int, Decimal]],
    prices: Sequence[tuple[int, Decimal]],
    trades: Sequence[RoundTrip] | None = None,
    parameters: Mapping[str, str],
    fills: Sequence[Fill] | None = None,
    instrument: str = "",
    currency: str = "",
    refusals: RefusalCounts | None = None,
    market: MarketSeries | None = None,
    breakdown: Sequence[Table] = (),
    price_title: str | None = None,
) -> ReportFiles:
    """Write the report files into ``directory`` (created if missing); returns their paths.

    ``trades`` default to ``metrics.trades``. With ``fills`` price.png marks the fills; without,
    each trade's entry and exit. ``refusals`` adds what pre-trade risk refused, by reason.
    ``market`` (``report_market.market_for``) gives the interactive chart its volume and the
    strategy's indicators; without it that chart has the sampled price and the trades only.
    ``breakdown`` adds tables after the metrics (a portfolio's lines by strategy and by
    instrument). With ``instrument`` the price charts show that instrument's trades and fills
    only (a run of several instruments charts one); the trade list keeps them all, and
    ``price_title`` (default ``title``) names the price charts, the buy and hold beside the
    equity then being that instrument's.
    Existing files of the same names are replaced.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    trade_list = tuple(metrics.trades if trades is None else trades)
    charted = trade_list
    if instrument:
        charted = tuple(trade for trade in trade_list if str(trade.instrument_id) == instrument)
        fills = None if fills is None else [fill for fill in fills if str(fill.instrument_id) == instrument]
    files = ReportFiles(
        directory=target,
        html=target / "report.html",
        equity_png=target / "equity.png",
        price_png=target / "price.png",
        result_json=target / "result.json",
    )
    charts.plot_equity(
        files.equity_png,
        title=title,
        equity_curve=equity_curve,
        starting_capital=metrics.starting_capital,
        currency=currency,
        benchmark=charts.buy_and_hold(prices, metrics.starting_capital),
        benchmark_label=f"Buy and hold {instrument}" if price_title else "Buy and hold",
    )
    price_title = price_title or title
    charts.plot_price(
        files.price_png, title=price_title, prices=prices, trades=charted, fills=fills, instrument=instrument
    )
    result = {
        "title": title,
        "parameters": dict(parameters),
        "metrics": metrics.as_dict(trades=False),
        "trades": [trade.as_dict() for trade in trade_list],
    }
    if refusals is not None:
        result["risk_refusals"] = refusals.as_dict()
    for table in breakdown:
        result[table.key] = [dict(zip(table.heads, row, strict=True)) for row in table.rows]
    files.result_json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    chart = price_figure(title=price_title, trades=charted, market=market, prices=prices, currency=currency)
    page = render_html(
        title=title,
        metrics=metrics,
        trades=trade_list,
        parameters=parameters,
        equity_png=files.equity_png,
        price_png=files.price_png,
        refusals=refusals,
        price_chart=figure_html(chart),
        hold_return=buy_and_hold_return(prices),
        breakdown=breakdown,
    )
    files.html.write_text(page, encoding="utf-8")
    return files


# --- HTML -------------------------------------------------------------------------------------

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1240px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.subtitle { color: #666; margin-top: 0; }
.metrics { display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f5f5f5; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.win { color: #1a7f37; } .loss { color: #c62828; }
.note { color: #555; }
"""


def _embedded(path: Path, alt: str) -> str:
    """The PNG inlined: the page must not depend on the files beside it."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"></figure>'


def _comparison(metrics: PerformanceReport, hold_return: Decimal | None) -> str:
    if hold_return is None:
        return ""
    return (
        f'<p class="note">Buy and hold over the same span: {html.escape(format_percent(hold_return))}'
        f" (the strategy: {html.escape(format_percent(metrics.total_return))}).</p>"
    )


def _trade_rows(trades: Sequence[RoundTrip]) -> str:
    rows = []
    for number, trade in enumerate(trades, start=1):
        net = trade.net_pnl
        css = "win" if net > 0 else "loss" if net < 0 else ""
        cells = [
            str(number),
            html.escape(str(trade.instrument_id)),
            trade.side.value,
            plain(trade.quantity),
            format_time(trade.entry_ts),
            format_money(trade.entry_price),
            format_time(trade.exit_ts),
            format_money(trade.exit_price),
            format_money(trade.gross_pnl),
            format_money(trade.fees),
            f'<span class="{css}">{format_money(net)}</span>',
            format_duration(trade.holding_ns),
        ]
        rows.append("<tr>" + "".join(f'<td class="num">{c}</td>' for c in cells) + "</tr>")
    return "\n".join(rows)


def render_html(
    *,
    title: str,
    metrics: PerformanceReport,
    trades: Sequence[RoundTrip],
    parameters: Mapping[str, str],
    equity_png: Path,
    price_png: Path,
    refusals: RefusalCounts | None = None,
    price_chart: str = "",
    hold_return: Decimal | None = None,
    breakdown: Sequence[Table] = (),
) -> str:
    """The report page: one file, images and scripts inlined, no external resource.

    ``price_chart`` is the interactive chart's HTML (``report_interactive.figure_html``); the
    static price.png stands in for it where scripts do not run.
    """
    esc = html.escape
    metric_tables = []
    for section, rows in metric_rows(metrics, refusals):
        body = "".join(
            f'<tr><th>{esc(label)}</th><td class="num">{esc(text)}</td></tr>' for label, text in rows
        )
        metric_tables.append(f"<table><caption>{esc(section)}</caption>{body}</table>")
    parameter_rows = "".join(
        f"<tr><th>{esc(str(name))}</th><td>{esc(str(value))}</td></tr>" for name, value in parameters.items()
    )
    heads = (
        "#",
        "Instrument",
        "Side",
        "Quantity",
        "Entry (UTC)",
        "Entry price",
        "Exit (UTC)",
        "Exit price",
        "Gross P&L",
        "Fees",
        "Net P&L",
        "Holding",
    )
    trade_table = (
        "<table><tr>"
        + "".join(f"<th>{esc(h)}</th>" for h in heads)
        + "</tr>"
        + _trade_rows(trades)
        + "</table>"
        if trades
        else "<p>No closed trades.</p>"
    )
    span = f"{format_time(metrics.start_ns)} to {format_time(metrics.end_ns)} UTC"
    extra = "".join(
        f"<h2>{esc(table.caption)}</h2><table><tr>"
        + "".join(f"<th>{esc(head)}</th>" for head in table.heads)
        + "</tr>"
        + "".join(
            "<tr>" + "".join(f'<td class="num">{esc(cell)}</td>' for cell in row) + "</tr>"
            for row in table.rows
        )
        + "</table>\n"
        for table in breakdown
    )
    static_price = _embedded(price_png, "Price with the last trades' buy and sell markers")
    price_section = (
        '<p class="note">Drag to zoom, double-click to zoom out, shift-drag (or the toolbar) to pan; '
        "hover a trade for its numbers.</p>\n"
        f"{price_chart}\n<noscript>{static_price}</noscript>"
        if price_chart
        else static_price
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{esc(title)}</h1>
<p class="subtitle">{esc(span)} · {esc(format_duration(metrics.duration_ns))}</p>
<h2>Metrics</h2>
<div class="metrics">
{"".join(metric_tables)}
</div>
{extra}<h2>Equity and drawdown</h2>
{_comparison(metrics, hold_return)}
{_embedded(equity_png, "Equity curve against buy and hold, with drawdown")}
<h2>Price and trades</h2>
{price_section}
<h2>Parameters</h2>
{f"<table>{parameter_rows}</table>" if parameter_rows else "<p>No parameters.</p>"}
<h2>Trades ({len(trades)})</h2>
{trade_table}
</body>
</html>
"""
