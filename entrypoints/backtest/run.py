"""One backtest, start to end: the history replayed through a freshly wired engine, then measured."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from adapters.historical import HistoricalDataError, ReadStats
from application.backtest import HOUR_NS, BacktestProgress, BacktestRunner, ReplayClock
from domain.errors import DomainError
from domain.market_data import Bar, MarketEvent
from domain.performance import PerformanceConfig, compute_performance
from entrypoints.backtest.history import describe_source, open_events
from entrypoints.backtest.outcome import BacktestOutcome
from entrypoints.backtest.settings import settings_for
from entrypoints.backtest.spec import BacktestError, BacktestSpec
from entrypoints.config import ConfigError

if TYPE_CHECKING:
    from entrypoints.container import App


def run_backtest(
    spec: BacktestSpec,
    *,
    progress: Callable[[BacktestProgress], None] | None = None,
    progress_every: int = 100_000,
) -> BacktestOutcome:
    """One run, start to end; raises BacktestError for data or parameters that cannot run.

    ``progress``, when given, is called with a ``BacktestProgress`` every ``progress_every``
    events and once at the end.
    """
    stats: list[ReadStats] = []
    closers: list[Callable[[], None]] = []
    instrument_id, events = open_events(spec, stats, closers)
    try:
        return _replay(
            spec, instrument_id, events, stats=stats, progress=progress, progress_every=progress_every
        )
    finally:
        for close in closers:
            close()


def _replay(
    spec: BacktestSpec,
    instrument_id: str,
    events: Iterator[MarketEvent],
    *,
    stats: list[ReadStats],
    progress: Callable[[BacktestProgress], None] | None,
    progress_every: int,
) -> BacktestOutcome:
    from entrypoints.container import bootstrap  # the composition root: imported when used

    try:
        first = next(events, None)
    except HistoricalDataError as error:
        raise BacktestError(str(error), field="data") from None
    if first is None:
        raise BacktestError(f"no market data in {describe_source(spec)}", field="data")
    if isinstance(first, Bar) and "source" not in spec.params:
        spec = replace(spec, params={**spec.params, "source": "bar"})  # bars drive the strategy
    try:
        settings = settings_for(spec, instrument_id)
    except ConfigError as error:
        raise BacktestError(str(error)) from None
    clock = ReplayClock()
    try:
        app = bootstrap(settings, clock=clock, feeds=[], record_market_data=False)
    except ConfigError as error:
        raise BacktestError(str(error)) from None
    runner = replay_runner(
        app, clock, sample_ns=spec.sample_ns, progress_every=progress_every, on_progress=progress
    )
    started = time.perf_counter()
    try:
        result = runner.run(itertools.chain((first,), events))
    except HistoricalDataError as error:
        raise BacktestError(str(error), field="data") from None
    finally:
        app.close()
    seconds = time.perf_counter() - started
    if not result.events:
        raise BacktestError(f"no market data in {describe_source(spec)}", field="data")
    try:
        metrics = compute_performance(
            result.equity_curve,
            result.fills,
            starting_capital=spec.capital,
            start_ns=result.first_ts,
            end_ns=result.last_ts,
            config=PerformanceConfig(),
        )
    except DomainError as error:
        raise BacktestError(f"measuring the run failed: {error}") from None
    quote = settings.engine.valuation_currency
    return BacktestOutcome(spec, result, metrics, instrument_id, quote, seconds, stats)


def replay_runner(
    app: App,
    clock: ReplayClock,
    *,
    sample_ns: int = HOUR_NS,
    progress_every: int = 100_000,
    on_progress: Callable[[BacktestProgress], None] | None = None,
) -> BacktestRunner:
    """A runner that replays history through ``app``, built by ``bootstrap`` on ``clock`` with no
    feeds and ``record_market_data=False``."""
    return BacktestRunner(
        engine=app.engine,
        clock=clock,
        publish=app.bus.publish,
        portfolio=app.portfolio,
        trades=app.trades,
        fills=app.reports.stats,
        venue=app.venue,
        sample_ns=sample_ns,
        progress_every=progress_every,
        on_progress=on_progress,
    )
