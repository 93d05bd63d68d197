"""Backtesting: history replayed through the engine that trades live.

The engine is built exactly as for a live run (bus, market state, strategies, sizing, risk,
OMS, paper broker); only its clock and its feed differ. The clock is the replayed events'
own time, so nothing sleeps and nothing reads the wall clock: the same events in give the
same signals, orders and fills out, run after run.

While it replays, the runner samples equity (every ``sample_ns`` of event time, and after
every fill) and the price, for the equity curve and the report's charts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from application.engine import Engine
from application.execution import ReportStats
from application.ports import SimulatedVenue, TradeRepository
from domain.errors import DomainError
from domain.identifiers import InstrumentId
from domain.market_data import Bar, MarketEvent, TradeTick
from domain.orders import Fill
from domain.portfolio import Portfolio

HOUR_NS = 3_600_000_000_000


class ReplayClock:
    """Now is the time of the event being replayed (set by the runner, never backwards)."""

    __slots__ = ("now",)

    def __init__(self, start_ns: int = 0) -> None:
        self.now = start_ns

    def now_ns(self) -> int:
        return self.now


@dataclass(frozen=True, slots=True)
class BacktestProgress:
    """Reported every ``progress_every`` events (and once at the end)."""

    events: int
    ts_event: int
    done: bool = False


@dataclass(slots=True)
class BacktestResult:
    """What a replay produced; ``performance.compute_performance`` turns it into metrics."""

    events: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    starting_equity: Decimal = Decimal(0)
    final_equity: Decimal = Decimal(0)
    equity_curve: list[tuple[int, Decimal]] = field(default_factory=list)
    prices: dict[InstrumentId, list[tuple[int, Decimal]]] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    signals: int = 0
    orders: int = 0
    rejected_intents: int = 0
    handler_errors: int = 0


class BacktestRunner:
    """Replays ``events`` (time-ordered market events) through ``engine`` on ``clock``.

    The engine must have been built on ``clock``, with no live feeds and without recording
    market data (the history is stored already). ``publish`` is its bus's, ``fills`` the
    counters of its broker reports (equity is sampled after every fill), ``venue`` its
    simulated venue. Events must not go back in time (the readers guarantee it; a stray one
    raises ValueError naming it).
    """

    def __init__(
        self,
        *,
        engine: Engine,
        clock: ReplayClock,
        publish: Callable[[MarketEvent], None],
        portfolio: Portfolio,
        trades: TradeRepository,
        fills: ReportStats,
        venue: SimulatedVenue | None,
        sample_ns: int = HOUR_NS,
        progress_every: int = 100_000,
        on_progress: Callable[[BacktestProgress], None] | None = None,
    ) -> None:
        if sample_ns <= 0:
            raise ValueError(f"sample_ns must be positive, was {sample_ns}")
        self._engine = engine
        self._clock = clock
        self._publish = publish
        self._portfolio = portfolio
        self._trades = trades
        self._fills = fills
        self._venue = venue
        self._sample_ns = sample_ns
        self._progress_every = max(1, progress_every)
        self._on_progress = on_progress
        self._result = BacktestResult()
        self._fills_seen = 0

    def run(self, events: Iterable[MarketEvent]) -> BacktestResult:
        clock, result, publish, fills = self._clock, self._result, self._publish, self._fills
        signals_before = self._engine.status().signals
        portfolio = self._portfolio
        result.starting_equity = portfolio.account.balances.get(portfolio.valuation_currency, Decimal(0))
        sample_ns, every, on_progress = self._sample_ns, self._progress_every, self._on_progress
        next_sample = -1  # the first event is sampled
        next_progress = every if on_progress is not None else -1
        count = 0
        ts = now = clock.now
        for event in events:  # the per-event loop: locals only
            ts = event.ts_event
            if ts < now:
                raise ValueError(f"event {count + 1} goes back in time: {ts} < {now} ({event!r})")
            clock.now = now = ts
            publish(event)
            count += 1
            if ts >= next_sample or fills.fills != self._fills_seen:
                if result.first_ts is None:
                    result.first_ts = ts
                self._sample(event, ts)
                next_sample = ts - ts % sample_ns + sample_ns
            if count == next_progress and on_progress is not None:
                next_progress += every
                on_progress(BacktestProgress(count, ts))
        if self._venue is not None:
            self._venue.advance_to(ts)  # what was still travelling to the venue arrives with the last event
        result.events = count
        result.last_ts = ts if count else None
        if count:
            self._sample(None, ts)
        result.final_equity = result.equity_curve[-1][1] if result.equity_curve else result.starting_equity
        result.fills = list(self._trades.list_fills())
        status = self._engine.status()
        result.signals = status.signals - signals_before
        result.orders = status.orders_submitted
        result.rejected_intents = status.risk_rejections
        result.handler_errors = status.handler_errors
        if on_progress is not None:
            on_progress(BacktestProgress(count, ts, done=True))
        return result

    def _sample(self, event: MarketEvent | None, ts: int) -> None:
        self._fills_seen = self._fills.fills
        try:
            equity = self._portfolio.revalue()
        except DomainError:  # nothing to value an asset with yet
            return
        self._result.equity_curve.append((ts, equity))
        if isinstance(event, TradeTick):
            self._result.prices.setdefault(event.instrument_id, []).append((ts, event.price))
        elif isinstance(event, Bar):
            self._result.prices.setdefault(event.instrument_id, []).append((ts, event.close))
