"""Trading state ACTIVE / REDUCE_ONLY / HALTED, driven by daily loss, drawdown and a kill switch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum

from domain.errors import DomainError, InvalidValue
from domain.values import ROUNDED, ZERO, divide, plain, to_decimal

from ._text import percent
from .limits import RiskLimits
from .reasons import RiskReason
from .throttle import checked_time

NS_PER_DAY = 86_400_000_000_000
_EPOCH = date(1970, 1, 1)


class TradingState(Enum):
    """What new orders may do: anything, only reduce positions, or nothing at all."""

    ACTIVE = "ACTIVE"
    REDUCE_ONLY = "REDUCE_ONLY"
    HALTED = "HALTED"


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateChanged:
    """The trading state moved from ``previous`` to ``state`` because of ``reason`` at ``ts_event``."""

    previous: TradingState
    state: TradingState
    reason: RiskReason
    message: str
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingSnapshot:
    """What a restart needs to continue post-trade risk: the state and why, the UTC day, its
    opening equity and the equity peak (the drawdown's base). Limits are not in it: they come
    from the configuration (and its overrides) at each start."""

    state: TradingState
    reason: RiskReason | None
    message: str
    since_ns: int
    day: int | None
    equity: Decimal | None
    opening_equity: Decimal | None
    peak_equity: Decimal | None


class ResumeRefused(DomainError):
    """A resume was asked while an automatic limit is still breached; the state did not change."""

    code = "RESUME_REFUSED"

    def __init__(self, reason: RiskReason, message: str, *, limit: Decimal, value: Decimal) -> None:
        self.reason = reason
        self.limit = limit
        self.value = value
        super().__init__(f"cannot resume trading: {message}")


def utc_day(ts_ns: int) -> date:
    """The UTC calendar day containing ``ts_ns`` (integer arithmetic, no clock, no time zone)."""
    return _EPOCH + timedelta(days=ts_ns // NS_PER_DAY)


class TradingStateMachine:
    """Post-trade risk: turns equity updates and operator commands into a trading state.

    - Daily loss: the first equity seen in a UTC day opens that day; once the day's P&L
      (equity − opening equity) is at or below ``-daily_loss_limit`` an ACTIVE state turns
      REDUCE_ONLY. The next UTC day lifts that REDUCE_ONLY (and only that one).
    - Drawdown: peak equity is the highest equity seen; once (peak − equity) / peak reaches
      ``max_drawdown_fraction`` the state turns HALTED. Only an operator lifts it.
    - Kill switch: ``halt`` turns HALTED; only ``resume`` lifts it.

    A breach is "reached", not "passed": the limit value itself triggers (a loss limit of
    500 fires at a P&L of exactly -500). ``resume`` raises ResumeRefused while an automatic
    limit is still breached. Every change appends a TradingStateChanged to ``events`` for the
    engine to publish (``drain_events`` hands them over). Time comes in as ``now_ns`` and
    must not go backwards (InvalidValue naming ``now_ns``).
    """

    __slots__ = (
        "_day",
        "_equity",
        "_last_ns",
        "_limits",
        "_message",
        "_opening_equity",
        "_peak",
        "_reason",
        "_since_ns",
        "_state",
        "events",
    )

    def __init__(self, limits: RiskLimits) -> None:
        if not isinstance(limits, RiskLimits):
            raise InvalidValue("limits", limits, "must be a RiskLimits")
        self._limits = limits
        self._state = TradingState.ACTIVE
        self._reason: RiskReason | None = None
        self._message = ""
        self._since_ns = 0
        self._last_ns = 0
        self._day: int | None = None
        self._equity: Decimal | None = None
        self._opening_equity: Decimal | None = None
        self._peak: Decimal | None = None
        self.events: list[TradingStateChanged] = []

    # -- read side ------------------------------------------------------------------------

    @property
    def state(self) -> TradingState:
        return self._state

    @property
    def reason(self) -> RiskReason | None:
        """Why trading is restricted (None while ACTIVE)."""
        return self._reason

    @property
    def message(self) -> str:
        """The human sentence for ``reason`` ("" while ACTIVE)."""
        return self._message

    @property
    def since_ns(self) -> int:
        """When the current state began."""
        return self._since_ns

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @property
    def equity(self) -> Decimal | None:
        return self._equity

    @property
    def peak_equity(self) -> Decimal | None:
        return self._peak

    @property
    def opening_equity(self) -> Decimal | None:
        """Equity at the start of the current UTC day (its first equity update)."""
        return self._opening_equity

    @property
    def daily_pnl(self) -> Decimal:
        if self._equity is None or self._opening_equity is None:
            return ZERO
        return ROUNDED.subtract(self._equity, self._opening_equity)

    @property
    def drawdown(self) -> Decimal:
        """Peak equity minus equity (>= 0), in the valuation currency."""
        if self._equity is None or self._peak is None:
            return ZERO
        return max(ZERO, ROUNDED.subtract(self._peak, self._equity))

    @property
    def drawdown_fraction(self) -> Decimal:
        """Drawdown over peak equity (0 while the peak is not positive)."""
        if self._peak is None or self._peak <= ZERO:
            return ZERO
        return divide(self.drawdown, self._peak)

    def snapshot(self) -> TradingSnapshot:
        return TradingSnapshot(
            state=self._state,
            reason=self._reason,
            message=self._message,
            since_ns=self._since_ns,
            day=self._day,
            equity=self._equity,
            opening_equity=self._opening_equity,
            peak_equity=self._peak,
        )

    def restore(self, snapshot: TradingSnapshot) -> None:
        """Continue from a snapshot of an earlier run (a HALTED engine restarts HALTED).

        The limits in force now apply from the next equity update; no event is recorded,
        since nothing changed. Raises InvalidValue for something that is not a snapshot.
        """
        if not isinstance(snapshot, TradingSnapshot):
            raise InvalidValue("snapshot", snapshot, "must be a TradingSnapshot")
        self._state = snapshot.state
        self._reason = snapshot.reason
        self._message = snapshot.message
        self._since_ns = snapshot.since_ns
        self._day = snapshot.day
        self._equity = snapshot.equity
        self._opening_equity = snapshot.opening_equity
        self._peak = snapshot.peak_equity

    def drain_events(self) -> list[TradingStateChanged]:
        """Hand over (and forget) the state changes recorded since the last call."""
        events, self.events = self.events, []
        return events

    # -- commands -------------------------------------------------------------------------

    def on_equity(self, equity: Decimal, now_ns: int) -> TradingState:
        """Feed the latest equity; returns the (possibly new) state.

        Raises InvalidValue for a non-finite or float equity, or ``now_ns`` going backwards.
        """
        value = to_decimal(equity, "equity")
        self._last_ns = checked_time(now_ns, self._last_ns)
        day = now_ns // NS_PER_DAY
        if day != self._day:
            first = self._day is None
            self._day = day
            self._opening_equity = value
            if not first and self._reason is RiskReason.DAILY_LOSS_LIMIT:
                self._move(
                    TradingState.ACTIVE,
                    RiskReason.NEW_TRADING_DAY,
                    f"UTC day {utc_day(now_ns).isoformat()} began: the daily loss limit is reset",
                    now_ns,
                )
        self._equity = value
        if self._peak is None or value > self._peak:
            self._peak = value
        self._evaluate(now_ns)
        return self._state

    def halt(self, reason: str, now_ns: int) -> TradingState:
        """The kill switch: HALTED until ``resume``. ``reason`` is the operator's sentence.

        Halting an already halted machine changes nothing. Raises InvalidValue for an
        empty reason or ``now_ns`` going backwards.
        """
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidValue("reason", reason, "must be a non-empty sentence")
        self._last_ns = checked_time(now_ns, self._last_ns)
        if self._state is not TradingState.HALTED:
            self._move(
                TradingState.HALTED, RiskReason.KILL_SWITCH, f"halted by an operator: {reason}", now_ns
            )
        return self._state

    def resume(self, now_ns: int, *, reset_peak: bool = False) -> TradingState:
        """Back to ACTIVE, if no automatic limit is breached; returns ACTIVE.

        ``reset_peak`` re-bases the drawdown on the current equity: the operator accepts
        the loss so far. It is applied only if the resume succeeds. Raises ResumeRefused
        (state unchanged) while the drawdown or the daily loss limit is still breached.
        """
        self._last_ns = checked_time(now_ns, self._last_ns)
        peak = self._equity if reset_peak and self._equity is not None else self._peak
        drawdown = self._drawdown_breach(peak)
        if drawdown is not None:
            raise ResumeRefused(RiskReason.MAX_DRAWDOWN, drawdown[0], limit=drawdown[1], value=drawdown[2])
        loss = self._daily_loss_breach()
        if loss is not None:
            raise ResumeRefused(RiskReason.DAILY_LOSS_LIMIT, loss[0], limit=loss[1], value=loss[2])
        self._peak = peak
        if self._state is not TradingState.ACTIVE:
            self._move(TradingState.ACTIVE, RiskReason.MANUAL_RESUME, "resumed by an operator", now_ns)
        return self._state

    def update_limits(self, limits: RiskLimits, now_ns: int) -> TradingState:
        """Use new limits from now on; tighter limits may restrict at once, looser ones never lift.

        Raises InvalidValue for something that is not RiskLimits or ``now_ns`` going backwards.
        """
        if not isinstance(limits, RiskLimits):
            raise InvalidValue("limits", limits, "must be a RiskLimits")
        self._last_ns = checked_time(now_ns, self._last_ns)
        self._limits = limits
        self._evaluate(now_ns)
        return self._state

    # -- rules ----------------------------------------------------------------------------

    def _evaluate(self, now_ns: int) -> None:
        if self._state is not TradingState.HALTED:
            drawdown = self._drawdown_breach(self._peak)
            if drawdown is not None:
                self._move(TradingState.HALTED, RiskReason.MAX_DRAWDOWN, drawdown[0], now_ns)
                return
        if self._state is TradingState.ACTIVE:
            loss = self._daily_loss_breach()
            if loss is not None:
                self._move(TradingState.REDUCE_ONLY, RiskReason.DAILY_LOSS_LIMIT, loss[0], now_ns)

    def _drawdown_breach(self, peak: Decimal | None) -> tuple[str, Decimal, Decimal] | None:
        limit = self._limits.max_drawdown_fraction
        equity = self._equity
        if limit is None or equity is None or peak is None or peak <= ZERO:
            return None
        drawdown = ROUNDED.subtract(peak, equity)
        if drawdown < ROUNDED.multiply(limit, peak):
            return None
        fraction = divide(drawdown, peak)
        return (
            f"drawdown {percent(fraction)} (peak equity {plain(peak)}, equity {plain(equity)})"
            f" reached the max drawdown {percent(limit)}",
            limit,
            fraction,
        )

    def _daily_loss_breach(self) -> tuple[str, Decimal, Decimal] | None:
        limit = self._limits.daily_loss_limit
        if limit is None or self._equity is None or self._opening_equity is None:
            return None
        pnl = ROUNDED.subtract(self._equity, self._opening_equity)
        if pnl > limit.copy_negate():
            return None
        return (
            f"daily P&L {plain(pnl)} (opening equity {plain(self._opening_equity)}, equity"
            f" {plain(self._equity)}) reached the daily loss limit {plain(limit)}",
            limit,
            pnl,
        )

    def _move(self, to: TradingState, cause: RiskReason, message: str, now_ns: int) -> None:
        previous = self._state
        self._state = to
        self._reason = None if to is TradingState.ACTIVE else cause
        self._message = "" if to is TradingState.ACTIVE else message
        self._since_ns = now_ns
        self.events.append(
            TradingStateChanged(previous=previous, state=to, reason=cause, message=message, ts_event=now_ns)
        )
