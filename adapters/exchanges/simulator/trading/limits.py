"""Rate limits as the venue applies them: request weight, raw requests, order counts, bans.

Request weight is counted per minute and raw requests per five minutes, over sliding
windows; past either limit the answer is HTTP 429 (-1003) with ``Retry-After`` seconds. A
client that keeps sending while a Retry-After period runs is counted, and after
``ignored_before_ban`` such requests the address is banned: HTTP 418 with a longer
Retry-After (``ban_seconds``, doubling at each new ban, at most three days). New orders are
counted per 10 seconds and per day; past either limit an order is refused with 429 (-1015),
which does not lead to a ban. Every window runs on the venue's clock, unskewed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.exchanges.simulator.trading.errors import VenueError

_MAX_BAN_SECONDS = 3 * 86_400


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueLimits:
    """The venue's published limits, and how long it tolerates a client that ignores a 429."""

    request_weight_per_minute: int = 6000
    orders_per_10s: int = 100
    orders_per_day: int = 200_000
    raw_requests_per_5m: int = 61_000
    ignored_before_ban: int = 3
    """Requests sent during a Retry-After period that get the address banned (418)."""
    ban_seconds: int = 120

    def __post_init__(self) -> None:
        for name in (
            "request_weight_per_minute",
            "orders_per_10s",
            "orders_per_day",
            "raw_requests_per_5m",
            "ignored_before_ban",
            "ban_seconds",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, was {value!r}")

    def rate_limits(self) -> list[dict[str, Any]]:
        """The ``rateLimits`` array of exchangeInfo."""
        return [
            _limit("REQUEST_WEIGHT", "MINUTE", 1, self.request_weight_per_minute),
            _limit("ORDERS", "SECOND", 10, self.orders_per_10s),
            _limit("ORDERS", "DAY", 1, self.orders_per_day),
            _limit("RAW_REQUESTS", "MINUTE", 5, self.raw_requests_per_5m),
        ]


def _limit(kind: str, interval: str, number: int, limit: int) -> dict[str, Any]:
    return {"rateLimitType": kind, "interval": interval, "intervalNum": number, "limit": limit}


class SlidingWindow:
    """Amounts counted over the last ``span_ms`` milliseconds."""

    def __init__(self, span_ms: int) -> None:
        self.span_ms = span_ms
        self._entries: deque[tuple[int, int]] = deque()
        self._total = 0

    def total(self, now_ms: int) -> int:
        entries = self._entries
        while entries and entries[0][0] <= now_ms - self.span_ms:
            self._total -= entries.popleft()[1]
        return self._total

    def add(self, now_ms: int, amount: int) -> None:
        self._entries.append((now_ms, amount))
        self._total += amount

    def seconds_until_room(self, now_ms: int, amount: int, limit: int) -> int:
        """Whole seconds (at least 1) until ``amount`` more fits under ``limit``."""
        excess = self.total(now_ms) + amount - limit
        for time_ms, counted in self._entries:
            excess -= counted
            if excess <= 0:
                return max(1, math.ceil((time_ms + self.span_ms - now_ms) / 1000))
        return max(1, math.ceil(self.span_ms / 1000))


class RateLimiter:
    """Admits requests and orders, or refuses them as the venue would."""

    def __init__(
        self,
        limits: VenueLimits,
        clock_ms: Callable[[], int],
        forced_429: Callable[[], int | None],
    ) -> None:
        self.limits = limits
        self._clock = clock_ms
        self._forced_429 = forced_429
        """Retry-After of a 429 a test asked for, or None."""
        self._weight = SlidingWindow(60_000)
        self._raw = SlidingWindow(300_000)
        self._orders_10s = SlidingWindow(10_000)
        self._orders_day = SlidingWindow(86_400_000)
        self._backoff_until = 0
        self._ignored = 0
        self._banned_until = 0
        self._bans = 0
        self.rate_limited = 0
        """429 answers given."""
        self.banned = 0
        """418 answers given."""

    def admit(self, weight: int) -> None:
        """Count a request of ``weight``; 418 while banned, 429 past a limit or during a back-off."""
        now = self._clock()
        if now < self._banned_until:
            raise self._ban_answer(now)
        if now < self._backoff_until:
            self._ignored += 1
            if self._ignored >= self.limits.ignored_before_ban:
                self._bans += 1
                seconds = min(self.limits.ban_seconds * 2 ** (self._bans - 1), _MAX_BAN_SECONDS)
                self._banned_until = now + seconds * 1000
                self._backoff_until = self._ignored = 0
                raise self._ban_answer(now)
            raise self._too_many(math.ceil((self._backoff_until - now) / 1000), self._weight_message())
        self._ignored = 0
        forced = self._forced_429()
        if forced is not None:
            raise self._too_many(forced, self._weight_message(), now=now)
        limits = self.limits
        if self._raw.total(now) + 1 > limits.raw_requests_per_5m:
            retry = self._raw.seconds_until_room(now, 1, limits.raw_requests_per_5m)
            message = (
                f"Too many requests; current limit is {limits.raw_requests_per_5m} requests per 5 MINUTE."
            )
            raise self._too_many(retry, message, now=now)
        if self._weight.total(now) + weight > limits.request_weight_per_minute:
            retry = self._weight.seconds_until_room(now, weight, limits.request_weight_per_minute)
            raise self._too_many(retry, self._weight_message(), now=now)
        self._raw.add(now, 1)
        self._weight.add(now, weight)

    def admit_order(self) -> None:
        """Count a new order; 429 (-1015) past the 10-second or the daily order limit."""
        now = self._clock()
        for window, limit, span in (
            (self._orders_10s, self.limits.orders_per_10s, "10 SECOND"),
            (self._orders_day, self.limits.orders_per_day, "1 DAY"),
        ):
            if window.total(now) + 1 > limit:
                self.rate_limited += 1
                raise VenueError(
                    -1015,
                    f"Too many new orders; current limit is {limit} orders per {span}.",
                    status=429,
                    retry_after=window.seconds_until_room(now, 1, limit),
                )
        self._orders_10s.add(now, 1)
        self._orders_day.add(now, 1)

    def used_weight(self) -> int:
        return self._weight.total(self._clock())

    def order_counts(self) -> tuple[int, int]:
        """Orders counted in the last 10 seconds and in the last day."""
        now = self._clock()
        return self._orders_10s.total(now), self._orders_day.total(now)

    def usage(self, *, orders: bool) -> list[dict[str, Any]]:
        """The WebSocket API's ``rateLimits``: each limit with its ``count`` now."""
        limits = self.limits.rate_limits()
        usage = [{**limits[0], "count": self.used_weight()}]
        if orders:
            ten_seconds, day = self.order_counts()
            usage += [{**limits[1], "count": ten_seconds}, {**limits[2], "count": day}]
        return usage

    def _weight_message(self) -> str:
        return (
            f"Too much request weight used; current limit is {self.limits.request_weight_per_minute} "
            "request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid "
            "polling the API."
        )

    def _too_many(self, retry_after: int, message: str, *, now: int | None = None) -> VenueError:
        if now is not None:  # a new back-off period starts
            self._backoff_until = now + retry_after * 1000
        self.rate_limited += 1
        return VenueError(-1003, message, status=429, retry_after=max(1, retry_after))

    def _ban_answer(self, now: int) -> VenueError:
        self.banned += 1
        return VenueError(
            -1003,
            f"Way too much request weight used; IP banned until {self._banned_until}. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            status=418,
            retry_after=max(1, math.ceil((self._banned_until - now) / 1000)),
        )
