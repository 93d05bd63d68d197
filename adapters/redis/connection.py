"""What the Redis adapters share: clients that fail fast, health with backoff, a write-behind thread.

The engine's bus handlers are synchronous and must never wait on Redis. The cache and the
stream publisher therefore only record what to write (a dict or a queue, under a lock: about
a microsecond) and a daemon :class:`WriteBehind` thread does the network round trips, batched.
When Redis fails, :class:`Health` turns unhealthy, remembers the error and keeps every adapter
from trying again before the backoff has passed; the first success makes it healthy again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self, overload

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis.backoff import NoBackoff
from redis.retry import Retry

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "tradeplane:"
"""Every key and stream name the adapters use starts with this (configurable per adapter)."""

REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError, redis.RedisClusterException)
"""What a Redis call raises when the server is away, slow or refuses: never a bug of ours.
A cluster client says it reached no node, or found a slot uncovered, with a RedisClusterException
(not a RedisError); that class also covers misuse such as keys of several slots in one command."""

log = logging.getLogger("tradeplane.redis")

SyncRedis = redis.Redis | redis.cluster.RedisCluster
"""A synchronous client of a single server or of a Redis Cluster (see :func:`sync_client`)."""
AsyncRedis = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster
"""An asyncio client of a single server or of a Redis Cluster (see :func:`async_client`)."""


@overload
def sync_client(
    url: str = ..., *, timeout_s: float = ..., name: str | None = ..., cluster: Literal[False] = ...
) -> redis.Redis: ...
@overload
def sync_client(
    url: str = ..., *, timeout_s: float = ..., name: str | None = ..., cluster: Literal[True]
) -> redis.cluster.RedisCluster: ...
@overload
def sync_client(
    url: str = ..., *, timeout_s: float = ..., name: str | None = ..., cluster: bool
) -> SyncRedis: ...
def sync_client(
    url: str = DEFAULT_URL, *, timeout_s: float = 0.1, name: str | None = None, cluster: bool = False
) -> SyncRedis:
    """A synchronous client that fails within ``timeout_s`` (connect and every reply) and never
    retries on its own: the adapters decide when to try again (see :class:`Health`).

    With ``cluster``, ``url`` is one startup node of a Redis Cluster: the client discovers the
    others, sends each command to the master of its key's slot and follows MOVED/ASK redirections
    itself (those are not retries). Unlike a single-server client it connects at once, so an
    unreachable cluster raises here."""
    if cluster:
        return redis.cluster.RedisCluster.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            client_name=name,
        )
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        client_name=name,
    )


@overload
def async_client(
    url: str = ..., *, timeout_s: float = ..., name: str | None = ..., cluster: Literal[False] = ...
) -> redis.asyncio.Redis: ...
@overload
def async_client(
    url: str = ..., *, timeout_s: float = ..., name: str | None = ..., cluster: Literal[True]
) -> redis.asyncio.cluster.RedisCluster: ...
@overload
def async_client(
    url: str = ..., *, timeout_s: float = ..., name: str | None = ..., cluster: bool
) -> AsyncRedis: ...
def async_client(
    url: str = DEFAULT_URL, *, timeout_s: float = 5.0, name: str | None = None, cluster: bool = False
) -> AsyncRedis:
    """An asyncio client without automatic retries. ``timeout_s`` must exceed the BLOCK time of
    any blocking read made with it (XREADGROUP ... BLOCK waits on the same socket). With
    ``cluster``, ``url`` is a startup node of a Redis Cluster (see :func:`sync_client`); the
    client connects on its first command."""
    if cluster:
        return redis.asyncio.cluster.RedisCluster.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=min(timeout_s, 1.0),
            retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
            client_name=name,
        )
    return redis.asyncio.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=min(timeout_s, 1.0),
        retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
        client_name=name,
    )


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisHealth:
    """A snapshot of one Redis adapter for an operator (GetStatus, metrics, logs)."""

    name: str
    healthy: bool
    last_error: str
    writes: int
    """Values (cache keys, stream entries) Redis acknowledged."""
    failures: int
    """Round trips that failed (timeouts, refused or dropped connections, server errors)."""
    pending: int
    """Values recorded but not yet written (kept while Redis is away)."""
    dropped: int
    """Values given up: unencodable, or evicted from a full outbox while Redis was away."""


class HealthReporting:
    """The health of a Redis adapter for its owner: kept in a :class:`Health` as ``_health``."""

    _health: Health

    @property
    def healthy(self) -> bool:
        """False from a failed Redis round trip until the next successful one."""
        return self._health.healthy

    @property
    def last_error(self) -> str:
        """The most recent Redis failure ("" if none yet); kept after recovery."""
        return self._health.last_error

    @property
    def failures(self) -> int:
        return self._health.failures


class WriteBehindAdapter(HealthReporting):
    """The base of the adapters that write behind the engine's back (the cache, the stream publisher).

    It holds the synchronous client (built and owned when ``client`` is a URL: a fail-fast one,
    see :func:`sync_client`), the health, the ``writes``/``dropped`` counters and, unless
    ``background`` is False, the :class:`WriteBehind` thread. A subclass says what ``pending``
    is, writes in ``_flush_in_background`` (True when work remains) and once more, bounded by
    ``timeout_s``, in ``_flush_at_close``.
    """

    def __init__(
        self,
        client: SyncRedis | str,
        *,
        name: str,
        timeout_s: float,
        backoff_s: float,
        background: bool,
        linger_s: float,
    ) -> None:
        self.name = name
        self._owns_client = isinstance(client, str)
        self._client = (
            sync_client(client, timeout_s=timeout_s, name=name) if isinstance(client, str) else client
        )
        self._health = Health(name, backoff_s=backoff_s)
        self.writes = 0
        """Values (cache keys, stream entries) Redis acknowledged."""
        self.dropped = 0
        """Values given up: unencodable, refused by Redis, or evicted while Redis was away."""
        self._closed = False
        # The thread flushes only once poked, so a subclass sets up its own state after this.
        self._writer = (
            WriteBehind(f"{name}-writer", self._flush_in_background, self._health, linger_s=linger_s)
            if background
            else None
        )

    @property
    def pending(self) -> int:
        """Values recorded but not yet written to Redis."""
        raise NotImplementedError

    def health(self) -> RedisHealth:
        return RedisHealth(
            name=self.name,
            healthy=self.healthy,
            last_error=self.last_error,
            writes=self.writes,
            failures=self.failures,
            pending=self.pending,
            dropped=self.dropped,
        )

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the writer, try once more to write what is pending (bounded by ``timeout_s``),
        release the client if this adapter built it. Never raises on a Redis failure."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._writer.close()
        self._flush_at_close(timeout_s)
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _flush_in_background(self) -> bool:
        raise NotImplementedError

    def _flush_at_close(self, timeout_s: float) -> None:
        raise NotImplementedError


class Health:
    """Healthy or not, the last error, and when to try again after a failure (thread-safe)."""

    __slots__ = ("_clock", "_lock", "_retry_at", "backoff_s", "failures", "healthy", "last_error", "name")

    def __init__(self, name: str, *, backoff_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if backoff_s < 0:
            raise ValueError(f"backoff_s must not be negative, got {backoff_s}")
        self.name = name
        self.backoff_s = backoff_s
        self.healthy = True
        """False from a failed round trip until the next successful one (True before any)."""
        self.last_error = ""
        """The most recent failure, kept after recovery for the operator."""
        self.failures = 0
        self._retry_at = 0.0
        self._clock = clock
        self._lock = threading.Lock()

    def ready(self) -> bool:
        """May we talk to Redis now? False during the backoff that follows a failure."""
        return self.healthy or self._clock() >= self._retry_at

    def retry_in(self) -> float:
        """Seconds until ``ready`` (0 when it already is)."""
        return 0.0 if self.healthy else max(0.0, self._retry_at - self._clock())

    def succeeded(self) -> None:
        if self.healthy:
            return
        with self._lock:
            if not self.healthy:
                self.healthy = True
                log.info("%s: Redis is reachable again", self.name)

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = describe(error)
            self._retry_at = self._clock() + self.backoff_s
            if self.healthy:
                self.healthy = False
                log.warning(
                    "%s: Redis unavailable (%s); keeping values locally, retrying every %.1f s",
                    self.name,
                    self.last_error,
                    self.backoff_s,
                )


class WriteBehind:
    """A daemon thread that calls ``flush`` when poked, and again once a backoff has passed.

    ``flush`` writes what is pending and returns True when work remains (a failed round trip,
    or more than one batch). The thread then waits until ``health`` is ready and calls it again;
    otherwise it sleeps until the next ``poke``. Callers poke only when their pending set goes
    from empty to non-empty, so a busy engine pays for a lock, not for a wake-up per value.
    ``linger_s`` is how long the thread waits after a wake-up before flushing, so that values
    arriving meanwhile share the round trip (and repeated keys of the cache coalesce).
    """

    __slots__ = ("_flush", "_health", "_linger_s", "_stop", "_thread", "_wake")

    def __init__(
        self, name: str, flush: Callable[[], bool], health: Health, *, linger_s: float = 0.0
    ) -> None:
        self._flush = flush
        self._health = health
        self._linger_s = linger_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (the caller flushes what is left, once, afterwards)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        wait: float | None = None
        while True:
            self._wake.wait(wait)
            if self._stop.is_set():
                return
            self._wake.clear()
            if self._linger_s and self._stop.wait(self._linger_s):
                return
            try:
                remaining = self._flush()
            except Exception:  # a bug, not Redis being away: keep the thread alive and say so
                log.exception("%s: write-behind flush failed", self._health.name)
                remaining = True
                self._stop.wait(max(self._health.backoff_s, 0.1))
            wait = self._health.retry_in() if remaining else None
