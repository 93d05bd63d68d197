"""What a finished backtest gives: its result and metrics, as a JSON document and as a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.historical import ReadStats
from application.backtest import BacktestResult
from domain.performance import PerformanceReport
from entrypoints.backtest.formatting import format_params
from entrypoints.backtest.ml_report import MlReport
from entrypoints.backtest.refusals import RefusalCounts
from entrypoints.backtest.settings import account_text, account_type
from entrypoints.backtest.spec import BacktestSpec


@dataclass(slots=True)
class BacktestOutcome:
    """A finished run: what was asked, what the replay did, its metrics, how long it took, and
    what pre-trade risk refused on the way."""

    spec: BacktestSpec
    result: BacktestResult
    metrics: PerformanceReport
    instrument: str
    quote: str
    seconds: float
    stats: list[ReadStats]
    refusals: RefusalCounts = field(default_factory=RefusalCounts)
    ml: MlReport | None = None
    """An ML strategy's models and baselines (None for the other strategies)."""


def outcome_json(outcome: BacktestOutcome, *, trades: bool = True) -> dict[str, Any]:
    """The run as a JSON-ready document (``--json``, the gRPC result); ``trades`` lists each trade."""
    result = outcome.result
    return {
        "instrument": outcome.instrument,
        "strategy": outcome.spec.strategy,
        "params": dict(outcome.spec.params),
        "capital": str(outcome.spec.capital),
        "fees_bps": str(outcome.spec.fees_bps),
        "account": account_type(outcome.spec),
        "data": list(outcome.spec.data),
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
        **({"ml": outcome.ml.as_json()} if outcome.ml is not None else {}),
    }


def write_outcome_report(outcome: BacktestOutcome, directory: Path) -> Path:
    """Write the run's report (charts, HTML page, result.json) into ``directory``; returns the page."""
    from entrypoints.backtest.report import write_report  # matplotlib and numpy: only when used
    from entrypoints.backtest.report_market import market_for  # plotly: only when used

    spec = outcome.spec
    parameters = {
        "strategy": spec.strategy,
        **{k: str(v) for k, v in spec.params.items()},
        "capital": f"{spec.capital} {outcome.quote}",
        "fees_bps": str(spec.fees_bps),
        "slippage_bps": str(spec.slippage_bps),
        "account": account_text(spec),
        "data": ", ".join(Path(p).name for p in spec.data),
    }
    files = write_report(
        directory,
        title=f"{spec.strategy} {format_params(spec.params)} on {outcome.instrument}",
        metrics=outcome.metrics,
        refusals=outcome.refusals,
        equity_curve=outcome.result.equity_curve,
        prices=next(iter(outcome.result.prices.values()), []),
        parameters=parameters,
        fills=outcome.result.fills,
        instrument=outcome.instrument,
        currency=outcome.quote,
        market=market_for(outcome),
    )
    return files.html
