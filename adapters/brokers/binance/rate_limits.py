"""The venue's rate limits: what ``exchangeInfo`` declares, what the headers say is used, and
the block a 429/418 imposes.

Binance counts request weight per IP and new orders per account in fixed windows (a minute,
ten seconds, a day...); every response carries the count so far (``X-MBX-USED-WEIGHT-1M``,
``X-MBX-ORDER-COUNT-10S``). A request that would go over a known limit is held back (or, for
an order, refused here) instead of earning a 429; a 429 or 418 blocks everything until its
``Retry-After`` has passed, since ignoring it gets the IP banned for longer each time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from adapters.brokers.binance.errors import MalformedPayload
from application.ports import Clock

_UNIT_MS = {"S": 1000, "M": 60_000, "H": 3_600_000, "D": 86_400_000}
_INTERVALS = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}
_HEADERS = {"x-mbx-used-weight-": "REQUEST_WEIGHT", "x-mbx-order-count-": "ORDERS"}
_SUFFIX = re.compile(r"(\d+)([SMHD])")
DEFAULT_RETRY_AFTER_S = 60.0
"""How long a 429/418 without a ``Retry-After`` blocks."""


def window_ms(suffix: str) -> int:
    """Length of a window named like the headers do (``1M``, ``10S``, ``1D``), in ms."""
    match = _SUFFIX.fullmatch(suffix.upper())
    if match is None or int(match.group(1)) < 1:
        raise ValueError(f"not a rate-limit window: {suffix!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One declared limit: at most ``limit`` of ``kind`` per ``interval_num`` ``interval``."""

    kind: str
    interval: str
    interval_num: int
    limit: int

    @property
    def suffix(self) -> str:
        """The window as the headers name it: ``1M``, ``10S``."""
        return f"{self.interval_num}{_INTERVALS[self.interval]}"

    @property
    def window_ms(self) -> int:
        return window_ms(self.suffix)

    def describe(self) -> str:
        return f"{self.kind} {self.limit} per {self.interval_num} {self.interval.lower()}"


def parse_rate_limits(raw: object) -> tuple[RateLimit, ...]:
    """``exchangeInfo``'s ``rateLimits`` list; raises MalformedPayload naming a bad entry."""
    if not isinstance(raw, list):
        raise MalformedPayload("exchangeInfo rateLimits must be a list", raw)
    limits = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise MalformedPayload("a rateLimits entry must be an object", entry)
        kind, interval = entry.get("rateLimitType"), entry.get("interval")
        number, limit = entry.get("intervalNum"), entry.get("limit")
        if (
            not isinstance(kind, str)
            or interval not in _INTERVALS
            or type(number) is not int
            or type(limit) is not int
            or number < 1
            or limit < 1
        ):
            raise MalformedPayload("a rateLimits entry lacks a valid type, interval or limit", entry)
        limits.append(RateLimit(kind, str(interval), number, limit))
    return tuple(limits)


class RateLimiter:
    """What may be sent now. Times: ``clock`` ns for the block, the venue's ms for windows."""

    __slots__ = ("_clock", "_used", "blocked_until_ns", "limits", "local_refusals", "rate_limited")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.limits: tuple[RateLimit, ...] = ()
        self._used: dict[tuple[str, str], tuple[int, int]] = {}
        """(kind, suffix) -> (count, index of the window it was counted in)."""
        self.blocked_until_ns = 0
        self.rate_limited = 0
        """429/418 answers received."""
        self.local_refusals = 0
        """Requests not sent because they would have gone over a known limit."""

    def configure(self, limits: Iterable[RateLimit]) -> None:
        self.limits = tuple(limits)

    # -- what the venue tells ---------------------------------------------------------------

    def observe(self, headers: Iterable[tuple[str, str]], venue_now_ms: int) -> None:
        """Read the usage headers of a response received at ``venue_now_ms``."""
        for name, value in headers:
            lower = name.lower()
            for prefix, kind in _HEADERS.items():
                if lower.startswith(prefix):
                    suffix = lower[len(prefix) :].upper()
                    try:
                        count = int(value)
                        window = window_ms(suffix)
                    except ValueError:
                        continue
                    self._used[(kind, suffix)] = (count, venue_now_ms // window)

    def on_rate_limited(self, retry_after_s: float | None) -> int:
        """A 429/418: block until ``Retry-After`` (default 60 s) from now; returns the end (ns)."""
        self.rate_limited += 1
        wait = DEFAULT_RETRY_AFTER_S if retry_after_s is None else max(0.0, retry_after_s)
        until = self._clock.now_ns() + int(wait * 1e9)
        self.blocked_until_ns = max(self.blocked_until_ns, until)
        return self.blocked_until_ns

    # -- what may be sent -------------------------------------------------------------------

    def blocked_for_s(self) -> float:
        """Seconds left of a 429/418 block (0.0 when none)."""
        left = self.blocked_until_ns - self._clock.now_ns()
        return left / 1e9 if left > 0 else 0.0

    def used(self, kind: str, suffix: str, venue_now_ms: int) -> int:
        """The count the venue last reported for this window, if the window is still current."""
        count, window = self._used.get((kind, suffix), (0, -1))
        return count if window == venue_now_ms // window_ms(suffix) else 0

    def over_limit(self, kind: str, cost: int, venue_now_ms: int) -> tuple[RateLimit, int] | None:
        """The first declared ``kind`` limit that ``cost`` more would break, with the ms until
        its window ends; None when every one has room."""
        for limit in self.limits:
            if limit.kind != kind:
                continue
            if self.used(kind, limit.suffix, venue_now_ms) + cost > limit.limit:
                window = limit.window_ms
                return limit, window - venue_now_ms % window
        return None

    @property
    def used_weight(self) -> int:
        """The request weight last reported for the current minute (0 before any answer)."""
        count, _window = self._used.get(("REQUEST_WEIGHT", "1M"), (0, -1))
        return count
