"""What a run of a configuration's strategies shows: its summary line, the breakdown tables, the
JSON document, the report and its stored record."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from application.ports import BacktestRecord
from domain.identifiers import InstrumentId
from entrypoints.backtest.formatting import format_count, format_money, format_params
from entrypoints.backtest.portfolio import Breakdown, PortfolioOutcome
from entrypoints.backtest.report import Table
from entrypoints.backtest.spec import BacktestError

if TYPE_CHECKING:
    from entrypoints.backtest.report_market import MarketSeries

_HEADS = ("fills", "trades", "net P&L", "fees")


def strategy_text(outcome: PortfolioOutcome) -> str:
    """The strategies in one phrase: "sma-btc (sma_crossover fast=10 slow=40 on BTCUSDT.BINANCE), ..."."""
    return ", ".join(
        f"{run.id} ({run.kind} {format_params(run.params)} on {', '.join(run.instruments)})"
        for run in outcome.strategies
    )


def summary_line(outcome: PortfolioOutcome) -> str:
    """The first line of the text output, as the single-strategy form's."""
    result = outcome.result
    rate = result.events / outcome.seconds if outcome.seconds else 0.0
    return (
        f"{strategy_text(outcome)}: {format_count(result.events)} events in {outcome.seconds:.2f}s"
        f" ({format_count(round(rate))}/s), {format_count(result.signals)} signals,"
        f" {format_count(result.orders)} orders, {format_count(len(result.fills))} fills,"
        f" {format_count(outcome.refusals.total)} refused by risk"
    )


def breakdown_tables(outcome: PortfolioOutcome) -> tuple[Table, ...]:
    """The lines by strategy and by instrument, as text cells (money in the valuation currency)."""

    def rows(lines: Sequence[Breakdown]) -> tuple[tuple[str, ...], ...]:
        return tuple(
            (
                line.name,
                format_count(line.fills),
                format_count(line.trades),
                format_money(line.net_pnl),
                format_money(line.fees),
            )
            for line in lines
        )

    return (
        Table("By strategy", "by_strategy", ("strategy", *_HEADS), rows(outcome.by_strategy)),
        Table("By instrument", "by_instrument", ("instrument", *_HEADS), rows(outcome.by_instrument)),
    )


def format_breakdown(outcome: PortfolioOutcome) -> str:
    """The breakdown tables as aligned text, after the metrics table."""
    blocks = []
    for table in breakdown_tables(outcome):
        widths = [max(len(cell) for cell in column) for column in zip(table.heads, *table.rows, strict=True)]
        lines = [f"{table.caption} (net P&L: closed trades after fees, {outcome.quote})"]
        lines.append("-" * (sum(widths) + 2 * len(widths)))
        for row in (table.heads, *table.rows):
            cells = [
                row[0].ljust(widths[0]),
                *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)),
            ]
            lines.append("  " + "  ".join(cells))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def portfolio_json(outcome: PortfolioOutcome, *, trades: bool = True) -> dict[str, Any]:
    """The run as a JSON-ready document (``--json``); ``trades`` lists each closed trade."""
    result, spec = outcome.result, outcome.spec
    return {
        "config": spec.config,
        "strategies": [
            {"id": run.id, "kind": run.kind, "instruments": list(run.instruments), "params": dict(run.params)}
            for run in outcome.strategies
        ],
        "instruments": list(outcome.instruments),
        "params": dict(spec.params),
        "valuation_currency": outcome.quote,
        "data": "store" if spec.from_store else {key: list(files) for key, files in spec.data.items()},
        "events": result.events,
        "first_ts": result.first_ts,
        "last_ts": result.last_ts,
        "signals": result.signals,
        "orders": result.orders,
        "fills": len(result.fills),
        "seconds": round(outcome.seconds, 3),
        "events_per_second": round(result.events / outcome.seconds) if outcome.seconds else None,
        "skipped_rows": sum(s.skipped_total for s in outcome.stats),
        "risk_refusals": outcome.refusals.as_dict(),
        "metrics": outcome.metrics.as_dict(trades=trades),
        "by_strategy": [line.as_dict() for line in outcome.by_strategy],
        "by_instrument": [line.as_dict() for line in outcome.by_instrument],
    }


def write_portfolio_report(outcome: PortfolioOutcome, directory: Path) -> Path:
    """The report (``report.write_report``) of the whole account; its price charts are those of
    the first instrument, with that instrument's trades and its first strategy's indicators."""
    from entrypoints.backtest.report import write_report  # matplotlib and numpy: only when used

    instrument = outcome.instruments[0]
    strategies = {
        f"strategy {run.id}": f"{run.kind} {format_params(run.params)} on {', '.join(run.instruments)}"
        for run in outcome.strategies
    }
    parameters = {
        "config": outcome.spec.config,
        **strategies,
        "starting equity": f"{format_money(outcome.metrics.starting_capital)} {outcome.quote}",
        "data": _data_text(outcome),
        "price chart": instrument,
    }
    files = write_report(
        directory,
        title=f"{len(outcome.strategies)} strategies on {', '.join(outcome.instruments)}"
        if len(outcome.strategies) > 1
        else f"{outcome.strategies[0].id} on {', '.join(outcome.instruments)}",
        metrics=outcome.metrics,
        refusals=outcome.refusals,
        equity_curve=outcome.result.equity_curve,
        prices=outcome.result.prices.get(InstrumentId(instrument), []),
        parameters=parameters,
        fills=outcome.result.fills,
        instrument=instrument,
        currency=outcome.quote,
        market=_market(outcome, instrument),
        breakdown=breakdown_tables(outcome),
        price_title=instrument
        if len(outcome.instruments) == 1
        else f"{instrument} (the first of {len(outcome.instruments)} instruments)",
    )
    return files.html


def _data_text(outcome: PortfolioOutcome) -> str:
    spec = outcome.spec
    if spec.from_store:
        return "the market-data store of the configuration"
    return "; ".join(f"{key}: {', '.join(Path(p).name for p in files)}" for key, files in spec.data.items())


def _market(outcome: PortfolioOutcome, instrument: str) -> MarketSeries | None:
    """The interactive chart's market of ``instrument``, its history read once more."""
    from adapters.historical import HistoricalDataError, ReadStats
    from entrypoints.backtest.portfolio_history import open_files, open_store
    from entrypoints.backtest.portfolio_spec import load_config
    from entrypoints.backtest.report_market import market_series

    result, spec = outcome.result, outcome.spec
    if result.first_ts is None or result.last_ts is None:
        return None
    strategy = next(run for run in outcome.strategies if instrument in run.instruments)
    closers: list[Callable[[], None]] = []
    stats: list[ReadStats] = []
    try:
        if spec.from_store:
            history = open_store(
                [instrument],
                load_config(spec.config),
                start_ns=spec.start_ns,
                end_ns=spec.end_ns,
                closers=closers,
            )
        else:
            history = open_files([instrument], spec.data, skip_bad_rows=spec.skip_bad_rows, stats=stats)
        return market_series(
            history.events,
            strategy=strategy.kind,
            params=strategy.params,
            start_ns=result.first_ts,
            end_ns=result.last_ts,
        )
    except (HistoricalDataError, OSError) as error:
        raise BacktestError(f"report: reading the market data again failed: {error}", field="data") from None
    finally:
        for close in closers:
            close()


def portfolio_record(outcome: PortfolioOutcome, *, created_ns: int | None = None) -> BacktestRecord:
    """The stored form of the run: its strategies (ids joined by "+", or "portfolio" when too
    long for the column), the configuration's path and each strategy's kind and parameters."""
    result, metrics = outcome.result, outcome.metrics
    figures = metrics.as_dict(trades=False)
    sharpe, drawdown = figures["sharpe_ratio"], figures["max_drawdown"]
    assert isinstance(drawdown, float | int)
    assert sharpe is None or isinstance(sharpe, float | int)
    ids = "+".join(run.id for run in outcome.strategies)
    instruments = ",".join(outcome.instruments)
    params = {
        "config": outcome.spec.config,
        **{run.id: f"{run.kind} {format_params(run.params)}" for run in outcome.strategies},
    }
    data = (
        ("store",)
        if outcome.spec.from_store
        else tuple(Path(path).name for files in outcome.spec.data.values() for path in files)
    )
    return BacktestRecord(
        created_ns=time.time_ns() if created_ns is None else created_ns,
        strategy=ids if len(ids) <= 64 else "portfolio",
        instrument_id=instruments if len(instruments) <= 64 else f"{len(outcome.instruments)} instruments",
        params=params,
        data=data,
        first_ts=result.first_ts or 0,
        last_ts=result.last_ts or 0,
        events=result.events,
        capital=metrics.starting_capital,
        final_equity=metrics.final_equity,
        total_return=metrics.total_return,
        sharpe=None if sharpe is None else float(sharpe),
        max_drawdown=float(drawdown),
        trade_count=metrics.trade_count,
        metrics=figures,
        trades=tuple(trade.as_dict() for trade in metrics.trades),
    )
