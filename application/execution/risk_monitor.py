"""The risk monitor: marks, the trading state (daily loss, drawdown, kill switch) and the limits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter_ns

from application.commands import Halt, Resume, UpdateRiskLimits
from application.execution.equity_history import EquityHistory
from application.ports import Clock, EventBus, TradeRepository
from domain.market_data import Bar, TradeTick
from domain.portfolio import MissingMark, Portfolio
from domain.risk import (
    PreTradeRisk,
    RiskLimits,
    TradingSnapshot,
    TradingState,
    TradingStateChanged,
    TradingStateMachine,
)

log = logging.getLogger("tradeplane.risk")


class RiskMonitor:
    """Post-trade risk: keeps the portfolio marked and the trading state current, and persisted.

    Every trade marks its instrument; at most once per ``mark_interval_ns`` of event time the
    portfolio is revalued and the trading state sees the equity (a daily-loss or drawdown limit
    may move it to REDUCE_ONLY or HALTED; a new UTC day may lift a daily-loss REDUCE_ONLY). A
    change of state is saved in the trades store, committed, logged and published
    (TradingStateChanged), so a kill switch survives a restart.

    The trades store is committed through ``commit_trades``: a store that cannot be written
    halts trading, since the engine must not go on trading on a journal it cannot write.
    """

    __slots__ = ("_bus", "_clock", "_mark_interval", "_marks", "_next_mark", "_portfolio", "_risk", "_trades",
                 "_trading", "equity_history", "on_commit", "store_failures", "store_writable")  # fmt: skip

    def __init__(
        self,
        *,
        trading: TradingStateMachine,
        risk: PreTradeRisk,
        portfolio: Portfolio,
        trades: TradeRepository,
        bus: EventBus,
        clock: Clock,
        mark_interval_ns: int = 1_000_000_000,
    ) -> None:
        self._trading = trading
        self._risk = risk
        self._portfolio = portfolio
        self._marks = portfolio.marks  # the portfolio's own dict, never rebound: written per tick
        self._trades = trades
        self._bus = bus
        self._clock = clock
        self._mark_interval = mark_interval_ns
        self._next_mark = 0
        self.store_failures = 0
        self.store_writable = True
        """False from a failed commit of the trades store until the next one succeeds."""
        self.on_commit: Callable[[int], None] | None = None
        """Told how long each successful commit of the trades store took, in nanoseconds."""
        self.equity_history = EquityHistory()
        """Every valuation, one point per step of the engine's clock, for the operator's chart."""

    @property
    def state(self) -> TradingState:
        return self._trading.state

    @property
    def trading(self) -> TradingStateMachine:
        """The trading state machine (read its state, reason, equity, drawdown)."""
        return self._trading

    @property
    def limits(self) -> RiskLimits:
        return self._risk.limits

    # -- market events ----------------------------------------------------------------------

    def on_trade(self, tick: TradeTick) -> None:
        """Mark the instrument and revalue at most once per interval, flat or not: the trading
        state must see time pass (a new UTC day lifts a daily-loss REDUCE_ONLY, and a flat book
        can trade nothing to bring that about)."""
        self._marks[tick.instrument_id] = tick.price
        if tick.ts_event >= self._next_mark:
            self._next_mark = tick.ts_event + self._mark_interval
            self.mark_to_market(self._clock.now_ns())

    def on_bar(self, bar: Bar) -> None:
        """Bars mark positions too, for feeds (and backtests) that carry no trades."""
        self._marks[bar.instrument_id] = bar.close

    def mark_to_market(self, now: int) -> None:
        """Revalue the portfolio and feed the trading state (daily loss, drawdown).

        ``now`` is the engine clock's time, never a venue timestamp: the trading state's days
        and the throttle must see one non-decreasing time line.
        """
        try:
            equity = self._portfolio.revalue()
        except MissingMark as error:
            log.debug("no mark-to-market yet: %s", error)
            return
        self._trading.on_equity(equity, now)
        self.equity_history.record(now, equity)
        self._publish_changes()

    # -- commands -----------------------------------------------------------------------------

    def halt(self, command: Halt) -> TradingState:
        state = self._trading.halt(command.reason, self._clock.now_ns())
        self._publish_changes()
        return state

    def resume(self, command: Resume) -> TradingState:
        """Raises ResumeRefused when trading was not halted by hand."""
        state = self._trading.resume(self._clock.now_ns(), reset_peak=command.reset_peak)
        self._publish_changes()
        return state

    def update_limits(self, command: UpdateRiskLimits) -> TradingState:
        """New limits from the next order on; a tighter loss or drawdown limit may restrict
        trading at once (never lift it)."""
        self._risk.update_limits(command.limits)
        state = self._trading.update_limits(command.limits, self._clock.now_ns())
        self.save_state()  # on the record at once (a restart reports the difference)
        self.commit_trades()
        self._publish_changes()
        return state

    # -- persistence ----------------------------------------------------------------------------

    def restore(self, snapshot: TradingSnapshot) -> None:
        """Continue where the last run left it (recovery)."""
        self._trading.restore(snapshot)
        if snapshot.state is not TradingState.ACTIVE:
            log.warning("trading resumes %s after the restart: %s", snapshot.state.value, snapshot.message)

    def save_state(self) -> None:
        """Write the trading state (and, for the record, the limits) into the trades store's
        unit of work; the next commit makes it durable."""
        self._trades.save_trading_state(self._trading.snapshot(), self._risk.limits, self._clock.now_ns())

    def commit_trades(self) -> bool:
        """Commit the trades store's unit of work; False when the store failed.

        What it holds stays buffered for the next commit (the store keeps it) and trading is
        HALTED with the reason."""
        observe = self.on_commit
        started = perf_counter_ns() if observe is not None else 0
        try:
            self._trades.commit()
        except Exception as error:  # any driver's error (locked, disk full, connection lost)
            self.store_failures += 1
            self.store_writable = False
            problem = f"{type(error).__name__}: {error}"
            log.error("the trades store could not commit (%s); its writes wait for the next commit", problem)
            if self._trading.state is not TradingState.HALTED:
                self._trading.halt(f"the trades store cannot be written ({problem})", self._clock.now_ns())
                self.save_state()
                self._announce(self._trading.drain_events())
            return False
        self.store_writable = True
        if observe is not None:
            observe(perf_counter_ns() - started)
        return True

    def _publish_changes(self) -> None:
        changes = self._trading.drain_events()
        if changes:  # a halt, a limit reached or lifted: it must survive a restart
            self.save_state()
            self.commit_trades()
        self._announce(changes)

    def _announce(self, changes: list[TradingStateChanged]) -> None:
        for change in changes:
            log.warning(
                "trading state %s -> %s: %s", change.previous.value, change.state.value, change.message
            )
            self._bus.publish(change)
