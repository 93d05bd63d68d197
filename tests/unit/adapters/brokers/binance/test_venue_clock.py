"""VenueClock: the offset is measured at the midpoint of the round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.brokers.binance.venue_clock import VenueClock, offset_from_round_trip
from adapters.memory.clock import ManualClock

NS_PER_MS = 1_000_000


def test_the_offset_is_the_server_time_minus_the_midpoint() -> None:
    # sent at 1000 ms, answered at 1100 ms, the venue said 1550 ms: it is 500 ms ahead.
    assert offset_from_round_trip(1000 * NS_PER_MS, 1550, 1100 * NS_PER_MS) == 500


def test_an_answer_before_the_request_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot come before"):
        offset_from_round_trip(2, 0, 1)


@given(
    start_ms=st.integers(0, 2_000_000_000_000),
    true_offset_ms=st.integers(-3_600_000, 3_600_000),
    round_trip_ms=st.integers(0, 10_000),
    read_at=st.floats(0, 1),
)
def test_the_estimate_is_off_by_at_most_half_the_round_trip(
    start_ms: int, true_offset_ms: int, round_trip_ms: int, read_at: float
) -> None:
    """Wherever in the round trip the venue read its clock, the error is at most half of it."""
    server_ms = start_ms + round(round_trip_ms * read_at) + true_offset_ms
    estimate = offset_from_round_trip(start_ms * NS_PER_MS, server_ms, (start_ms + round_trip_ms) * NS_PER_MS)

    assert abs(estimate - true_offset_ms) <= round_trip_ms / 2 + 1


def test_now_follows_the_local_clock_plus_the_offset_and_resyncs_when_due() -> None:
    local = ManualClock(10_000 * NS_PER_MS)
    clock = VenueClock(local)
    assert clock.due(60)

    clock.record(10_000 * NS_PER_MS, 12_000, 10_000 * NS_PER_MS)
    local.advance(5 * NS_PER_MS)

    assert clock.offset_ms == 2000
    assert clock.now_ms() == 12_005
    assert not clock.due(60)
    local.advance(60_000 * NS_PER_MS)
    assert clock.due(60)
