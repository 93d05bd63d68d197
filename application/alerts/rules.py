"""The alert rules: which conditions hold now, given what the engine reports.

Pure logic: no I/O and no clock. Each ``evaluate`` gets one ``Observation`` (the engine's
status and counters, stamped with the engine clock) and returns the conditions that hold,
with the numbers that make them hold. The rules keep what they need between observations:
since when a feed has been down, and the last five minutes of counter increases (book
resyncs, broker rejections, store failures), since a counter's total means nothing on its own.
The first observation only sets the counters' baseline.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from application.alerts.policy import (
    BOOK_RESYNC_FAILING,
    BROKER_REJECTING,
    DAILY_LOSS_NEAR_LIMIT,
    DRAWDOWN_NEAR_LIMIT,
    FEED_DOWN,
    NS_PER_S,
    RECONCILIATION_DIFFERENCE,
    STORE_COMMIT_FAILING,
    STRATEGY_DISABLED,
    TRADING_HALTED,
    TRADING_REDUCE_ONLY,
    AlertPolicy,
)
from application.engine import InstrumentData
from application.messages import AlertSeverity
from application.ports import FeedHealth
from domain.risk import TradingState
from domain.values import plain

CRITICAL, WARNING = AlertSeverity.CRITICAL, AlertSeverity.WARNING
_PERCENT = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class StoreCommits:
    """A store's commit counters: failures, and successes when the store counts them."""

    failures: int
    commits: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """What the rules look at, read from the engine at ``now_ns`` (engine clock)."""

    now_ns: int
    running: bool
    trading_state: TradingState = TradingState.ACTIVE
    trading_reason: str = ""
    feeds: tuple[FeedHealth, ...] = ()
    instruments: tuple[InstrumentData, ...] = ()
    failed_strategies: tuple[tuple[str, str], ...] = ()
    """(strategy id, error) of each strategy disabled because it raised."""
    broker: str = ""
    broker_rejections: int = 0
    """Orders the venue rejected so far (a counter)."""
    reconciliation_runs: int = 0
    reconciliation_differences: int = 0
    stores: Mapping[str, StoreCommits] = field(default_factory=dict)
    daily_pnl: Decimal = Decimal(0)
    daily_loss_limit: Decimal | None = None
    drawdown: Decimal = Decimal(0)
    """Drawdown as a fraction of peak equity."""
    max_drawdown: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """A rule that holds now: what an alert is made of, before it has a history."""

    name: str
    severity: AlertSeverity
    summary: str
    labels: tuple[tuple[str, str], ...] = ()


class RecentCount:
    """Increases of a counter within a sliding window of engine time."""

    __slots__ = ("_events", "_total", "_window_ns")

    def __init__(self, window_ns: int) -> None:
        self._window_ns = window_ns
        self._events: deque[tuple[int, int]] = deque()
        self._total = 0

    def add(self, now_ns: int, count: int) -> None:
        if count > 0:
            self._events.append((now_ns, count))
            self._total += count

    def total(self, now_ns: int) -> int:
        events, start = self._events, now_ns - self._window_ns
        while events and events[0][0] <= start:
            self._total -= events.popleft()[1]
        return self._total


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _increase(now: int, before: int | None) -> int:
    """How much a counter grew; a counter that went back (a restarted source) grew by nothing."""
    return max(0, now - before) if before is not None else 0


def _seconds(ns: int) -> str:
    return f"{ns // NS_PER_S}s"


def _percent(part: Decimal, whole: Decimal) -> str:
    return plain((part * 100 / whole).quantize(_PERCENT, rounding=ROUND_HALF_EVEN)) + "%"


class AlertRules:
    """Evaluates every rule of ``policy`` on successive observations (see the module docstring)."""

    def __init__(self, policy: AlertPolicy) -> None:
        self.policy = policy
        self._window_ns = policy.window_ns
        self._minutes = f"{plain(Decimal(str(policy.window_s)) / 60)} min"
        self._down_since: dict[tuple[str, str], int] = {}
        self._book_counters: dict[tuple[str, str], tuple[int, int, int]] = {}
        self._resyncs: dict[tuple[str, str], RecentCount] = {}
        self._rejections_seen: int | None = None
        self._rejections = RecentCount(self._window_ns)
        self._reconciliation_seen: tuple[int, int] | None = None
        self._differences = 0
        """Differences of the last reconciliations that found some; 0 once a run found none."""
        self._stores_seen: dict[str, StoreCommits] = {}
        self._store_failures: dict[str, RecentCount] = {}
        self._stores_failing: set[str] = set()

    def evaluate(self, seen: Observation) -> list[Condition]:
        """The conditions that hold in ``seen``, in a fixed order."""
        found = self._trading(seen)
        found += self._feeds(seen)
        found += self._books(seen)
        found += self._reconciliation(seen)
        found += self._stores(seen)
        found += [
            Condition(
                name=STRATEGY_DISABLED,
                severity=WARNING,
                summary=f"strategy {strategy} was disabled after an error: {error}",
                labels=_labels(strategy=strategy),
            )
            for strategy, error in seen.failed_strategies
        ]
        found += self._broker(seen)
        found += self._losses(seen)
        return found

    # -- trading state ----------------------------------------------------------------------

    @staticmethod
    def _trading(seen: Observation) -> list[Condition]:
        state = seen.trading_state
        if state is TradingState.HALTED:
            return [
                Condition(
                    name=TRADING_HALTED, severity=CRITICAL, summary=f"trading HALTED: {seen.trading_reason}"
                )
            ]
        if state is TradingState.REDUCE_ONLY:
            return [
                Condition(
                    name=TRADING_REDUCE_ONLY,
                    severity=WARNING,
                    summary=f"trading REDUCE_ONLY (orders may only reduce positions): {seen.trading_reason}",
                )
            ]
        return []

    # -- market data ------------------------------------------------------------------------

    def _bad_for(self, key: tuple[str, str], bad: bool, now_ns: int) -> int:
        """How long the thing of ``key`` has been bad (0 while it is fine)."""
        if not bad:
            self._down_since.pop(key, None)
            return 0
        return now_ns - self._down_since.setdefault(key, now_ns)

    def _feeds(self, seen: Observation) -> list[Condition]:
        if not seen.running:  # before start and after stop, feeds are down on purpose
            self._down_since.clear()
            return []
        after, now, found = self.policy.feed_down_after_ns, seen.now_ns, []
        for feed in seen.feeds:
            down_for = self._bad_for(("feed", feed.name), not feed.connected, now)
            if not feed.connected and down_for >= after:
                why = f": {feed.last_error}" if feed.last_error else ""
                found.append(
                    Condition(
                        name=FEED_DOWN,
                        severity=CRITICAL,
                        summary=f"feed {feed.name} disconnected for {_seconds(down_for)}{why}",
                        labels=_labels(feed=feed.name),
                    )
                )
        for data in seen.instruments:
            unusable_for = self._bad_for(("instrument", data.instrument_id), not data.usable, now)
            silent_for = data.data_age_ns or 0
            if not data.usable and unusable_for >= after:
                summary = (
                    f"{data.instrument_id} market data unusable for {_seconds(unusable_for)}: {data.problem}"
                )
            elif silent_for >= after and data.data_age_ns is not None:
                summary = f"no market data on {data.instrument_id} for {_seconds(silent_for)}"
            else:
                continue
            found.append(
                Condition(
                    name=FEED_DOWN,
                    severity=CRITICAL,
                    summary=summary,
                    labels=_labels(instrument=data.instrument_id),
                )
            )
        return found

    def _books(self, seen: Observation) -> list[Condition]:
        """A book rebuilt from a fresh snapshot again and again: its feed keeps losing it.

        A resync is counted from whichever the feed reports: resubscriptions, or the gaps and
        checksum failures each of which makes it fetch a new snapshot (one event may move both).
        """
        now, found = seen.now_ns, []
        for feed in seen.feeds:
            for book in feed.instruments:
                key = (feed.name, str(book.instrument_id))
                counters = (book.resubscriptions, book.gaps, book.checksum_failures)
                before = self._book_counters.get(key)
                self._book_counters[key] = counters
                recent = self._resyncs.setdefault(key, RecentCount(self._window_ns))
                if before is not None:
                    resubscribed = _increase(counters[0], before[0])
                    lost = _increase(counters[1], before[1]) + _increase(counters[2], before[2])
                    recent.add(now, max(resubscribed, lost))
                count = recent.total(now)
                if count >= self.policy.book_resync_failures:
                    found.append(
                        Condition(
                            name=BOOK_RESYNC_FAILING,
                            severity=WARNING,
                            summary=(
                                f"the {book.instrument_id} book on {feed.name} was resynced {count} times"
                                f" in {self._minutes} (gaps {book.gaps}, checksum failures"
                                f" {book.checksum_failures}, resubscriptions {book.resubscriptions} in all)"
                            ),
                            labels=_labels(feed=feed.name, instrument=str(book.instrument_id)),
                        )
                    )
        return found

    # -- orders and the venue ---------------------------------------------------------------

    def _reconciliation(self, seen: Observation) -> list[Condition]:
        """Active from a reconciliation that found differences until one finds none."""
        runs, differences = seen.reconciliation_runs, seen.reconciliation_differences
        before = self._reconciliation_seen
        self._reconciliation_seen = (runs, differences)
        if before is not None:
            found = _increase(differences, before[1])
            if found:
                self._differences = found
            elif runs > before[0]:
                self._differences = 0
        if not self._differences:
            return []
        return [
            Condition(
                name=RECONCILIATION_DIFFERENCE,
                severity=WARNING,
                summary=(
                    f"reconciliation with the venue found {self._differences} difference(s) the order"
                    f" updates had missed, now corrected ({differences} since start)"
                ),
            )
        ]

    def _broker(self, seen: Observation) -> list[Condition]:
        now = seen.now_ns
        self._rejections.add(now, _increase(seen.broker_rejections, self._rejections_seen))
        self._rejections_seen = seen.broker_rejections
        count = self._rejections.total(now)
        if count < self.policy.broker_rejections:
            return []
        return [
            Condition(
                name=BROKER_REJECTING,
                severity=WARNING,
                summary=f"the venue rejected {count} orders in {self._minutes} (broker {seen.broker or '?'})",
                labels=_labels(broker=seen.broker),
            )
        ]

    # -- stores -----------------------------------------------------------------------------

    def _stores(self, seen: Observation) -> list[Condition]:
        """A store is failing from a failed commit until a later commit succeeds (or, for a
        store that does not count its successes, until a window passes without a failure)."""
        now, found = seen.now_ns, []
        for name, counts in sorted(seen.stores.items()):
            before = self._stores_seen.get(name)
            self._stores_seen[name] = counts
            recent = self._store_failures.setdefault(name, RecentCount(self._window_ns))
            if before is not None:
                failed = _increase(counts.failures, before.failures)
                recent.add(now, failed)
                if failed:
                    self._stores_failing.add(name)
                elif counts.commits is not None and _increase(counts.commits, before.commits):
                    self._stores_failing.discard(name)
            count = recent.total(now)
            if name in self._stores_failing and counts.commits is None and not count:
                self._stores_failing.discard(name)
            if name in self._stores_failing:
                found.append(
                    Condition(
                        name=STORE_COMMIT_FAILING,
                        severity=CRITICAL,
                        summary=(
                            f"the {name} store failed to commit {count} time(s) in {self._minutes}"
                            f" ({counts.failures} since start); no commit has succeeded since"
                        ),
                        labels=_labels(store=name),
                    )
                )
        return found

    # -- risk limits ------------------------------------------------------------------------

    def _losses(self, seen: Observation) -> list[Condition]:
        fraction, found = self.policy.loss_warning_fraction, []
        limit, pnl = seen.daily_loss_limit, seen.daily_pnl
        if limit is not None and limit > 0 and -pnl >= fraction * limit:
            found.append(
                Condition(
                    name=DAILY_LOSS_NEAR_LIMIT,
                    severity=WARNING,
                    summary=(
                        f"daily P&L {plain(pnl)} is {_percent(-pnl, limit)} of the daily loss limit"
                        f" {plain(limit)} (warning from {_percent(fraction, Decimal(1))})"
                    ),
                )
            )
        most, drawdown = seen.max_drawdown, seen.drawdown
        if most is not None and most > 0 and drawdown >= fraction * most:
            found.append(
                Condition(
                    name=DRAWDOWN_NEAR_LIMIT,
                    severity=WARNING,
                    summary=(
                        f"drawdown {_percent(drawdown, Decimal(1))} of peak equity is"
                        f" {_percent(drawdown, most)} of the max drawdown {_percent(most, Decimal(1))}"
                        f" (warning from {_percent(fraction, Decimal(1))})"
                    ),
                )
            )
        return found
