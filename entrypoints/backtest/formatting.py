"""How a backtest's figures read: times, durations, money, counts, parameters, and the metrics
as a terminal table.

The HTML report, the command line and the progress display share these, so a figure reads
the same everywhere: counts with thousands separators (1,500,000), percentages with a space
before the sign (12.34 %), parameters as ``fast=10 slow=30``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.performance import NS_PER_SECOND, PerformanceReport
from domain.values import plain
from entrypoints.backtest.refusals import RefusalCounts

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOT_DEFINED = "n/a"


def format_time(ts_ns: int | None) -> str:
    """Nanoseconds since the epoch as a UTC time, "2024-01-31 12:00:00"."""
    if ts_ns is None:
        return NOT_DEFINED
    moment = EPOCH + timedelta(microseconds=ts_ns // 1000)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(ns: int | None) -> str:
    """Compact human duration: "2d 03h 04m", "5h 07m 09s", "42.5s"."""
    if ns is None:
        return NOT_DEFINED
    seconds = ns / NS_PER_SECOND
    if seconds < 60:
        return f"{seconds:.3g}s"
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    return f"{hours}h {minutes:02d}m {secs:02d}s"


def format_money(value: Decimal | None) -> str:
    """Two decimals with thousands separators from 1 up; up to 8 decimals below (sats, fees)."""
    if value is None:
        return NOT_DEFINED
    if value.copy_abs() >= 1:
        return f"{value:,.2f}"
    return plain(value.quantize(Decimal("1e-8")))


def format_count(value: int) -> str:
    """A whole number of things (events, signals, runs) with thousands separators: 1,500,000."""
    return f"{value:,}"


def format_percent(value: float | Decimal | None, places: int = 2) -> str:
    """A fraction as a percentage, "12.34 %" (0.1234), with thousands separators."""
    return NOT_DEFINED if value is None else f"{float(value) * 100:,.{places}f} %"


def format_ratio(value: float | Decimal | None) -> str:
    """A ratio (Sharpe, profit factor) with two decimals."""
    return NOT_DEFINED if value is None else f"{float(value):,.2f}"


def format_params(params: Mapping[str, object]) -> str:
    """Strategy parameters as typed on the command line: "fast=10 slow=30" ("no parameters")."""
    return " ".join(f"{name}={value}" for name, value in params.items()) or "no parameters"


PERCENT_METRICS = frozenset(
    {"total_return", "annualized_return", "annualized_volatility", "max_drawdown", "win_rate", "exposure"}
)
MONEY_METRICS = frozenset({"net_profit", "final_equity", "fees_paid", "max_drawdown_amount"})


def format_metric(name: str, value: float | Decimal | None) -> str:
    """One metric of ``PerformanceReport`` by its attribute name, as the metrics table shows it."""
    if name in PERCENT_METRICS:
        return format_percent(value)
    if name in MONEY_METRICS:
        return format_money(None if value is None else Decimal(value))
    return format_ratio(value)


def refusal_rows(refusals: RefusalCounts) -> list[tuple[str, str]]:
    """Pre-trade risk refusals as (label, count) rows: the total, then each reason, most first."""
    rows = [("Refused intents", format_count(refusals.total))]
    rows.extend((f"  {reason}", format_count(count)) for reason, count in refusals.ordered())
    return rows


def metric_rows(
    report: PerformanceReport, refusals: RefusalCounts | None = None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The metrics as (section, [(label, text)]), in reading order; with ``refusals`` (see
    ``refusal_rows``) a last section counts what pre-trade risk refused."""
    r = report
    recovery = format_time(r.max_drawdown_recovery_ns) if r.max_drawdown_recovery_ns else "not recovered"
    if r.max_drawdown_peak_ns is None:
        recovery = NOT_DEFINED
    sections = [
        (
            "Run",
            [
                ("Start (UTC)", format_time(r.start_ns)),
                ("End (UTC)", format_time(r.end_ns)),
                ("Duration", format_duration(r.duration_ns)),
                ("Starting capital", format_money(r.starting_capital)),
                ("Final equity", format_money(r.final_equity)),
                ("Net profit", format_money(r.net_profit)),
                ("Fees paid", format_money(r.fees_paid)),
                ("Exposure", format_percent(r.exposure)),
            ],
        ),
        (
            "Returns and risk",
            [
                ("Total return", format_percent(r.total_return)),
                ("Annualized return (CAGR)", format_percent(r.annualized_return)),
                ("Annualized volatility", format_percent(r.annualized_volatility)),
                ("Sharpe ratio", format_ratio(r.sharpe_ratio)),
                ("Sortino ratio", format_ratio(r.sortino_ratio)),
                ("Calmar ratio", format_ratio(r.calmar_ratio)),
                ("Max drawdown", format_percent(r.max_drawdown)),
                ("Max drawdown amount", format_money(r.max_drawdown_amount)),
                ("Max drawdown peak", format_time(r.max_drawdown_peak_ns)),
                ("Max drawdown trough", format_time(r.max_drawdown_trough_ns)),
                ("Max drawdown recovery", recovery),
                ("Longest drawdown", format_duration(r.longest_drawdown_ns)),
                ("Longest drawdown recovered", "yes" if r.longest_drawdown_recovered else "no"),
            ],
        ),
        (
            "Trades",
            [
                ("Closed trades", format_count(r.trade_count)),
                ("Winning / losing", f"{format_count(r.winning_trades)} / {format_count(r.losing_trades)}"),
                ("Win rate", format_percent(r.win_rate)),
                ("Average win", format_money(r.average_win)),
                ("Average loss", format_money(r.average_loss)),
                ("Average trade", format_money(r.average_trade)),
                ("Profit factor", format_ratio(r.profit_factor)),
                ("Gross profit / loss", f"{format_money(r.gross_profit)} / {format_money(r.gross_loss)}"),
                ("Average holding time", format_duration(r.average_holding_ns)),
            ],
        ),
        (
            "Sampling",
            [
                ("Return period", format_duration(r.period_ns)),
                ("Periods in run", format_count(r.periods)),
                ("Periods per year", f"{r.periods_per_year:g}"),
                ("Risk-free rate (annual)", format_percent(r.risk_free_rate)),
            ],
        ),
    ]
    if refusals is not None:
        sections.append(("Risk refusals", refusal_rows(refusals)))
    return sections


def format_metrics_table(report: PerformanceReport, refusals: RefusalCounts | None = None) -> str:
    """The metrics (and ``refusals``, see ``metric_rows``) as an aligned plain-text table."""
    return format_sections(metric_rows(report, refusals))


def format_sections(sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> str:
    """Titled sections of (label, value) rows as an aligned plain-text table."""
    width = max(len(label) for _, rows in sections for label, _ in rows)
    values = max(len(text) for _, rows in sections for _, text in rows)
    lines: list[str] = []
    for section, rows in sections:
        if lines:
            lines.append("")
        lines.append(section)
        lines.append("-" * (width + values + 4))
        lines.extend(f"  {label:<{width}}  {text:>{values}}" for label, text in rows)
    return "\n".join(lines) + "\n"
