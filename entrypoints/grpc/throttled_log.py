"""Warnings a client can provoke, written at a pace no client can force.

A refused token or an undecodable body is worth a line in the log, but a client repeating it
thousands of times a second must not fill the disk or drown the lines that matter. Each key
(a peer and a reason) gets one line per ``interval``; the next line says how many were held
back. A cap on all keys together covers a client that changes address for every call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_INTERVAL_S = 60.0
DEFAULT_LINES_PER_INTERVAL = 20
"""Lines over all keys per interval; past it, only the count of held-back lines grows."""
MAX_KEYS = 4096


@dataclass(slots=True)
class _Key:
    last: float
    held: int = 0


class ThrottledLog:
    """``warning(key, message, *args)``: logged now, or held back and counted."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        lines_per_interval: int = DEFAULT_LINES_PER_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._lines_per_interval = lines_per_interval
        self._monotonic = monotonic
        self._keys: dict[tuple[str, ...], _Key] = {}
        self._window_start = monotonic()
        self._window_lines = 0
        self._held_over_cap = 0
        self.held = 0
        """Lines held back since the start (for tests and status)."""

    def warning(self, key: tuple[str, ...], message: str, *args: object) -> bool:
        """Log ``message % args`` at WARNING unless ``key`` logged within the interval; True if logged."""
        now = self._monotonic()
        if now - self._window_start >= self._interval:
            self._window_start, self._window_lines = now, 0
        seen = self._keys.get(key)
        if seen is not None and now - seen.last < self._interval:
            seen.held += 1
            self.held += 1
            return False
        if self._window_lines >= self._lines_per_interval:
            self._held_over_cap += 1
            self.held += 1
            return False
        held = seen.held if seen is not None else 0
        self._remember(key, now)
        self._window_lines += 1
        if held or self._held_over_cap:
            message += " (%d similar lines held back, %d over the overall cap)"
            args = (*args, held, self._held_over_cap)
            self._held_over_cap = 0
        self._logger.warning(message, *args)
        return True

    def _remember(self, key: tuple[str, ...], now: float) -> None:
        if key not in self._keys and len(self._keys) >= MAX_KEYS:
            stale = [k for k, v in self._keys.items() if now - v.last >= self._interval]
            for old in stale or list(self._keys):
                del self._keys[old]
        self._keys[key] = _Key(now)


def peer_host(peer: str) -> str:
    """``ipv4:127.0.0.1:53412`` -> ``ipv4:127.0.0.1``: a client's new connection is the same client."""
    host, _, port = peer.rpartition(":")
    return host if host and port.isascii() and port.isdigit() else peer
