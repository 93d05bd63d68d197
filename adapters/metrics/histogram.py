"""A latency histogram for the event loop: a bucket array and a sum, observed without a lock.

prometheus_client's ``Histogram`` takes a lock per observation; every observation here comes
from one thread (the engine's event loop, or one writer thread), so two list stores suffice.
The scrape reads the buckets as they are; it exports the count as the sum of the buckets, so
the exposition is always self-consistent.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

LOOP_LATENCY_BOUNDS_S = (
    0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip
"""For what happens inside the engine (a tick handled, a tick that became an order): 5 µs..1 s."""

VENUE_LATENCY_BOUNDS_S = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
"""For a round trip to a venue (acknowledgement, first fill): 100 µs..60 s."""

STORE_LATENCY_BOUNDS_S = (
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
    0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
"""For a database commit: 10 µs (in memory) .. 5 s (a stalled disk)."""


class LatencyHistogram:
    """Durations in nanoseconds into fixed buckets (upper bounds in seconds, as Prometheus has them)."""

    __slots__ = ("bounds_ns", "bounds_s", "counts", "sum_ns")

    def __init__(self, bounds_s: Sequence[float]) -> None:
        if not bounds_s or list(bounds_s) != sorted(set(bounds_s)) or bounds_s[0] <= 0:
            raise ValueError(f"bucket bounds must be positive and strictly increasing (were {bounds_s!r})")
        self.bounds_s = tuple(bounds_s)
        self.bounds_ns = [round(bound * 1e9) for bound in bounds_s]
        self.counts = [0] * (len(bounds_s) + 1)
        """Per bucket (not cumulative); the last one is above every bound (+Inf)."""
        self.sum_ns = 0

    def observe(self, duration_ns: int) -> None:
        self.counts[bisect_left(self.bounds_ns, duration_ns)] += 1
        self.sum_ns += duration_ns

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """``(upper bound, observations at or below it)`` per bound, then ``inf``: Prometheus's buckets."""
        counts = list(self.counts)  # one copy: a writer thread may observe meanwhile
        buckets = []
        running = 0
        for bound, count in zip(self.bounds_s, counts, strict=False):
            running += count
            buckets.append((bound, running))
        buckets.append((float("inf"), running + counts[-1]))
        return buckets

    @property
    def sum_seconds(self) -> float:
        return self.sum_ns / 1e9
