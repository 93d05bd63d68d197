"""A backtest of a configuration's strategies: every instrument they read, replayed in event-time
order through one engine and one account, then measured as one portfolio and broken down.

The engine is the one ``bootstrap`` wires for the configuration (see ``portfolio_spec``), so
strategies, sizing, risk, stops and the paper broker's fees are those a live run of the same
file would use. One equity curve and one set of metrics describe the account; the fills are
then split by strategy and by instrument (trades, realized P&L after fees, fees).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from adapters.historical import ReadStats
from application.backtest import BacktestProgress, BacktestResult
from domain.errors import DomainError
from domain.market_data import Bar
from domain.orders import Fill
from domain.performance import PerformanceConfig, PerformanceReport, compute_performance
from domain.round_trips import derive_round_trips
from entrypoints.backtest.portfolio_history import OpenedHistory, check_histories, open_files, open_store
from entrypoints.backtest.portfolio_spec import (
    PortfolioSpec,
    check_overrides,
    enabled_strategies,
    instruments_used,
    load_config,
    portfolio_settings,
    users_of,
)
from entrypoints.backtest.refusals import RefusalCounts
from entrypoints.backtest.run import replay_with
from entrypoints.backtest.spec import BacktestError
from entrypoints.config import Settings, StrategySettings

if TYPE_CHECKING:
    from entrypoints.container import App


@dataclass(frozen=True, slots=True)
class StrategyRun:
    """One strategy as it ran: its id, kind, instruments and parameters (the file's, overridden)."""

    id: str
    kind: str
    instruments: tuple[str, ...]
    params: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The part of the run's fills of one strategy or one instrument.

    ``net_pnl`` is realized: the closed round trips' P&L after their fees (a position still
    open at the end counts in the equity, not here); ``fees`` are every fill's.
    """

    name: str
    fills: int
    trades: int
    net_pnl: Decimal
    fees: Decimal

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "fills": self.fills,
            "trades": self.trades,
            "net_pnl": str(self.net_pnl),
            "fees": str(self.fees),
        }


@dataclass(slots=True)
class PortfolioOutcome:
    """A finished run of a configuration's strategies: what ran, the replay, one set of metrics,
    the breakdowns by strategy and by instrument, and what pre-trade risk refused."""

    spec: PortfolioSpec
    strategies: tuple[StrategyRun, ...]
    instruments: tuple[str, ...]
    result: BacktestResult
    metrics: PerformanceReport
    quote: str
    seconds: float
    stats: list[ReadStats]
    refusals: RefusalCounts = field(default_factory=RefusalCounts)
    by_strategy: tuple[Breakdown, ...] = ()
    by_instrument: tuple[Breakdown, ...] = ()


def run_portfolio(
    spec: PortfolioSpec,
    *,
    progress: Callable[[BacktestProgress], None] | None = None,
    progress_every: int = 100_000,
    attach: Callable[[App], None] | None = None,
) -> PortfolioOutcome:
    """One run, start to end; raises BacktestError naming what cannot run (a strategy's
    parameter, an instrument without history, a bad row, a configuration the engine refuses).

    ``attach`` is handed the wired application before the first event (to watch its bus).
    """
    base = load_config(spec.config)
    strategies = enabled_strategies(base)
    check_overrides(strategies, spec.params)
    instruments = instruments_used(strategies, base)
    stats: list[ReadStats] = []
    closers: list[Callable[[], None]] = []
    try:
        history = _open(spec, base, strategies, instruments, stats=stats, closers=closers)
        settings = portfolio_settings(spec, base, bar_driven=_bar_driven(strategies, history))
        replayed = replay_with(
            settings,
            history.events,
            sample_ns=spec.sample_ns,
            progress=progress,
            progress_every=progress_every,
            attach=attach,
        )
    finally:
        for close in closers:
            close()
    result = replayed.result
    starting = result.equity_curve[0][1] if result.equity_curve else result.starting_equity
    try:
        metrics = compute_performance(
            result.equity_curve,
            result.fills,
            starting_capital=starting,
            start_ns=result.first_ts,
            end_ns=result.last_ts,
            config=PerformanceConfig(),
        )
    except DomainError as error:
        raise BacktestError(f"measuring the run failed: {error}") from None
    ran = tuple(
        StrategyRun(entry.id, entry.kind, entry.instruments, {k: str(v) for k, v in entry.params.items()})
        for entry in settings.strategies
    )
    return PortfolioOutcome(
        spec=spec,
        strategies=ran,
        instruments=instruments,
        result=result,
        metrics=metrics,
        quote=settings.engine.valuation_currency,
        seconds=replayed.seconds,
        stats=stats,
        refusals=replayed.refusals,
        by_strategy=breakdown(result.fills, (s.id for s in ran), lambda fill: fill.strategy_id),
        by_instrument=breakdown(result.fills, instruments, lambda fill: fill.instrument_id),
    )


def _open(
    spec: PortfolioSpec,
    base: Settings,
    strategies: tuple[StrategySettings, ...],
    instruments: tuple[str, ...],
    *,
    stats: list[ReadStats],
    closers: list[Callable[[], None]],
) -> OpenedHistory:
    if spec.from_store:
        if spec.data:
            raise BacktestError("give either --data files or --from-store, not both")
        return open_store(instruments, base, start_ns=spec.start_ns, end_ns=spec.end_ns, closers=closers)
    check_histories(instruments, spec.data, lambda instrument: users_of(instrument, strategies))
    return open_files(instruments, spec.data, skip_bad_rows=spec.skip_bad_rows, stats=stats)


def _bar_driven(strategies: Iterable[StrategySettings], history: OpenedHistory) -> frozenset[str]:
    """The strategies all of whose instruments' history is bars: they read the bars' closes."""
    return frozenset(
        entry.id
        for entry in strategies
        if all(isinstance(history.first[instrument], Bar) for instrument in entry.instruments)
    )


def breakdown(
    fills: Iterable[Fill], names: Iterable[str], key: Callable[[Fill], object]
) -> tuple[Breakdown, ...]:
    """The fills grouped by ``key`` (a strategy id, an instrument id), one line per name in
    ``names`` (in that order, a name without fills included), each with its round trips."""
    groups: dict[str, list[Fill]] = {name: [] for name in names}
    for fill in fills:
        groups.setdefault(str(key(fill)), []).append(fill)
    lines = []
    for name, group in groups.items():
        trips = derive_round_trips(group)
        lines.append(
            Breakdown(
                name=name,
                fills=len(group),
                trades=len(trips),
                net_pnl=sum((trip.net_pnl for trip in trips), Decimal(0)),
                fees=sum((fill.fee for fill in group), Decimal(0)),
            )
        )
    return tuple(lines)
