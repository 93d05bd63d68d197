"""The bus between processes: Redis Streams with consumer groups (at-least-once; never Pub/Sub).

Three parts: :mod:`adapters.redis.stream_routing` says which stream each message type goes to
and what an entry holds; this module publishes (:class:`RedisStreamBus`);
:mod:`adapters.redis.stream_consumer` consumes (:class:`RedisStreamConsumer`: groups, acks,
claims, dead letters, idempotency). All three are importable from here.

**Publishing** (:class:`RedisStreamBus`, an ``EventBus``): ``publish`` delivers to the local
bus as usual and, for an exported type, appends to an in-memory outbox (~1 µs under a lock); a
write-behind thread XADDs the outbox in order, pipelined (``batch_size`` per round trip). When
Redis is away the outbox keeps up to ``max_pending`` messages (then drops the oldest, counted
and logged) and is written on recovery; ``publish`` never raises or blocks on Redis. A round
trip that failed after Redis applied part of it is retried whole, so an entry may be written
twice; both copies carry the same ``mid``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeVar

import redis
from redis.typing import EncodableT, FieldT

from adapters.redis.codec import CodecError, encode, tag_of
from adapters.redis.connection import DEFAULT_URL, REDIS_ERRORS, SyncRedis, WriteBehindAdapter, describe
from adapters.redis.stream_consumer import (
    ConsumerStats,
    Delivery,
    HandlerFailed,
    RedisStreamConsumer,
)
from adapters.redis.stream_routing import (
    DEFAULT_FAMILIES,
    DEFAULT_MAXLEN,
    FIELD_DATA,
    FIELD_MID,
    FIELD_TYPE,
    FIELD_VERSION,
    WIRE_VERSION,
    StreamRouting,
    default_producer_id,
)
from application.bus import BusStats, MessageBus

__all__ = [
    "DEFAULT_FAMILIES",
    "DEFAULT_MAXLEN",
    "ConsumerStats",
    "Delivery",
    "HandlerFailed",
    "RedisStreamBus",
    "RedisStreamConsumer",
    "StreamRouting",
    "default_producer_id",
]

E = TypeVar("E")

log = logging.getLogger("tradeplane.redis.streams")


class RedisStreamBus(WriteBehindAdapter):
    """An ``EventBus`` that also appends the exported message types to Redis Streams.

    ``subscribe``/``unsubscribe`` act on the local bus (``local``, a fresh MessageBus by default):
    this process's handlers still run synchronously and in order. ``publish`` delivers locally
    and, when the type is exported (routed by ``routing``; ``exported`` narrows it), appends it
    to its stream. ``wants(t)`` is True when a local handler subscribed to ``t`` *or* ``t`` is
    exported: readers in other processes are unknown here, so an exported message is always
    worth building. Messages published from inside a handler are appended when ``publish`` is
    called, which is the order the local bus delivers them in (breadth-first), so a stream
    holds them in the local delivery order.

    ``dropped`` counts messages given up: evicted from a full outbox, unencodable, or refused
    by Redis for good (logged). Do not consume, in the same process, the streams this bus
    exports to the same local bus: each message would be handled twice.
    """

    def __init__(
        self,
        client: SyncRedis | str = DEFAULT_URL,
        *,
        routing: StreamRouting | None = None,
        local: MessageBus | None = None,
        exported: Iterable[type] | None = None,
        background: bool = True,
        batch_size: int = 200,
        linger_s: float = 0.0,
        max_pending: int = 100_000,
        backoff_s: float = 1.0,
        timeout_s: float = 1.0,
        producer_id: str | None = None,
        name: str = "redis-stream-bus",
    ) -> None:
        if batch_size < 1 or max_pending < 1:
            raise ValueError("batch_size and max_pending must be positive")
        self.routing = routing if routing is not None else StreamRouting()
        kinds = self.routing.families if exported is None else exported
        self._exported: dict[type, tuple[str, str, int]] = {}
        for kind in kinds:
            stream = self.routing.stream_of(kind)
            if stream is None:
                raise ValueError(f"{kind.__name__} is not routed to a stream")
            self._exported[kind] = (stream, tag_of(kind), self.routing.maxlen_of(stream))
        super().__init__(
            client,
            name=name,
            timeout_s=timeout_s,
            backoff_s=backoff_s,
            background=background,
            linger_s=linger_s,
        )
        self.local = local if local is not None else MessageBus()
        self.producer_id = producer_id if producer_id is not None else default_producer_id()
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._outbox: deque[tuple[int, object]] = deque()
        self._sequence = 0
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._last_drop_log = 0.0

    # -- the EventBus port -----------------------------------------------------------------------

    def subscribe(self, message_type: type[E], handler: Callable[[E], None]) -> None:
        self.local.subscribe(message_type, handler)

    def unsubscribe(self, message_type: type[E], handler: Callable[[E], None]) -> None:
        self.local.unsubscribe(message_type, handler)

    def wants(self, message_type: type) -> bool:
        return message_type in self._exported or self.local.wants(message_type)

    def publish(self, message: object) -> None:
        """Deliver locally and append to the message's stream (never raises on a Redis failure)."""
        if type(message) in self._exported and not self._closed:
            self._enqueue(message)
        self.local.publish(message)

    @property
    def stats(self) -> BusStats:
        """The local bus's handler-failure statistics (what ``Engine`` reports)."""
        return self.local.stats

    # -- health and lifecycle --------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Messages published but not yet in Redis."""
        return len(self._outbox)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Write the outbox now, in the caller, batch after batch, until it is empty (True), Redis
        fails or is in its backoff, or ``timeout_s`` passed (False). Never raises on a Redis failure."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining, ok = self._flush_batch()
            if not remaining:
                return True
            if not ok or time.monotonic() >= deadline:
                return False

    # -- internals -------------------------------------------------------------------------------

    def _enqueue(self, message: object) -> None:
        with self._lock:
            outbox = self._outbox
            was_empty = not outbox
            self._sequence += 1
            outbox.append((self._sequence, message))
            overflow = len(outbox) > self._max_pending
            if overflow:
                outbox.popleft()
                self.dropped += 1
        if overflow:
            self._log_drop("outbox full (Redis away?): dropped the oldest message")
        if self._writer is None:
            self.flush(timeout_s=0.0)
        elif was_empty:
            self._writer.poke()

    def _flush_in_background(self) -> bool:
        remaining, _ = self._flush_batch()
        return remaining

    def _flush_at_close(self, timeout_s: float) -> None:
        if not self.flush(timeout_s) and self._outbox:
            log.warning("%s: closed with %d message(s) not written to Redis", self.name, len(self._outbox))

    def _flush_batch(self) -> tuple[bool, bool]:
        """One pipelined round trip of up to ``batch_size`` entries: (work remains, it went well)."""
        with self._io_lock:
            if not self._health.ready():
                return bool(self._outbox), False
            with self._lock:
                outbox = self._outbox
                batch = [outbox.popleft() for _ in range(min(self._batch_size, len(outbox)))]
            if not batch:
                return False, True
            pipe = self._client.pipeline(transaction=False)
            sent: list[tuple[int, object]] = []
            for sequence, message in batch:
                stream, tag, maxlen = self._destination(message)
                try:
                    data = encode(message)
                except CodecError as error:
                    self.dropped += 1
                    log.error("%s: dropped an unencodable message: %s", self.name, error)
                    continue
                fields: dict[FieldT, EncodableT] = {
                    FIELD_VERSION: WIRE_VERSION,
                    FIELD_TYPE: tag,
                    FIELD_MID: f"{self.producer_id}:{sequence}",
                    FIELD_DATA: data,
                }
                pipe.xadd(stream, fields, maxlen=maxlen, approximate=True)
                sent.append((sequence, message))
            try:
                results = pipe.execute(raise_on_error=False) if sent else []
            except REDIS_ERRORS as error:
                # Unknown how much Redis applied: send the batch again (consumers dedupe by mid).
                self._requeue(sent)
                self._health.failed(error)
                return True, False
            retry = []
            transient: BaseException | None = None
            for item, result in zip(sent, results, strict=True):
                if not isinstance(result, Exception):
                    self.writes += 1
                elif _transient(result):
                    retry.append(item)
                    transient = result
                else:
                    self.dropped += 1
                    log.error("%s: Redis refused an entry for good: %s", self.name, describe(result))
            if transient is not None:
                self._requeue(retry)
                self._health.failed(transient)
                return True, False
            self._health.succeeded()
            return bool(self._outbox), True

    def _destination(self, message: object) -> tuple[str, str, int]:
        """(stream, codec tag, approximate MAXLEN) of an exported message; a subclass may route
        per message rather than per type (the shard streams: per instrument)."""
        return self._exported[type(message)]

    def _requeue(self, items: list[tuple[int, object]]) -> None:
        with self._lock:
            self._outbox.extendleft(reversed(items))
            while len(self._outbox) > self._max_pending:
                self._outbox.popleft()
                self.dropped += 1

    def _log_drop(self, what: str) -> None:
        now = time.monotonic()
        if now - self._last_drop_log >= max(self._health.backoff_s, 1.0):
            self._last_drop_log = now
            log.error("%s: %s (%d dropped so far)", self.name, what, self.dropped)


_TRANSIENT_REPLIES = ("OOM", "LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN")


def _transient(error: BaseException) -> bool:
    """A per-command error that may pass (memory, loading, failover), unlike WRONGTYPE."""
    return not isinstance(error, redis.ResponseError) or str(error).startswith(_TRANSIENT_REPLIES)
