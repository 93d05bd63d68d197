"""TradingStateMachine: daily loss -> REDUCE_ONLY, drawdown -> HALTED, kill switch, resume, new day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from domain.risk import (
    NS_PER_DAY,
    ResumeRefused,
    RiskLimits,
    RiskReason,
    TradingState,
    TradingStateChanged,
    TradingStateMachine,
    utc_day,
)

from .builders import SEC

DAY = 19_675 * NS_PER_DAY  # 2023-11-14T00:00:00Z
NOON = DAY + 12 * 3_600 * SEC
NEXT_DAY = DAY + NS_PER_DAY
A, S, H = TradingState.ACTIVE, TradingState.REDUCE_ONLY, TradingState.HALTED


def machine(**limits: str) -> TradingStateMachine:
    return TradingStateMachine(RiskLimits.from_mapping(limits))


def d(text: str) -> Decimal:
    return Decimal(text)


def test_a_new_machine_is_active_with_nothing_to_report() -> None:
    guard = machine(daily_loss_limit="500")

    assert (guard.state, guard.reason, guard.message, guard.since_ns) == (A, None, "", 0)
    assert (guard.daily_pnl, guard.drawdown, guard.drawdown_fraction) == (Decimal(0),) * 3
    assert guard.events == []


# -- daily loss ---------------------------------------------------------------------------------


def test_the_daily_loss_limit_turns_reduce_only_when_reached_not_before() -> None:
    guard = machine(daily_loss_limit="500")
    guard.on_equity(d("10000"), NOON)

    assert guard.on_equity(d("9500.01"), NOON + 1) is A
    assert guard.on_equity(d("9500"), NOON + 2) is S

    assert (guard.reason, guard.since_ns, guard.daily_pnl) == (
        RiskReason.DAILY_LOSS_LIMIT,
        NOON + 2,
        d("-500"),
    )
    assert guard.message == (
        "daily P&L -500 (opening equity 10000, equity 9500) reached the daily loss limit 500"
    )
    assert guard.events == [
        TradingStateChanged(
            previous=A, state=S, reason=RiskReason.DAILY_LOSS_LIMIT, message=guard.message, ts_event=NOON + 2
        )
    ]


def test_recovering_within_the_day_does_not_lift_reduce_only_but_allows_a_resume() -> None:
    guard = machine(daily_loss_limit="500")
    guard.on_equity(d("10000"), NOON)
    guard.on_equity(d("9400"), NOON + 1)

    with pytest.raises(ResumeRefused, match="daily P&L -600") as caught:
        guard.resume(NOON + 2)
    assert (caught.value.reason, caught.value.limit, caught.value.value) == (
        RiskReason.DAILY_LOSS_LIMIT,
        d("500"),
        d("-600"),
    )
    assert caught.value.code == "RESUME_REFUSED"
    assert guard.state is S

    assert guard.on_equity(d("9800"), NOON + 3) is S
    assert guard.resume(NOON + 4) is A
    assert guard.events[-1].reason is RiskReason.MANUAL_RESUME
    assert (guard.reason, guard.message) == (None, "")


def test_a_new_utc_day_lifts_the_daily_loss_reduce_only_and_reopens_the_day() -> None:
    guard = machine(daily_loss_limit="500")
    guard.on_equity(d("10000"), NOON)
    guard.on_equity(d("9000"), NEXT_DAY - 1)  # the last nanosecond of the day
    assert guard.state is S

    assert guard.on_equity(d("9000"), NEXT_DAY) is A

    assert guard.opening_equity == d("9000")
    assert guard.daily_pnl == 0
    last = guard.events[-1]
    assert (last.previous, last.state, last.reason) == (S, A, RiskReason.NEW_TRADING_DAY)
    assert last.message == "UTC day 2023-11-15 began: the daily loss limit is reset"


def test_the_first_equity_of_a_day_opens_it() -> None:
    guard = machine(daily_loss_limit="500")
    guard.on_equity(d("10000"), NOON)
    guard.on_equity(d("12000"), NEXT_DAY + 5)

    assert guard.on_equity(d("11500"), NEXT_DAY + 6) is S  # -500 against the new day's 12000


# -- drawdown -----------------------------------------------------------------------------------


def test_the_max_drawdown_halts_when_reached_not_before() -> None:
    guard = machine(max_drawdown_fraction="0.1")
    guard.on_equity(d("8000"), NOON)
    guard.on_equity(d("10000"), NOON + 1)  # the peak

    assert guard.on_equity(d("9000.01"), NOON + 2) is A
    assert guard.on_equity(d("9000"), NOON + 3) is H

    assert guard.reason is RiskReason.MAX_DRAWDOWN
    assert guard.message == "drawdown 10% (peak equity 10000, equity 9000) reached the max drawdown 10%"
    assert (guard.peak_equity, guard.drawdown, guard.drawdown_fraction) == (d("10000"), d("1000"), d("0.1"))


def test_the_drawdown_halt_survives_a_new_day_and_a_refused_resume() -> None:
    guard = machine(max_drawdown_fraction="0.1")
    guard.on_equity(d("10000"), NOON)
    guard.on_equity(d("8500"), NOON + 1)

    assert guard.on_equity(d("8500"), NEXT_DAY) is H
    with pytest.raises(ResumeRefused, match="drawdown 15%") as caught:
        guard.resume(NEXT_DAY + 1)
    assert (caught.value.reason, caught.value.limit, caught.value.value) == (
        RiskReason.MAX_DRAWDOWN,
        d("0.1"),
        d("0.15"),
    )
    assert guard.state is H

    guard.on_equity(d("9500"), NEXT_DAY + 2)
    assert guard.resume(NEXT_DAY + 3) is A


def test_a_resume_may_accept_the_loss_and_reset_the_peak() -> None:
    guard = machine(max_drawdown_fraction="0.1")
    guard.on_equity(d("10000"), NOON)
    guard.on_equity(d("8000"), NOON + 1)

    assert guard.resume(NOON + 2, reset_peak=True) is A

    assert (guard.peak_equity, guard.drawdown) == (d("8000"), Decimal(0))
    assert guard.on_equity(d("7201"), NOON + 3) is A
    assert guard.on_equity(d("7200"), NOON + 4) is H


def test_a_refused_resume_does_not_reset_the_peak() -> None:
    guard = machine(max_drawdown_fraction="0.1", daily_loss_limit="100")
    guard.on_equity(d("10000"), NOON)
    guard.on_equity(d("8000"), NOON + 1)

    with pytest.raises(ResumeRefused) as caught:
        guard.resume(NOON + 2, reset_peak=True)  # the daily loss is still breached

    assert caught.value.reason is RiskReason.DAILY_LOSS_LIMIT
    assert guard.peak_equity == d("10000")


def test_the_drawdown_escalates_reduce_only_to_halted() -> None:
    guard = machine(max_drawdown_fraction="0.1", daily_loss_limit="500")
    guard.on_equity(d("10000"), NOON)
    guard.on_equity(d("9500"), NOON + 1)
    assert guard.state is S

    assert guard.on_equity(d("9000"), NOON + 2) is H
    assert [e.state for e in guard.events] == [S, H]


def test_no_peak_above_zero_means_no_drawdown() -> None:
    guard = machine(max_drawdown_fraction="0.1")

    assert guard.on_equity(d("0"), NOON) is A
    assert guard.on_equity(d("-50"), NOON + 1) is A
    assert guard.drawdown_fraction == 0


# -- kill switch --------------------------------------------------------------------------------


def test_the_kill_switch_halts_until_an_operator_resumes() -> None:
    guard = machine(daily_loss_limit="500")
    guard.on_equity(d("10000"), NOON)

    assert guard.halt("exchange incident", NOON + 1) is H
    assert (guard.reason, guard.message, guard.since_ns) == (
        RiskReason.KILL_SWITCH,
        "halted by an operator: exchange incident",
        NOON + 1,
    )
    assert guard.on_equity(d("10000"), NEXT_DAY) is H  # a new day does not lift it

    assert guard.resume(NEXT_DAY + 1) is A
    assert [(e.state, e.reason) for e in guard.events] == [
        (H, RiskReason.KILL_SWITCH),
        (A, RiskReason.MANUAL_RESUME),
    ]


def test_halting_twice_changes_nothing_and_resuming_when_active_reports_nothing() -> None:
    guard = machine()

    guard.halt("first", NOON)
    guard.halt("second", NOON + 1)
    guard.resume(NOON + 2)
    guard.resume(NOON + 3)

    assert len(guard.drain_events()) == 2
    assert guard.events == []


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_halt_needs_a_reason(reason: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        machine().halt(reason, NOON)  # type: ignore[arg-type]

    assert caught.value.field == "reason"


# -- limits and inputs --------------------------------------------------------------------------


def test_tighter_limits_apply_at_once_and_looser_ones_lift_nothing() -> None:
    guard = machine(daily_loss_limit="500")
    guard.on_equity(d("10000"), NOON)
    guard.on_equity(d("9700"), NOON + 1)

    assert guard.update_limits(RiskLimits(daily_loss_limit=d("300")), NOON + 2) is S
    assert guard.update_limits(RiskLimits(daily_loss_limit=d("1000")), NOON + 3) is S
    assert guard.limits.daily_loss_limit == d("1000")


@pytest.mark.parametrize("method", ["on_equity", "halt", "resume", "update_limits"])
def test_time_going_backwards_is_refused(method: str) -> None:
    guard = machine()
    guard.on_equity(d("100"), NOON)
    arguments = {
        "on_equity": (d("100"), NOON - 1),
        "halt": ("stop", NOON - 1),
        "resume": (NOON - 1,),
        "update_limits": (RiskLimits(), NOON - 1),
    }[method]

    with pytest.raises(InvalidValue, match="went backwards") as caught:
        getattr(guard, method)(*arguments)

    assert caught.value.field == "now_ns"


@pytest.mark.parametrize("equity", [100.0, Decimal("NaN"), "abc", None])
def test_a_malformed_equity_is_refused(equity: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        machine().on_equity(equity, NOON)  # type: ignore[arg-type]

    assert caught.value.field == "equity"


def test_limits_must_be_risk_limits() -> None:
    with pytest.raises(InvalidValue):
        TradingStateMachine({"daily_loss_limit": "5"})  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        machine().update_limits({}, NOON)  # type: ignore[arg-type]


def test_utc_day_uses_integer_arithmetic_on_nanoseconds() -> None:
    assert utc_day(0) == date(1970, 1, 1)
    assert utc_day(DAY) == date(2023, 11, 14)
    assert utc_day(NEXT_DAY - 1) == date(2023, 11, 14)
    assert utc_day(NEXT_DAY) == date(2023, 11, 15)


def test_a_snapshot_restores_the_state_its_reason_and_the_equity_marks() -> None:
    limits = RiskLimits.from_mapping({"max_drawdown_fraction": "0.5", "daily_loss_limit": "100"})
    machine = TradingStateMachine(limits)
    machine.on_equity(Decimal(1000), 10)
    machine.on_equity(Decimal(1200), 20)
    machine.halt("checking a fill", 30)
    restored = TradingStateMachine(limits)
    restored.restore(machine.snapshot())
    assert restored.snapshot() == machine.snapshot()
    assert restored.state is machine.state
    assert restored.peak_equity == Decimal(1200)
    assert restored.events == []  # nothing changed, so nothing to publish
    with pytest.raises(InvalidValue, match="snapshot"):
        restored.restore("HALTED")  # type: ignore[arg-type]
