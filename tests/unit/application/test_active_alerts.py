"""The active set: one alert per name and labels, raised once, repeated on time, resolved once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from application.alerts import ActiveAlerts, Condition
from application.messages import AlertSeverity

REPEAT_NS = 100


def condition(name: str = "FeedDown", feed: str = "kraken", summary: str = "down") -> Condition:
    return Condition(name=name, severity=AlertSeverity.CRITICAL, summary=summary, labels=(("feed", feed),))


def test_raised_once_then_repeated_each_interval_then_resolved() -> None:
    active = ActiveAlerts(REPEAT_NS)
    raised = active.update([condition()], 1_000)
    assert [a.fired_at_ns for a in raised.raised] == [1_000]
    assert not active.update([condition()], 1_099)
    assert [a.name for a in active.update([condition()], 1_100).repeated] == ["FeedDown"]
    assert not active.update([condition()], 1_150)
    resolved = active.update([], 1_200)
    assert [(a.fired_at_ns, a.resolved_at_ns) for a in resolved.resolved] == [(1_000, 1_200)]
    assert active.active == ()


def test_the_same_name_and_labels_are_one_alert_and_other_labels_another() -> None:
    active = ActiveAlerts(REPEAT_NS)
    changes = active.update(
        [condition(summary="first"), condition(summary="second"), condition(feed="binance")], 5
    )
    assert [(a.labels, a.summary) for a in changes.raised] == [
        ((("feed", "kraken"),), "first"),
        ((("feed", "binance"),), "down"),
    ]
    assert len(active.active) == 2


def test_an_active_alert_takes_the_latest_numbers_without_being_raised_again() -> None:
    active = ActiveAlerts(REPEAT_NS)
    active.update([condition(summary="down for 30s")], 0)
    assert not active.update([condition(summary="down for 40s")], 10)
    assert [(a.summary, a.fired_at_ns) for a in active.active] == [("down for 40s", 0)]


Step = st.lists(st.sampled_from(["kraken", "binance", "coinbase"]), max_size=3)


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(Step, st.integers(min_value=0, max_value=250)), max_size=40))
def test_every_alert_is_raised_once_per_episode_repeated_on_time_and_resolved_once(
    steps: list[tuple[list[str], int]],
) -> None:
    """Whatever holds when: an alert is raised when its condition starts holding, resolved when
    it stops, never both at once; while it holds, it is sent (raised or repeated) at most once per
    interval and never left unsent for an interval or more."""
    active = ActiveAlerts(REPEAT_NS)
    now = 0
    holding: set[str] = set()
    last_sent: dict[str, int] = {}
    for feeds, gap in steps:
        now += gap
        changes = active.update([condition(feed=f) for f in feeds], now)
        raised = {dict(a.labels)["feed"] for a in changes.raised}
        repeated = {dict(a.labels)["feed"] for a in changes.repeated}
        resolved = {dict(a.labels)["feed"] for a in changes.resolved}
        now_holding = set(feeds)
        assert raised == now_holding - holding
        assert resolved == holding - now_holding
        assert len(changes.raised) == len(raised)
        assert len(changes.resolved) == len(resolved)
        assert not repeated & (raised | resolved)
        for feed in now_holding & holding:
            due = now - last_sent[feed] >= REPEAT_NS
            assert (feed in repeated) == due
        for feed in raised | repeated:
            last_sent[feed] = now
        for feed in resolved:
            del last_sent[feed]
        holding = now_holding
        assert {dict(a.labels)["feed"] for a in active.active} == holding
