"""Order-rate throttle: at most N orders in any rolling window, on caller-supplied time."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from domain.errors import InvalidValue

from .limits import _limit_int


def checked_time(now_ns: object, last_ns: int, name: str = "now_ns") -> int:
    """``now_ns`` as a validated int: non-negative and never before ``last_ns``.

    Raises InvalidValue naming ``name`` for a non-int, a negative time or time going back.
    """
    if isinstance(now_ns, bool) or not isinstance(now_ns, int) or now_ns < 0:
        raise InvalidValue(name, now_ns, "must be a non-negative integer of nanoseconds")
    if now_ns < last_ns:
        raise InvalidValue(name, now_ns, f"went backwards: the last time seen was {last_ns}")
    return now_ns


class OrderRateThrottle:
    """Counts orders in the rolling window ``(now_ns - window_ns, now_ns]``.

    An order recorded at ``t`` counts until ``t + window_ns - 1`` and frees its slot at
    exactly ``t + window_ns``. Time is passed in, never read; it must not go backwards
    (InvalidValue naming ``now_ns``). Memory is bounded by the orders in one window.
    Raises InvalidParameter for ``max_orders`` or ``window_ns`` below 1.
    """

    __slots__ = ("_last_ns", "_times", "max_orders", "window_ns")

    def __init__(self, max_orders: int, window_ns: int, *, history: Iterable[int] = ()) -> None:
        self.max_orders = _limit_int(max_orders, "max_orders")
        self.window_ns = _limit_int(window_ns, "window_ns")
        self._times: deque[int] = deque()
        self._last_ns = 0
        for ts in history:
            self.record(ts)

    def _advance(self, now_ns: int) -> None:
        self._last_ns = checked_time(now_ns, self._last_ns)
        cutoff = now_ns - self.window_ns
        times = self._times
        while times and times[0] <= cutoff:
            times.popleft()

    def count(self, now_ns: int) -> int:
        """Orders recorded within the window ending at ``now_ns``."""
        self._advance(now_ns)
        return len(self._times)

    def allow(self, now_ns: int) -> bool:
        """True when one more order at ``now_ns`` stays within the limit (records nothing)."""
        self._advance(now_ns)
        return len(self._times) < self.max_orders

    def record(self, now_ns: int) -> None:
        """Record an order sent at ``now_ns`` (a fact: it is recorded even past the limit)."""
        self._advance(now_ns)
        self._times.append(now_ns)

    def retry_after_ns(self, now_ns: int) -> int:
        """Nanoseconds until one more order would be allowed (0 when allowed now)."""
        self._advance(now_ns)
        times = self._times
        if len(times) < self.max_orders:
            return 0
        return times[len(times) - self.max_orders] + self.window_ns - now_ns

    @property
    def history(self) -> tuple[int, ...]:
        """The recorded times still inside the window at the last time seen."""
        return tuple(self._times)
