"""Pacing: exponential backoff with jitter, and a token bucket for rate limits.

Not in a venue package: every venue adapter paces its connections and requests with these,
and the gRPC server limits each API token's calls with the same bucket (entry points may
import adapters, not the other way round). Time is injected as monotonic seconds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable


class Backoff:
    """Exponential backoff with "equal jitter": attempt n waits a uniform draw in [d/2, d].

    ``d = min(maximum, initial * 2**n)``. The floor of d/2 keeps a retry loop from ever
    spinning, the random half spreads reconnecting clients apart. ``reset`` after success.
    """

    __slots__ = ("_attempts", "_initial", "_maximum", "_rng")

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        if not 0 < initial <= maximum:
            raise ValueError(f"backoff needs 0 < initial <= maximum, was {initial} and {maximum}")
        self._initial = initial
        self._maximum = maximum
        self._rng = rng if rng is not None else random.Random()
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Delays handed out since the last reset."""
        return self._attempts

    def next_delay(self) -> float:
        """The delay before the next attempt (seconds); each call counts one attempt."""
        ceiling = min(self._maximum, self._initial * 2.0 ** min(self._attempts, 60))
        self._attempts += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._attempts = 0


class TokenBucket:
    """``rate`` tokens per second up to ``capacity``; ``acquire`` waits until enough are there.

    Used for a venue's limits (control messages per connection, connection attempts per IP,
    REST request weight per minute) and for the gRPC API's calls per token, where
    ``capacity`` is the burst. ``monotonic`` is the time source, in seconds. Waiters are
    served in arrival order.
    """

    __slots__ = ("_capacity", "_lock", "_monotonic", "_rate", "_tokens", "_updated")

    def __init__(
        self, rate: float, capacity: float, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError(f"token bucket needs a positive rate and capacity, was {rate} and {capacity}")
        self._rate = rate
        self._capacity = capacity
        self._monotonic = monotonic
        self._tokens = capacity
        self._updated = monotonic()
        self._lock: asyncio.Lock | None = None

    @property
    def available(self) -> float:
        self._refill()
        return self._tokens

    def try_acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` now and return 0.0, or take nothing and return the seconds to wait."""
        if tokens > self._capacity:
            raise ValueError(f"cannot take {tokens} tokens from a bucket of {self._capacity}")
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return 0.0
        return (tokens - self._tokens) / self._rate

    async def acquire(self, tokens: float = 1.0) -> None:
        """Wait until ``tokens`` are available and take them."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while (wait := self.try_acquire(tokens)) > 0:
                await asyncio.sleep(wait)

    def _refill(self) -> None:
        now = self._monotonic()
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            self._updated = now
