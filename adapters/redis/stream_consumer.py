"""The consuming side of the bus between processes: one consumer of a Redis Streams group.

**Consuming** (:class:`RedisStreamConsumer`): a consumer in a group reads with XREADGROUP,
decodes, hands each message to a local ``MessageBus`` (or a callable) and XACKs it only after
the handler returned without error. On start it first re-reads its own pending entries
(id ``0``); every ``claim_interval_ms`` it takes over entries idle for ``min_idle_ms`` with
XAUTOCLAIM (those of dead consumers, and its own whose handler failed); an entry delivered
more than ``max_deliveries`` times, or malformed, is copied to the dead-letter stream with the
reason and acked, and the reason is logged.

**Idempotency.** Delivery is at-least-once: an entry is redelivered when its consumer dies
after the handler ran but before the XACK. Acks are per entry by default, so a crash between
two entries loses nothing and repeats nothing; ``ack_per_batch=True`` sends one XACK per read
batch instead (about 4x the throughput), and a crash then repeats the handled part of the
batch. A consumer skips a ``mid`` it has already handled (a bounded in-memory window), which
absorbs the publisher's retries and its own re-reads after a reconnect; a handler whose effect
must not repeat across a consumer crash keys it by ``consumer.current.mid`` (or the domain's
own ids: ``Order.fill`` already refuses a fill whose trade id it applied).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
from redis.crc import key_slot

from adapters.redis.codec import MESSAGE_TYPES, CodecError, decode
from adapters.redis.connection import (
    REDIS_ERRORS,
    AsyncRedis,
    Health,
    HealthReporting,
    async_client,
    describe,
)
from adapters.redis.stream_routing import FIELD_DATA, FIELD_MID, FIELD_TYPE, StreamRouting, version_problem
from application.bus import MessageBus

log = logging.getLogger("tradeplane.redis.streams")


class HandlerFailed(Exception):
    """A local handler raised while the consumer delivered an entry; the entry stays pending."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """The entry being handled (``RedisStreamConsumer.current``): its ids, for idempotent handlers."""

    stream: str
    entry_id: str
    """The stream entry id: the same on every redelivery of this entry."""
    mid: str
    """The producer's message id: the same on every copy of this message, retries included."""
    deliveries: int
    """How many times Redis delivered it to the group so far (1 on first delivery)."""


@dataclass(slots=True)
class ConsumerStats:
    handled: int = 0
    """Entries whose handler returned (then acked)."""
    failed: int = 0
    """Handler failures (the entry stays pending and is retried, then dead-lettered)."""
    ignored: int = 0
    """Entries of a type no local handler wants: acked without decoding."""
    duplicates: int = 0
    """Entries whose mid this consumer had already handled: acked, not handled again."""
    claimed: int = 0
    """Entries taken over with XAUTOCLAIM (from dead consumers, or own retries)."""
    dead_lettered: int = 0
    malformed: int = 0
    """Of the dead-lettered: entries that could not be decoded."""
    lost: int = 0
    """Pending entries trimmed from the stream (MAXLEN) before they could be handled."""
    last_dead_letter: str = ""


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


class RedisStreamConsumer(HealthReporting):
    """One consumer of a group over ``streams``, delivering to a local bus (at-least-once).

    ``handler_bus`` is a ``MessageBus`` (its handlers' failures are detected through its stats:
    a delivery during which a handler raised is not acked) or a callable that raises on failure.
    Entries of types a MessageBus does not want are acked without decoding.

    ``run()`` loops until ``stop()`` (or cancellation); ``start()`` + ``poll()`` do the same step
    by step. Redis failures inside ``run`` are logged and retried after ``backoff_s``, and the
    consumer re-reads its own pending entries when it reconnects. The group is created at
    ``group_start_id`` ("0": everything still in the stream, so nothing published before the
    first consumer started is missed) when it does not exist yet.

    On a Redis Cluster (``client`` a ``redis.asyncio.cluster.RedisCluster``, or a startup node's
    URL with ``cluster=True``) a command may only name keys of one hash slot, so new entries are
    read with one XREADGROUP per slot of ``streams``: first without waiting, then, when none had
    anything, all blocking at once. A poll then returns when the slowest of them does (up to
    ``block_ms``): give a consumer streams of one slot (a shard's, under its hash tag) when
    latency matters.
    """

    def __init__(
        self,
        client: AsyncRedis | str,
        group: str,
        consumer_name: str,
        streams: Sequence[str],
        handler_bus: MessageBus | Callable[[Any], None],
        *,
        routing: StreamRouting | None = None,
        dead_letter_stream: str | None = None,
        min_idle_ms: int = 30_000,
        max_deliveries: int = 5,
        count: int = 100,
        block_ms: int = 1_000,
        claim_interval_ms: int | None = None,
        group_start_id: str = "0",
        dedupe_window: int = 100_000,
        ack_per_batch: bool = False,
        backoff_s: float = 1.0,
        cluster: bool = False,
    ) -> None:
        if not streams:
            raise ValueError("a consumer needs at least one stream")
        if max_deliveries < 1 or count < 1 or min_idle_ms < 0 or block_ms < 0:
            raise ValueError("max_deliveries and count must be positive, min_idle_ms and block_ms >= 0")
        routing = routing if routing is not None else StreamRouting()
        self._owns_client = isinstance(client, str)
        self._client = (
            async_client(
                client, timeout_s=block_ms / 1000 + 5.0, name=f"{group}:{consumer_name}", cluster=cluster
            )
            if isinstance(client, str)
            else client
        )
        self.group = group
        self.name = consumer_name
        self.streams = tuple(streams)
        self._cluster = isinstance(self._client, redis.asyncio.cluster.RedisCluster)
        self._slot_groups = _by_slot(self.streams) if self._cluster else [self.streams]
        self.dead_letter_stream = dead_letter_stream or routing.dead_letter_stream
        self._dead_letter_maxlen = routing.dead_letter_maxlen
        self.min_idle_ms = min_idle_ms
        self.max_deliveries = max_deliveries
        self.count = count
        self.block_ms = block_ms
        self.claim_interval_s = (
            claim_interval_ms if claim_interval_ms is not None else max(min_idle_ms // 2, 100)
        ) / 1000
        self.group_start_id = group_start_id
        self._dedupe_window = dedupe_window
        self._deliver: Callable[[Any], None]
        self._wants: Callable[[type], bool]
        if isinstance(handler_bus, MessageBus):
            self._deliver, self._wants = _bus_delivery(handler_bus), handler_bus.wants
        else:
            self._deliver, self._wants = handler_bus, _wants_everything
        self._health = Health(f"{group}:{consumer_name}", backoff_s=backoff_s)
        self.stats = ConsumerStats()
        self.ack_per_batch = ack_per_batch
        self._unacked: dict[str, list[bytes]] = {}
        self._recent_mids: dict[str, None] = {}  # insertion-ordered: the oldest is evicted first
        self.current: Delivery | None = None
        """The entry whose handler is running (None between entries)."""
        self._started = False
        self._stopping = False
        self._next_claim = 0.0

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> int:
        """Create the group on each stream if needed, then handle this consumer's own pending
        entries (left by a previous run of the same name). Returns how many it processed."""
        for stream in self.streams:
            try:
                await self._client.xgroup_create(stream, self.group, id=self.group_start_id, mkstream=True)
            except redis.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        processed = 0
        for stream in self.streams:
            processed += await self._reread_pending(stream)
        self._started = True
        self._next_claim = time.monotonic() + self.claim_interval_s
        self._health.succeeded()
        return processed

    async def poll(self, block_ms: int | None = None) -> int:
        """One step: claim idle entries when due, then read and handle one batch of new ones
        (waiting up to ``block_ms``, default ``self.block_ms``; 0 does not wait). Returns how
        many entries were processed (handled, ignored, dead-lettered or failed)."""
        if not self._started:
            await self.start()
        processed = 0
        if time.monotonic() >= self._next_claim:
            processed += await self.claim()
            self._next_claim = time.monotonic() + self.claim_interval_s
        wait = self.block_ms if block_ms is None else block_ms
        for stream, entries in await self._read_new(wait):
            for entry_id, fields in entries:
                await self._process(stream, entry_id, fields, 1)
                processed += 1
        await self._flush_acks()
        self._health.succeeded()
        return processed

    async def _read(self, streams: Sequence[str], wait: int) -> Any:
        return await self._client.xreadgroup(
            self.group,
            self.name,
            dict.fromkeys(streams, ">"),
            count=self.count,
            block=wait if wait > 0 else None,
        )

    async def _read_new(self, wait: int) -> list[tuple[str, list[tuple[bytes, Any]]]]:
        """New entries of every stream: one XREADGROUP, or on a cluster one per hash slot. When
        one of those fails, what the others delivered stays pending on this consumer until it
        re-reads its pending entries (``run`` does on reconnecting) or another claims them."""
        groups = self._slot_groups
        if len(groups) == 1:
            return _stream_batches(await self._read(groups[0], wait))
        batches = [batch for streams in groups for batch in _stream_batches(await self._read(streams, 0))]
        if batches or wait <= 0:
            return batches
        replies = await asyncio.gather(
            *(self._read(streams, wait) for streams in groups), return_exceptions=True
        )
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        return [batch for reply in replies for batch in _stream_batches(reply)]

    async def claim(self) -> int:
        """Take over every entry idle for ``min_idle_ms`` (XAUTOCLAIM) and process it."""
        processed = 0
        for stream in self.streams:
            start: bytes | str = "0-0"
            while True:
                reply = await self._client.xautoclaim(
                    stream,
                    self.group,
                    self.name,
                    min_idle_time=self.min_idle_ms,
                    start_id=start,
                    count=self.count,
                )
                start, entries = reply[0], reply[1]
                for deleted in reply[2] if len(reply) > 2 else ():
                    self._lost(stream, deleted)  # Redis 7 already removed it from the PEL
                if entries:
                    self.stats.claimed += len(entries)
                    processed += await self._process_pending(stream, entries)
                if start in (b"0-0", "0-0"):
                    break
        return processed

    async def run(self) -> None:
        """Consume until ``stop()``; Redis failures are logged and retried after the backoff."""
        self._stopping = False
        while not self._stopping:
            try:
                await self.poll()
            except REDIS_ERRORS as error:
                self._health.failed(error)
                self._started = False  # on reconnect: recreate the group if it vanished, re-read pending
                await asyncio.sleep(self._health.retry_in())

    def stop(self) -> None:
        """Make ``run`` return after the current step (at most ``block_ms`` later)."""
        self._stopping = True

    async def aclose(self) -> None:
        """Release the client if this consumer built it (pending entries stay in Redis)."""
        self._stopping = True
        if self._owns_client:
            await self._client.aclose()

    # -- processing ------------------------------------------------------------------------------

    async def _reread_pending(self, stream: str) -> int:
        processed = 0
        start: bytes | str = "0"
        while True:
            response = await self._client.xreadgroup(self.group, self.name, {stream: start}, count=self.count)
            entries = [entry for _, batch in _stream_batches(response) for entry in batch]
            if not entries:
                return processed
            processed += await self._process_pending(stream, entries)
            start = entries[-1][0]

    async def _process_pending(self, stream: str, entries: list[tuple[bytes, Any]]) -> int:
        """Process ``entries`` delivered before (re-read or claimed) with their delivery counts."""
        processed = 0
        counts = await self._delivery_counts(stream, entries)
        for entry_id, fields in entries:
            deliveries = counts.get(entry_id)
            if deliveries is not None:  # None: another consumer claimed it meanwhile
                await self._process(stream, entry_id, fields, deliveries)
                processed += 1
        await self._flush_acks()
        return processed

    async def _delivery_counts(self, stream: str, entries: list[tuple[bytes, Any]]) -> dict[bytes, int]:
        """How often each of ``entries`` was delivered, for those still pending on this consumer
        (one XPENDING per entry, pipelined: claimed entries need not be contiguous in its PEL)."""
        async with self._client.pipeline(transaction=False) as pipe:
            for entry_id, _ in entries:
                pipe.xpending_range(
                    stream, self.group, min=entry_id, max=entry_id, count=1, consumername=self.name
                )
            replies = await pipe.execute()
        return {_entry_id(row["message_id"]): int(row["times_delivered"]) for rows in replies for row in rows}

    async def _process(self, stream: str, entry_id: bytes, fields: Any, deliveries: int) -> None:
        if not fields:
            self._lost(stream, entry_id)
            await self._ack(stream, entry_id)
            return
        if deliveries > self.max_deliveries:
            await self._dead_letter(
                stream,
                entry_id,
                fields,
                deliveries,
                f"delivered {deliveries} times (max {self.max_deliveries})",
            )
            return
        raw_type, raw_mid, raw_data = fields.get(FIELD_TYPE), fields.get(FIELD_MID), fields.get(FIELD_DATA)
        tag = _text(raw_type) if raw_type is not None else ""
        kind = MESSAGE_TYPES.get(tag)
        problem = ""
        if raw_type is None:
            problem = "no 'type' field"
        elif kind is None:
            problem = f"unknown message type {tag!r}"
        elif raw_data is None or raw_mid is None:
            problem = "missing the 'data' or 'mid' field"
        if kind is None or raw_data is None or raw_mid is None:
            await self._malformed(stream, entry_id, fields, deliveries, problem)
            return
        if not self._wants(kind):
            self.stats.ignored += 1
            await self._ack(stream, entry_id)
            return
        version = version_problem(fields)
        if version is not None:
            await self._malformed(stream, entry_id, fields, deliveries, version)
            return
        try:
            message = decode(raw_data)
            if type(message) is not kind:
                raise CodecError(f"'type' field says {tag} but the data holds {type(message).__name__}")
        except CodecError as error:
            await self._malformed(stream, entry_id, fields, deliveries, str(error))
            return
        mid = _text(raw_mid)
        recent = self._recent_mids
        if mid in recent:
            self.stats.duplicates += 1
            await self._ack(stream, entry_id)
            return
        entry = _text(entry_id)
        self.current = Delivery(stream, entry, mid, deliveries)
        try:
            self._deliver(message)
        except Exception as error:
            self.stats.failed += 1
            log.warning(
                "%s/%s: handler failed on %s entry %s of %s (delivery %d of at most %d), left pending: %s",
                self.group,
                self.name,
                tag,
                entry,
                stream,
                deliveries,
                self.max_deliveries,
                describe(error),
            )
            return
        finally:
            self.current = None
        recent[mid] = None
        if len(recent) > self._dedupe_window:
            del recent[next(iter(recent))]
        self.stats.handled += 1
        await self._ack(stream, entry_id)

    async def _ack(self, stream: str, entry_id: bytes) -> None:
        if self.ack_per_batch:
            self._unacked.setdefault(stream, []).append(entry_id)
        else:
            await self._client.xack(stream, self.group, entry_id)

    async def _flush_acks(self) -> None:
        """Send the acks held back in ``ack_per_batch`` mode (one round trip for all streams)."""
        if not self._unacked:
            return
        unacked, self._unacked = self._unacked, {}
        async with self._client.pipeline(transaction=False) as pipe:
            for stream, ids in unacked.items():
                pipe.xack(stream, self.group, *ids)
            await pipe.execute()

    async def _malformed(
        self, stream: str, entry_id: bytes, fields: Any, deliveries: int, problem: str
    ) -> None:
        self.stats.malformed += 1
        await self._dead_letter(stream, entry_id, fields, deliveries, f"malformed: {problem}")

    async def _dead_letter(
        self, stream: str, entry_id: bytes, fields: Any, deliveries: int, reason: str
    ) -> None:
        """Copy the entry (its fields as they were, plus where it came from and why) to the
        dead-letter stream and ack it, atomically."""
        record = dict(fields)
        record.update(
            {
                b"dead_letter_stream": stream,
                b"dead_letter_id": entry_id,
                b"dead_letter_group": self.group,
                b"dead_letter_consumer": self.name,
                b"dead_letter_deliveries": deliveries,
                b"dead_letter_reason": reason,
            }
        )
        if self._cluster and _slot(stream) != _slot(self.dead_letter_stream):
            # No transaction spans two slots: copy first, so a failure in between can only
            # dead-letter the entry twice (on its redelivery), never lose it.
            await self._client.xadd(
                self.dead_letter_stream, record, maxlen=self._dead_letter_maxlen, approximate=True
            )
            await self._client.xack(stream, self.group, entry_id)
        else:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.xadd(self.dead_letter_stream, record, maxlen=self._dead_letter_maxlen, approximate=True)
                pipe.xack(stream, self.group, entry_id)
                await pipe.execute()
        self.stats.dead_lettered += 1
        self.stats.last_dead_letter = reason
        log.error(
            "%s/%s: dead-lettered entry %s of %s to %s: %s",
            self.group,
            self.name,
            _text(entry_id),
            stream,
            self.dead_letter_stream,
            reason,
        )

    def _lost(self, stream: str, entry_id: bytes) -> None:
        self.stats.lost += 1
        log.error(
            "%s/%s: pending entry %s of %s was trimmed from the stream before it was handled",
            self.group,
            self.name,
            _text(entry_id),
            stream,
        )


def _slot(key: str) -> int:
    return key_slot(key.encode())


def _by_slot(streams: Sequence[str]) -> list[tuple[str, ...]]:
    """``streams`` grouped by Redis Cluster hash slot, in the order each slot first appears."""
    groups: dict[int, list[str]] = {}
    for stream in streams:
        groups.setdefault(_slot(stream), []).append(stream)
    return [tuple(group) for group in groups.values()]


def _entry_id(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _wants_everything(message_type: type) -> bool:
    return True


def _bus_delivery(bus: MessageBus) -> Callable[[object], None]:
    """Publish on ``bus`` and raise HandlerFailed if any handler raised meanwhile (the bus
    isolates and counts handler failures instead of propagating them)."""

    def deliver(message: object) -> None:
        before = bus.stats.handler_errors
        bus.publish(message)
        if bus.stats.handler_errors != before:
            failure = bus.stats.last_failures[-1]
            raise HandlerFailed(f"{failure.handler} on {failure.message_type}: {failure.error}")

    return deliver


def _stream_batches(response: Any) -> list[tuple[str, list[tuple[bytes, Any]]]]:
    """XREAD(GROUP) replies as (stream name, entries), for RESP2 lists and RESP3 dicts alike."""
    if not response:
        return []
    pairs = response.items() if isinstance(response, dict) else response
    batches = []
    for stream, entries in pairs:
        flat = entries[0] if entries and isinstance(entries[0], list) else entries
        batches.append((_text(stream), list(flat)))
    return batches
