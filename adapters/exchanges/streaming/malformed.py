"""Counting malformed venue messages without flooding the log.

A venue that starts sending garbage can send thousands of frames a second; each is counted
(health reports the total) but only the first few are logged in full, then at most one line
per second saying how many were not logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from adapters.exchanges.streaming.failures import truncated

_LOUD = 10
"""The first malformed messages are all logged; after that at most one line per second."""


class MalformedLog:
    """Counts malformed messages of one feed and logs them, throttled; ``count`` is the total."""

    __slots__ = ("_log", "_logged_at", "_monotonic", "_name", "_quiet", "count", "last_reason")

    def __init__(
        self, name: str, log: logging.Logger, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._name = name
        self._log = log
        self._monotonic = monotonic
        self._logged_at = 0.0
        self._quiet = 0
        self.count = 0
        self.last_reason = ""

    def record(self, reason: str, raw: object) -> None:
        """One more malformed message: ``reason`` says what is wrong, ``raw`` is the message."""
        self.count += 1
        self.last_reason = reason
        now = self._monotonic()
        if self.count > _LOUD and now - self._logged_at < 1.0:
            self._quiet += 1
            return
        quiet, self._quiet = self._quiet, 0
        self._logged_at = now
        more = f" ({quiet} more not logged)" if quiet else ""
        self._log.warning(
            "%s: malformed frame #%d%s: %s: %s", self._name, self.count, more, reason, truncated(raw)
        )
