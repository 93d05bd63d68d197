"""The lock-free latency histogram: buckets as Prometheus reads them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.metrics.histogram import LOOP_LATENCY_BOUNDS_S, LatencyHistogram


def test_a_duration_on_a_bound_counts_in_that_bucket() -> None:
    histogram = LatencyHistogram((0.001, 0.01))
    histogram.observe(1_000_000)  # exactly 1 ms: le="0.001"
    histogram.observe(1_000_001)
    histogram.observe(20_000_000)
    assert histogram.cumulative() == [(0.001, 1), (0.01, 2), (float("inf"), 3)]
    assert histogram.count == 3
    assert histogram.sum_seconds == pytest.approx(0.022000001)


@pytest.mark.parametrize("bounds", [(), (0.01, 0.001), (0.0, 1.0), (0.1, 0.1)])
def test_bounds_must_be_positive_and_increasing(bounds: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        LatencyHistogram(bounds)


@given(st.lists(st.integers(min_value=-(10**6), max_value=10**10), max_size=200))
def test_buckets_are_cumulative_and_end_with_every_observation(durations: list[int]) -> None:
    histogram = LatencyHistogram(LOOP_LATENCY_BOUNDS_S)
    for duration in durations:
        histogram.observe(duration)
    buckets = histogram.cumulative()
    counts = [count for _, count in buckets]
    assert counts == sorted(counts)
    assert buckets[-1] == (float("inf"), len(durations))
    for bound, count in buckets[:-1]:
        assert count == sum(1 for d in durations if d <= round(bound * 1e9))
    assert histogram.sum_ns == sum(durations)
