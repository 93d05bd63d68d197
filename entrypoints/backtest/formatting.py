"""How a backtest's figures read: times, durations, money, and the metrics as a terminal table.

The HTML report and the command line share these, so a figure reads the same in both.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.performance import NS_PER_SECOND, PerformanceReport
from domain.values import plain

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


def _percent(value: float | Decimal | None) -> str:
    return NOT_DEFINED if value is None else f"{float(value) * 100:,.2f} %"


def _ratio(value: float | None) -> str:
    return NOT_DEFINED if value is None else f"{value:,.2f}"


def metric_rows(report: PerformanceReport) -> list[tuple[str, list[tuple[str, str]]]]:
    """The metrics as (section, [(label, text)]), in reading order."""
    r = report
    recovery = format_time(r.max_drawdown_recovery_ns) if r.max_drawdown_recovery_ns else "not recovered"
    if r.max_drawdown_peak_ns is None:
        recovery = NOT_DEFINED
    return [
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
                ("Exposure", _percent(r.exposure)),
            ],
        ),
        (
            "Returns and risk",
            [
                ("Total return", _percent(r.total_return)),
                ("Annualized return (CAGR)", _percent(r.annualized_return)),
                ("Annualized volatility", _percent(r.annualized_volatility)),
                ("Sharpe ratio", _ratio(r.sharpe_ratio)),
                ("Sortino ratio", _ratio(r.sortino_ratio)),
                ("Calmar ratio", _ratio(r.calmar_ratio)),
                ("Max drawdown", _percent(r.max_drawdown)),
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
                ("Closed trades", str(r.trade_count)),
                ("Winning / losing", f"{r.winning_trades} / {r.losing_trades}"),
                ("Win rate", _percent(r.win_rate)),
                ("Average win", format_money(r.average_win)),
                ("Average loss", format_money(r.average_loss)),
                ("Average trade", format_money(r.average_trade)),
                ("Profit factor", _ratio(r.profit_factor)),
                ("Gross profit / loss", f"{format_money(r.gross_profit)} / {format_money(r.gross_loss)}"),
                ("Average holding time", format_duration(r.average_holding_ns)),
            ],
        ),
        (
            "Sampling",
            [
                ("Return period", format_duration(r.period_ns)),
                ("Periods in run", str(r.periods)),
                ("Periods per year", f"{r.periods_per_year:g}"),
                ("Risk-free rate (annual)", _percent(r.risk_free_rate)),
            ],
        ),
    ]


def format_metrics_table(report: PerformanceReport) -> str:
    """The metrics as an aligned plain-text table for the terminal."""
    sections = metric_rows(report)
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
