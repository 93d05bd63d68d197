"""The venue's clock as seen from here: our wall clock plus an offset measured over a round trip.

Signed requests carry a ``timestamp`` the venue checks against its own clock (refused when
1 s ahead or older than ``recvWindow``), and whether a lost order can still be executed is
decided by the venue's time, not ours. The offset is the server time minus the midpoint of
the request's round trip: wherever in that round trip the server read its clock, the estimate
is off by at most half the round trip.
"""

from __future__ import annotations

from application.ports import Clock

NS_PER_MS = 1_000_000


def offset_from_round_trip(sent_ns: int, server_time_ms: int, received_ns: int) -> int:
    """The venue's clock minus ours (ms), from a time request sent at ``sent_ns`` and answered
    at ``received_ns`` (our clock) with ``server_time_ms`` (the venue's)."""
    if received_ns < sent_ns:
        raise ValueError(f"the answer ({received_ns}) cannot come before the request ({sent_ns})")
    midpoint_ms = (sent_ns + received_ns) // 2 // NS_PER_MS
    return server_time_ms - midpoint_ms


class VenueClock:
    """``now_ms`` in the venue's time, from ``clock`` and the last measured offset."""

    __slots__ = ("_clock", "offset_ms", "round_trip_ms", "synced_at_ns", "syncs")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.offset_ms = 0
        self.round_trip_ms = 0
        self.synced_at_ns: int | None = None
        self.syncs = 0

    @property
    def local(self) -> Clock:
        return self._clock

    def record(self, sent_ns: int, server_time_ms: int, received_ns: int) -> int:
        """Take a new measurement; returns the offset (ms)."""
        self.offset_ms = offset_from_round_trip(sent_ns, server_time_ms, received_ns)
        self.round_trip_ms = (received_ns - sent_ns) // NS_PER_MS
        self.synced_at_ns = received_ns
        self.syncs += 1
        return self.offset_ms

    def now_ms(self) -> int:
        """The venue's time now (ms since the epoch), as best known."""
        return self._clock.now_ns() // NS_PER_MS + self.offset_ms

    def due(self, interval_s: float) -> bool:
        """True when never synced, or the last sync is older than ``interval_s``."""
        synced = self.synced_at_ns
        return synced is None or self._clock.now_ns() - synced >= interval_s * 1e9
