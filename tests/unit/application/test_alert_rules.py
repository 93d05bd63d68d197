"""The alert rules on scripted observations: each fires on its condition and clears with it."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from application.alerts import AlertPolicy, AlertRules, Condition, Observation, StoreCommits
from application.engine import InstrumentData
from application.messages import AlertSeverity
from application.ports import FeedHealth, InstrumentFeedHealth
from domain.risk import TradingState
from tests.builders import BTCUSDT, TS

S = 1_000_000_000
POLICY = AlertPolicy(feed_down_after_s=30, book_resync_failures=3, broker_rejections=5)


def seen(at_s: float = 0, **changes: object) -> Observation:
    base = Observation(now_ns=TS + int(at_s * S), running=True)
    return replace(base, **changes)  # type: ignore[arg-type]


def names(conditions: list[Condition]) -> list[str]:
    return [condition.name for condition in conditions]


def feed(*, connected: bool = True, resubscriptions: int = 0, gaps: int = 0, checksum: int = 0) -> FeedHealth:
    book = InstrumentFeedHealth(
        instrument_id=BTCUSDT,
        book_verified=True,
        last_message_ns=TS,
        gaps=gaps,
        checksum_failures=checksum,
        resubscriptions=resubscriptions,
    )
    return FeedHealth(
        name="kraken",
        connected=connected,
        last_message_ns=TS,
        messages=1,
        reconnects=0,
        gaps=gaps,
        malformed=0,
        last_error="" if connected else "connection reset",
        instruments=(book,),
    )


def data(*, usable: bool = True, age_s: float | None = 1, problem: str = "") -> InstrumentData:
    return InstrumentData(
        instrument_id=str(BTCUSDT),
        connected=usable,
        data_age_ns=None if age_s is None else int(age_s * S),
        book_synced=None,
        usable=usable,
        problem=problem,
    )


def test_trading_state_fires_halted_critical_and_reduce_only_warning() -> None:
    rules = AlertRules(POLICY)
    assert rules.evaluate(seen()) == []
    halted = rules.evaluate(
        seen(trading_state=TradingState.HALTED, trading_reason="halted by an operator: test")
    )
    assert halted == [
        Condition(
            name="TradingHalted",
            severity=AlertSeverity.CRITICAL,
            summary="trading HALTED: halted by an operator: test",
        )
    ]
    reduce_only = rules.evaluate(seen(trading_state=TradingState.REDUCE_ONLY, trading_reason="daily loss"))
    assert names(reduce_only) == ["TradingReduceOnly"]
    assert reduce_only[0].severity is AlertSeverity.WARNING


def test_a_feed_fires_only_once_down_longer_than_the_threshold_and_clears_when_back() -> None:
    rules = AlertRules(POLICY)
    assert rules.evaluate(seen(0, feeds=(feed(connected=False),))) == []
    assert rules.evaluate(seen(29, feeds=(feed(connected=False),))) == []
    fired = rules.evaluate(seen(30, feeds=(feed(connected=False),)))
    assert names(fired) == ["FeedDown"]
    assert fired[0].labels == (("feed", "kraken"),)
    assert fired[0].summary == "feed kraken disconnected for 30s: connection reset"
    assert rules.evaluate(seen(31, feeds=(feed(),))) == []
    assert rules.evaluate(seen(32, feeds=(feed(connected=False),))) == []  # the clock starts again


def test_feeds_are_not_judged_while_the_engine_is_not_running() -> None:
    rules = AlertRules(POLICY)
    rules.evaluate(seen(0, running=False, feeds=(feed(connected=False),)))
    assert rules.evaluate(seen(100, running=False, feeds=(feed(connected=False),))) == []


def test_an_instrument_unusable_or_silent_too_long_fires_feed_down_by_instrument() -> None:
    rules = AlertRules(POLICY)
    assert rules.evaluate(seen(0, instruments=(data(usable=False, problem="book not in sync"),))) == []
    fired = rules.evaluate(seen(45, instruments=(data(usable=False, problem="book not in sync"),)))
    assert names(fired) == ["FeedDown"]
    assert fired[0].labels == (("instrument", str(BTCUSDT)),)
    assert "unusable for 45s: book not in sync" in fired[0].summary
    assert rules.evaluate(seen(46, instruments=(data(),))) == []
    silent = rules.evaluate(seen(47, instruments=(data(age_s=31),)))
    assert silent[0].summary == f"no market data on {BTCUSDT} for 31s"


def test_book_resyncs_fire_at_the_count_within_five_minutes_and_clear_after() -> None:
    rules = AlertRules(POLICY)
    rules.evaluate(seen(0, feeds=(feed(resubscriptions=7),)))  # the baseline: earlier resyncs do not count
    assert (
        rules.evaluate(seen(10, feeds=(feed(resubscriptions=8, checksum=1),))) == []
    )  # one event, one resync
    assert rules.evaluate(seen(20, feeds=(feed(resubscriptions=9, checksum=2),))) == []
    fired = rules.evaluate(seen(30, feeds=(feed(resubscriptions=9, checksum=2, gaps=1),)))  # a gap refetch
    assert names(fired) == ["BookResyncFailing"]
    assert fired[0].labels == (("feed", "kraken"), ("instrument", str(BTCUSDT)))
    assert "resynced 3 times in 5 min" in fired[0].summary
    assert names(rules.evaluate(seen(309, feeds=(feed(resubscriptions=9, checksum=2, gaps=1),)))) == [
        "BookResyncFailing"
    ]
    assert rules.evaluate(seen(311, feeds=(feed(resubscriptions=9, checksum=2, gaps=1),))) == []


def test_broker_rejections_fire_at_the_count_within_five_minutes() -> None:
    rules = AlertRules(POLICY)
    rules.evaluate(seen(0, broker="paper", broker_rejections=100))
    assert rules.evaluate(seen(1, broker="paper", broker_rejections=104)) == []
    fired = rules.evaluate(seen(2, broker="paper", broker_rejections=105))
    assert names(fired) == ["BrokerRejecting"]
    assert fired[0].labels == (("broker", "paper"),)
    assert "rejected 5 orders in 5 min" in fired[0].summary
    assert rules.evaluate(seen(302, broker="paper", broker_rejections=105)) == []


def test_a_reconciliation_difference_holds_until_a_run_finds_none() -> None:
    rules = AlertRules(POLICY)
    rules.evaluate(seen(0, reconciliation_runs=3, reconciliation_differences=0))
    fired = rules.evaluate(seen(1, reconciliation_runs=4, reconciliation_differences=2))
    assert names(fired) == ["ReconciliationDifference"]
    assert "found 2 difference(s)" in fired[0].summary
    assert names(rules.evaluate(seen(2, reconciliation_runs=4, reconciliation_differences=2))) == [
        "ReconciliationDifference"
    ]
    assert rules.evaluate(seen(3, reconciliation_runs=5, reconciliation_differences=2)) == []


def test_a_store_fails_until_a_commit_succeeds() -> None:
    rules = AlertRules(POLICY)
    rules.evaluate(seen(0, stores={"trades": StoreCommits(failures=0, commits=10)}))
    fired = rules.evaluate(seen(1, stores={"trades": StoreCommits(failures=2, commits=10)}))
    assert names(fired) == ["StoreCommitFailing"]
    assert fired[0].labels == (("store", "trades"),)
    assert fired[0].severity is AlertSeverity.CRITICAL
    assert names(rules.evaluate(seen(2, stores={"trades": StoreCommits(failures=2, commits=10)}))) == [
        "StoreCommitFailing"
    ]
    assert rules.evaluate(seen(3, stores={"trades": StoreCommits(failures=2, commits=11)})) == []


def test_a_store_that_does_not_count_successes_clears_a_window_after_its_last_failure() -> None:
    rules = AlertRules(POLICY)
    rules.evaluate(seen(0, stores={"market_data": StoreCommits(failures=0)}))
    assert rules.evaluate(seen(1, stores={"market_data": StoreCommits(failures=1)}))
    assert rules.evaluate(seen(300, stores={"market_data": StoreCommits(failures=1)}))
    assert rules.evaluate(seen(302, stores={"market_data": StoreCommits(failures=1)})) == []


def test_a_strategy_disabled_after_an_error_is_named() -> None:
    fired = AlertRules(POLICY).evaluate(seen(failed_strategies=(("sma", "ValueError: boom"),)))
    assert names(fired) == ["StrategyDisabled"]
    assert fired[0].labels == (("strategy", "sma"),)
    assert fired[0].summary == "strategy sma was disabled after an error: ValueError: boom"


@pytest.mark.parametrize(
    ("pnl", "fires"), [("-399.99", False), ("-400", True), ("-600", True), ("50", False)]
)
def test_daily_loss_near_limit_from_the_warning_fraction(pnl: str, fires: bool) -> None:
    fired = AlertRules(POLICY).evaluate(seen(daily_pnl=Decimal(pnl), daily_loss_limit=Decimal(500)))
    assert names(fired) == (["DailyLossNearLimit"] if fires else [])


def test_daily_loss_near_limit_says_how_near() -> None:
    fired = AlertRules(POLICY).evaluate(seen(daily_pnl=Decimal("-420"), daily_loss_limit=Decimal(500)))
    assert fired[0].summary == "daily P&L -420 is 84% of the daily loss limit 500 (warning from 80%)"


def test_drawdown_near_limit_from_the_warning_fraction() -> None:
    rules = AlertRules(POLICY)
    assert rules.evaluate(seen(drawdown=Decimal("0.079"), max_drawdown=Decimal("0.1"))) == []
    fired = rules.evaluate(seen(drawdown=Decimal("0.085"), max_drawdown=Decimal("0.1")))
    assert names(fired) == ["DrawdownNearLimit"]
    assert (
        fired[0].summary == "drawdown 8.5% of peak equity is 85% of the max drawdown 10% (warning from 80%)"
    )
    assert rules.evaluate(seen(drawdown=Decimal("0.5"), max_drawdown=None)) == []


def test_a_policy_that_cannot_work_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="loss_warning_fraction"):
        AlertPolicy(loss_warning_fraction=Decimal("1.5"))
    with pytest.raises(ValueError, match="broker_rejections"):
        AlertPolicy(broker_rejections=0)
    with pytest.raises(ValueError, match="repeat_interval_s"):
        AlertPolicy(repeat_interval_s=0)
