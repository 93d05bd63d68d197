"""The wall clock of a live run: the operating system's time, never going backwards."""

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
