"""A hand-driven clock for tests and replays (the wall clock is ``adapters.system_clock``)."""

from __future__ import annotations


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
