"""Fault switches of the trading venue, each counted or one-shot so a test knows exactly what happens.

- ``lose_next_order_response(n)``: the next ``n`` new orders are placed, but their answer
  never comes: the connection closes without one (after ``hold_seconds``, if given). On the
  WebSocket API the response is simply never sent.
- ``fail_next_order_after_placing(n, status)``: the next ``n`` new orders are placed, then
  answered with ``status``: 408 and 500 carry -1007 (timeout, execution status unknown),
  other 5xx -1006 (unexpected response, execution status unknown).
- ``duplicate_next_reports(n)``: the next ``n`` execution reports are each sent twice.
- ``delay_reports(seconds)``: every user data event from now on waits until ``seconds``
  have passed, then all go out in order.
- ``drop_user_streams()``: every WebSocket API connection is cut now, without a close frame.
- ``skew_clock(ms)``: the venue's clock runs ``ms`` ahead (negative: behind) from now on.
- ``rate_limit_next(n, retry_after)``: the next ``n`` requests (those not already refused
  for ignoring a Retry-After) answer 429 with ``Retry-After: retry_after``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class TradingFaults:
    """The switches a test flips; the venue consumes them as requests and reports go by."""

    def __init__(self, drop_user_streams: Callable[[], int], monotonic: Callable[[], float] = time.monotonic):
        self._drop = drop_user_streams
        self._monotonic = monotonic
        self._lost: deque[float | None] = deque()
        self._failures: deque[int] = deque()
        self._duplicates = 0
        self._reports_held_until = 0.0
        self._rate_limits: deque[int] = deque()
        self.clock_skew_ms = 0

    # -- switches ----------------------------------------------------------------------

    def lose_next_order_response(self, n: int = 1, *, hold_seconds: float | None = None) -> None:
        _check_count(n)
        if hold_seconds is not None and not hold_seconds >= 0:
            raise ValueError(f"hold_seconds must not be negative, was {hold_seconds}")
        self._lost.extend([hold_seconds] * n)

    def fail_next_order_after_placing(self, n: int = 1, status: int = 503) -> None:
        _check_count(n)
        if status != 408 and not 500 <= status <= 599:
            raise ValueError(f"status must be 408 or a 5xx, was {status}")
        self._failures.extend([status] * n)

    def duplicate_next_reports(self, n: int = 1) -> None:
        _check_count(n)
        self._duplicates += n

    def delay_reports(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"seconds must not be negative, was {seconds}")
        self._reports_held_until = self._monotonic() + seconds

    def drop_user_streams(self) -> int:
        """Cut every WebSocket API connection; returns how many."""
        return self._drop()

    def skew_clock(self, ms: int) -> None:
        if not isinstance(ms, int):
            raise ValueError(f"ms must be an integer, was {ms!r}")
        self.clock_skew_ms = ms

    def rate_limit_next(self, n: int, retry_after: int = 1) -> None:
        _check_count(n)
        if not isinstance(retry_after, int) or retry_after < 1:
            raise ValueError(f"retry_after must be a positive integer of seconds, was {retry_after!r}")
        self._rate_limits.extend([retry_after] * n)

    # -- what the venue consumes ----------------------------------------------------------

    def take_lost_response(self) -> tuple[bool, float | None]:
        """(lose this order's answer?, how long to hold the request first)."""
        if self._lost:
            return True, self._lost.popleft()
        return False, None

    def take_failure(self) -> int | None:
        """The status to answer this placed order with, or None to answer normally."""
        return self._failures.popleft() if self._failures else None

    def take_duplicate(self) -> bool:
        if self._duplicates:
            self._duplicates -= 1
            return True
        return False

    def reports_held_until(self) -> float:
        """Monotonic time before which user data events wait (0 or past: none wait)."""
        return self._reports_held_until

    def take_rate_limit(self) -> int | None:
        """Retry-After of a 429 to answer this request with, or None."""
        return self._rate_limits.popleft() if self._rate_limits else None


def _check_count(n: int) -> None:
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, was {n!r}")
