"""One backtest, start to end: the history replayed through a freshly wired engine, then measured."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from adapters.historical import HistoricalDataError, ReadStats
from adapters.memory import InMemoryMarketDataRepository, InMemorySignalRepository, InMemoryTradeRepository
from application.backtest import HOUR_NS, BacktestProgress, BacktestResult, BacktestRunner, ReplayClock
from application.execution.order_journal import RECENT_CLOSED_ORDERS
from application.messages import IntentRejected
from domain.errors import DomainError
from domain.market_data import Bar, MarketEvent
from domain.ml.labels import LabelSpec
from domain.ml.strategy import KINDS as ML_KINDS
from domain.performance import PerformanceConfig, compute_performance
from entrypoints.backtest.history import describe_source, open_events
from entrypoints.backtest.ml_report import MlReport, first_ml_strategy, ml_report
from entrypoints.backtest.outcome import BacktestOutcome
from entrypoints.backtest.refusals import RefusalCounts, refusal_warnings_counted
from entrypoints.backtest.settings import settings_for
from entrypoints.backtest.spec import BacktestError, BacktestSpec
from entrypoints.config import ConfigError, Settings
from entrypoints.gc_tuning import collector_aside
from entrypoints.storage import Stores

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
    events and once at the end (``done``); never twice for the same point of the replay.
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
    try:
        first = next(events, None)
    except HistoricalDataError as error:
        raise BacktestError(str(error), field="data") from None
    if first is None:
        raise BacktestError(f"no market data in {describe_source(spec)}", field="data")
    if isinstance(first, Bar) and "source" not in spec.params and spec.strategy not in ML_KINDS:
        spec = replace(spec, params={**spec.params, "source": "bar"})  # bars drive the strategy
    try:
        settings = settings_for(spec, instrument_id)
    except ConfigError as error:
        raise BacktestError(str(error)) from None
    apps: list[App] = []
    watch: dict[str, Callable[[App], None]] = {"attach": apps.append} if spec.strategy in ML_KINDS else {}
    replayed = replay_with(
        settings,
        itertools.chain((first,), events),
        sample_ns=spec.sample_ns,
        progress=progress,
        progress_every=progress_every,
        **watch,  # an ML strategy's run is scored from its engine's strategy afterwards
    )
    result, seconds = replayed.result, replayed.seconds
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
    ml = _ml_report(spec, apps, metrics.total_return) if apps else None
    return BacktestOutcome(spec, result, metrics, instrument_id, quote, seconds, stats, replayed.refusals, ml)


def _ml_report(spec: BacktestSpec, apps: list[App], total_return: Decimal) -> MlReport | None:
    """The models' scores and the baselines of an ML strategy's run (a second replay, of the SMA
    crossover on the same history, gives the indicator baseline)."""
    from adapters.ml.artifacts import ArtifactError, load_artifact  # only for an ML backtest

    strategy = first_ml_strategy([slot.strategy for slot in apps[0].strategies.slots])
    if strategy is None or strategy.log is None:
        return None
    first = load_artifact(str(spec.params["model"]))
    label = LabelSpec(**first.record["label"])

    def trained_until(model_id: str) -> int | None:
        """The first model: the last bar it was fitted on; a retrained one: the bar that asked
        for it, after the last row it was fitted on."""
        try:
            record = load_artifact(first.path.parent / model_id).record
        except ArtifactError:
            return None
        training = record.get("training", {})
        last = training.get("last_ts", training.get("asked_at"))
        return last if isinstance(last, int) else None

    def indicator() -> Decimal | None:
        baseline = replace(spec, strategy="sma_crossover", params={})
        try:
            return run_backtest(baseline).metrics.total_return
        except BacktestError:
            return None

    return ml_report(strategy, label, total_return, indicator, trained_until)


@dataclass(frozen=True, slots=True)
class Replayed:
    """What one replay through a freshly wired engine gave: its result, what pre-trade risk
    refused on the way, and how long the replay took (wall time, for the rate)."""

    result: BacktestResult
    refusals: RefusalCounts
    seconds: float


def replay_with(
    settings: Settings,
    events: Iterator[MarketEvent],
    *,
    sample_ns: int = HOUR_NS,
    progress: Callable[[BacktestProgress], None] | None = None,
    progress_every: int = 100_000,
    attach: Callable[[App], None] | None = None,
) -> Replayed:
    """Replay the time-ordered ``events`` through the engine ``bootstrap`` wires for ``settings``
    (on a replay clock, no feeds, nothing recorded): the one wiring of every backtest.

    ``attach`` is handed the application before the first event (to subscribe to its bus).
    Raises BacktestError for a configuration the engine refuses or history that cannot be read.
    """
    from entrypoints.container import bootstrap  # the composition root: imported when used

    clock = ReplayClock()
    try:
        app = bootstrap(
            settings, clock=clock, feeds=[], stores=replay_stores(settings), record_market_data=False
        )
    except ConfigError as error:
        raise BacktestError(str(error)) from None
    refusals = RefusalCounts()
    app.bus.subscribe(IntentRejected, refusals.on_rejected)
    if attach is not None:
        attach(app)
    ended = _End()
    runner = replay_runner(
        app,
        clock,
        sample_ns=sample_ns,
        progress_every=progress_every,
        on_progress=None if progress is None else _once_at_the_end(progress, ended),
    )
    stream: Iterator[MarketEvent] = events
    if progress is not None:
        stream = itertools.chain.from_iterable(_peeking(stream, max(1, progress_every), ended))
    started = time.perf_counter()
    try:
        with refusal_warnings_counted(), collector_aside():
            result = runner.run(stream)
    except HistoricalDataError as error:
        raise BacktestError(str(error), field="data") from None
    finally:
        app.close()
    return Replayed(result, refusals, time.perf_counter() - started)


KEPT_ORDERS = RECENT_CLOSED_ORDERS
"""Closed orders (and signals) a replay's in-memory stores keep, besides the working orders.

A replay reads back only its fills. The OMS keeps its working orders and as many recent
closed ones itself, and asks the store only for an order it has forgotten: one closed that
many orders ago, which gets no further report. Beyond this, memory would grow with every order."""


def replay_stores(settings: Settings) -> Stores | None:
    """The stores of a replay on in-memory ``settings``: bounded (``KEPT_ORDERS``), every fill
    kept; None (the configured ones) for any other storage."""
    if settings.storage.kind != "memory":
        return None
    return Stores(
        InMemoryTradeRepository(recent_orders=KEPT_ORDERS),
        InMemorySignalRepository(capacity=KEPT_ORDERS),
        InMemoryMarketDataRepository(),
    )


@dataclass(slots=True)
class _End:
    """Set once the events are known to end with the one being replayed."""

    reached: bool = False


_NOTHING = object()


def _peeking(events: Iterator[MarketEvent], every: int, ended: _End) -> Iterator[Iterable[MarketEvent]]:
    """``events`` in blocks for ``itertools.chain.from_iterable``, reading one event ahead at
    every ``every``-th: when the runner reports progress there, ``ended`` already tells
    whether that event was the last. The events between go through ``islice`` untouched, so
    the replay loop pays nothing per event for it."""
    head = next(events, _NOTHING)
    while head is not _NOTHING:
        # head is the first event after a multiple of ``every``.
        if every > 1:
            yield (head,)  # type: ignore[misc]
            if every > 2:
                yield itertools.islice(events, every - 2)
            head = next(events, _NOTHING)  # the every-th event of the block
            if head is _NOTHING:
                return
        after = next(events, _NOTHING)
        ended.reached = after is _NOTHING
        yield (head,)  # type: ignore[misc]
        head = after


def _once_at_the_end(
    progress: Callable[[BacktestProgress], None], ended: _End
) -> Callable[[BacktestProgress], None]:
    """``progress`` without the runner's in-loop report on the last event: the final report
    (``done``) that follows says the same, and a listener would otherwise get it twice."""

    def report(update: BacktestProgress) -> None:
        if update.done or not ended.reached:
            progress(update)

    return report


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
