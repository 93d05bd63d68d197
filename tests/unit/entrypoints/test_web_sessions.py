"""The session store and the failed-login throttle on a fake clock."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from entrypoints.grpc.auth import Caller, Role
from entrypoints.web.sessions import SessionPolicy, Sessions

CALLER = Caller("t", Role.TRADER)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store(clock: Clock, **policy: float) -> Sessions:
    return Sessions(
        lambda token: CALLER if token == "good" else None, SessionPolicy(**policy), monotonic=clock
    )  # type: ignore[arg-type]


def test_a_session_ends_after_its_idle_time_and_each_request_restarts_it() -> None:
    clock = Clock()
    sessions = store(clock, idle_s=60.0, lifetime_s=3600.0)
    sid, _ = sessions.open("good", CALLER)
    for _ in range(10):
        clock.now += 59.0
        assert sessions.find(sid) is not None
    clock.now += 60.0
    assert sessions.find(sid) is None
    assert len(sessions) == 0


def test_a_session_ends_at_its_lifetime_however_busy() -> None:
    clock = Clock()
    sessions = store(clock, idle_s=60.0, lifetime_s=300.0)
    sid, _ = sessions.open("good", CALLER)
    while clock.now < 1000.0 + 299.0:
        assert sessions.find(sid) is not None
        clock.now += 30.0
    clock.now = 1000.0 + 300.0
    assert sessions.find(sid) is None


def test_the_oldest_session_gives_way_at_the_maximum() -> None:
    sessions = store(Clock(), max_sessions=3)
    sids = [sessions.open("good", CALLER)[0] for _ in range(4)]
    assert sessions.find(sids[0]) is None
    assert all(sessions.find(sid) is not None for sid in sids[1:])


def test_session_ids_and_csrf_tokens_are_unpredictable_and_distinct() -> None:
    sessions = store(Clock())
    opened = [sessions.open("good", CALLER) for _ in range(200)]
    values = {sid for sid, _ in opened} | {s.csrf for _, s in opened}
    assert len(values) == 400
    assert all(len(v) >= 43 for v in values)
    assert "good" not in repr(opened[0][1])  # the token is kept out of reprs (and so of logs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=120.0, allow_nan=False), min_size=1, max_size=60))
def test_no_address_gets_more_failed_logins_than_allowed_in_any_window(gaps: list[float]) -> None:
    clock = Clock()
    sessions = store(clock, failures_allowed=5, failure_window_s=300.0)
    admitted: list[float] = []
    for gap in gaps:
        clock.now += gap
        if sessions.retry_after("10.0.0.1") == 0.0:
            admitted.append(clock.now)
            sessions.failed("10.0.0.1")
        assert sessions.retry_after("10.0.0.2") == 0.0  # other addresses are not held back
    for start in admitted:
        assert sum(1 for t in admitted if start <= t < start + 300.0) <= 5


def test_a_throttled_address_may_try_again_after_the_window() -> None:
    clock = Clock()
    sessions = store(clock, failures_allowed=2, failure_window_s=60.0)
    sessions.failed("a")
    clock.now += 10
    sessions.failed("a")
    assert 49.0 < sessions.retry_after("a") <= 50.0
    clock.now += 50.0
    assert sessions.retry_after("a") == 0.0
