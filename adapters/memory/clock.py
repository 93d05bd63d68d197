"""Clocks: the wall clock for live runs, a hand-driven one for tests and replays."""

from __future__ import annotations

import time


class LiveClock:
    """Nanoseconds since the Unix epoch from the operating system, never going backwards.

    The system clock can step back (NTP); risk windows and trading days must not, so a
    reading earlier than the last one returns the last one.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = 0

    def now_ns(self) -> int:
        now = time.time_ns()
        if now < self._last:
            return self._last
        self._last = now
        return now


class ManualClock:
    """A clock that moves only when told; it never goes backwards."""

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def set(self, now_ns: int) -> None:
        if now_ns < self._now:
            raise ValueError(f"clock cannot go backwards: {now_ns} < {self._now}")
        self._now = now_ns

    def advance(self, delta_ns: int) -> None:
        if delta_ns < 0:
            raise ValueError(f"clock cannot go backwards: advance by {delta_ns}")
        self._now += delta_ns
