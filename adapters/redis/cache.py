"""The ``Cache`` port on Redis: latest quotes and small state other processes can read.

Keys (``prefix`` defaults to ``tradeplane:``):

- ``{prefix}quote:{instrument_id}``: the latest ``QuoteTick``, as the codec's JSON
  (``{"type": "QuoteTick", "bid_price": "65000.10", ...}``; decimals as exact strings);
- ``{prefix}kv:{key}``: the string given to ``set(key, value)`` (positions, risk state, ...).

Redis must never slow the engine down nor take it with it:

- **Writes are write-behind** (default): ``set_quote``/``set`` store the value locally and in a
  pending map (latest value per key, under a lock: ~1 µs); a daemon thread writes the pending
  map with one ``MSET`` per round trip, ``flush_interval_s`` after the first pending value, so a
  burst of quotes for one instrument costs one write. ``background=False`` writes in the
  caller instead (one round trip per call; for tools and tests).
- **Failures never reach the engine**: a failed round trip marks the cache unhealthy
  (``healthy``, ``last_error``, ``failures``), keeps the values pending (newer ones win) and
  stops all I/O for ``backoff_s``; the next success writes everything pending and marks it
  healthy again. The client times out after ``timeout_s`` (100 ms) and never retries on its own.
- **Reads are local first**: ``get_quote``/``get`` return the last value *this process* wrote
  (always its freshest, and available while Redis is away); only a key this process never
  wrote is read from Redis (one GET, not cached locally, so another process's updates show),
  and that read returns None while Redis is unhealthy. This assumes one writer per key (the
  ingestion process writes quotes, the execution process positions).
"""

from __future__ import annotations

import logging
import threading

import redis

from adapters.redis.codec import CodecError, decode, encode
from adapters.redis.connection import (
    DEFAULT_PREFIX,
    DEFAULT_URL,
    REDIS_ERRORS,
    WriteBehindAdapter,
)
from domain.identifiers import InstrumentId
from domain.market_data import QuoteTick

log = logging.getLogger("tradeplane.redis.cache")


class RedisCache(WriteBehindAdapter):
    """Latest quote per instrument and string values by key, in Redis, never blocking the engine.

    ``client`` is a URL (a fail-fast client is built and owned) or a ``redis.Redis`` the caller
    owns (give it a short ``socket_timeout`` and no retries: see ``connection.sync_client``).
    ``dropped`` counts values that could not be encoded (a bug upstream; logged).
    """

    def __init__(
        self,
        client: redis.Redis | str = DEFAULT_URL,
        *,
        prefix: str = DEFAULT_PREFIX,
        background: bool = True,
        flush_interval_s: float = 0.005,
        backoff_s: float = 1.0,
        timeout_s: float = 0.1,
        name: str = "redis-cache",
    ) -> None:
        super().__init__(
            client,
            name=name,
            timeout_s=timeout_s,
            backoff_s=backoff_s,
            background=background,
            linger_s=flush_interval_s,
        )
        self.prefix = prefix
        self._quote_prefix = f"{prefix}quote:"
        self._value_prefix = f"{prefix}kv:"
        self._quotes: dict[InstrumentId, QuoteTick] = {}
        self._values: dict[str, str] = {}
        self._pending: dict[str, QuoteTick | str] = {}
        self._lock = threading.Lock()  # guards the three dicts above
        self._io_lock = threading.Lock()  # one flush at a time, so writes reach Redis in order
        self.coalesced = 0
        """Values replaced by a newer one for the same key before they were written."""
        self.read_failures = 0
        """Reads from Redis that failed (the read returned None)."""

    # -- the Cache port ------------------------------------------------------------------------

    def set_quote(self, quote: QuoteTick) -> None:
        """Record ``quote`` as the latest of its instrument; written to Redis shortly (never raises
        on a Redis failure)."""
        self._record(self._quote_prefix + quote.instrument_id, quote)
        self._quotes[quote.instrument_id] = quote

    def get_quote(self, instrument_id: InstrumentId) -> QuoteTick | None:
        """The latest quote this process set, else the one in Redis, else None."""
        quote = self._quotes.get(instrument_id)
        if quote is not None:
            return quote
        raw = self._read(self._quote_prefix + instrument_id)
        if raw is None:
            return None
        try:
            value = decode(raw)
        except CodecError as error:
            log.warning("%s: %s%s holds no quote: %s", self.name, self._quote_prefix, instrument_id, error)
            return None
        return value if isinstance(value, QuoteTick) else None

    def set(self, key: str, value: str) -> None:
        """Record ``value`` under ``key``; written to Redis shortly (never raises on a Redis failure).

        Raises TypeError when ``key`` or ``value`` is not a string (a bug of the caller).
        """
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"cache keys and values are strings, got {key!r}: {value!r}")
        self._record(self._value_prefix + key, value)
        self._values[key] = value

    def get(self, key: str) -> str | None:
        """The value this process set for ``key``, else the one in Redis, else None."""
        value = self._values.get(key)
        if value is not None:
            return value
        raw = self._read(self._value_prefix + key)
        if raw is None:
            return None
        try:
            return raw.decode()
        except UnicodeDecodeError:
            log.warning("%s: %s%s is not UTF-8 text", self.name, self._value_prefix, key)
            return None

    # -- health and lifecycle ------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Values recorded but not yet in Redis."""
        return len(self._pending)

    def flush(self) -> bool:
        """Write everything pending now, in the caller (one MSET round trip at most).

        Returns True when nothing is left pending; False when Redis failed or the cache is in
        its backoff (the values stay pending). Never raises on a Redis failure.
        """
        with self._io_lock:
            if not self._health.ready():
                return not self._pending
            with self._lock:
                batch, self._pending = self._pending, {}
            if not batch:
                return True
            mapping: dict[str, bytes | str] = {}
            for key, value in batch.items():
                if isinstance(value, str):
                    mapping[key] = value
                    continue
                try:
                    mapping[key] = encode(value)
                except CodecError as error:
                    self.dropped += 1
                    log.error("%s: dropped the value of %s: %s", self.name, key, error)
            try:
                if mapping:
                    self._client.mset(mapping)
            except REDIS_ERRORS as error:
                with self._lock:  # put the batch back; a value set meanwhile is newer and wins
                    for key, value in batch.items():
                        self._pending.setdefault(key, value)
                self._health.failed(error)
                return False
            self.writes += len(mapping)
            self._health.succeeded()
            return not self._pending

    # -- internals -----------------------------------------------------------------------------

    def _record(self, key: str, value: QuoteTick | str) -> None:
        with self._lock:
            pending = self._pending
            before = len(pending)
            pending[key] = value
            grew = len(pending) != before
        if not grew:
            self.coalesced += 1
        if self._writer is None:
            if not self._closed:
                self.flush()
        elif before == 0:
            self._writer.poke()

    def _flush_in_background(self) -> bool:
        return not self.flush()

    def _flush_at_close(self, timeout_s: float) -> None:
        self.flush()  # one MSET round trip, bounded by the client's timeout

    def _read(self, key: str) -> bytes | None:
        if not self._health.ready():
            return None
        try:
            raw = self._client.get(key)
        except REDIS_ERRORS as error:
            self.read_failures += 1
            self._health.failed(error)
            return None
        self._health.succeeded()
        return raw if isinstance(raw, bytes) else None
