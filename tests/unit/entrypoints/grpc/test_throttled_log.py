"""Client-provoked warnings: one line per key per interval, a cap over all keys, counts kept."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.grpc.throttled_log import ThrottledLog, peer_host


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _log(caplog: pytest.LogCaptureFixture, **options: float) -> tuple[ThrottledLog, Clock]:
    clock = Clock()
    caplog.set_level(logging.WARNING, logger="test.throttled")
    return ThrottledLog(logging.getLogger("test.throttled"), monotonic=clock, **options), clock  # type: ignore[arg-type]


def test_one_line_per_key_per_interval_then_the_held_back_count(caplog: pytest.LogCaptureFixture) -> None:
    throttled, clock = _log(caplog, interval=60.0)
    logged = [throttled.warning(("peer", "bad"), "bad thing from %s", "peer") for _ in range(10)]
    assert logged == [True] + [False] * 9
    assert throttled.warning(("other", "bad"), "bad thing from %s", "other")
    clock.now = 61.0
    assert throttled.warning(("peer", "bad"), "bad thing from %s", "peer")

    lines = [record.getMessage() for record in caplog.records]
    assert lines[:2] == ["bad thing from peer", "bad thing from other"]
    assert lines[2] == "bad thing from peer (9 similar lines held back, 0 over the overall cap)"


def test_many_keys_cannot_get_past_the_overall_cap(caplog: pytest.LogCaptureFixture) -> None:
    throttled, clock = _log(caplog, interval=60.0, lines_per_interval=5)
    for index in range(1000):
        throttled.warning((f"peer-{index}",), "refused")
    assert len(caplog.records) == 5
    assert throttled.held == 995
    clock.now = 60.0
    assert throttled.warning(("late",), "refused")
    assert caplog.records[-1].getMessage() == "refused (0 similar lines held back, 995 over the overall cap)"


@given(st.lists(st.tuples(st.integers(0, 20), st.floats(0, 5)), max_size=300))
def test_never_more_lines_than_the_cap_allows(calls: list[tuple[int, float]]) -> None:
    clock = Clock()
    logger = logging.getLogger("test.throttled.property")
    logger.propagate = False
    throttled = ThrottledLog(logger, interval=10.0, lines_per_interval=3, monotonic=clock)
    logged_at: list[float] = []
    for key, step in calls:
        clock.now += step
        if throttled.warning((str(key),), "x"):
            logged_at.append(clock.now)
    for start in logged_at:  # any window of the interval holds at most twice the cap (two windows)
        assert sum(1 for t in logged_at if start <= t < start + 10.0) <= 6
    assert len(logged_at) + throttled.held == len(calls)


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:127.0.0.1:53412", "ipv4:127.0.0.1"),
        ("ipv6:[::1]:50051", "ipv6:[::1]"),
        ("unix:/tmp/socket", "unix:/tmp/socket"),
        ("", ""),
    ],
)
def test_the_peer_is_its_host_without_the_port(peer: str, host: str) -> None:
    assert peer_host(peer) == host
