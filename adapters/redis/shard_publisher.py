"""Ingestion's side of the shard streams: each market event appended to its instrument's shard.

The same write-behind as :class:`~adapters.redis.stream_bus.RedisStreamBus` (an in-memory outbox
written in order by a thread, kept while Redis is away, ``publish`` never blocking on Redis),
with the destination chosen per event: the market stream of the shard its instrument maps to,
trimmed to about ``maxlen`` entries. Each entry's ``mid`` is this process's id and a sequence
number, the same on a retried write, which the strategy workers key their decisions by.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, get_args

from adapters.redis.codec import tag_of
from adapters.redis.connection import SyncRedis
from adapters.redis.shards import ShardLayout
from adapters.redis.stream_bus import RedisStreamBus
from adapters.redis.stream_routing import StreamRouting
from application.messages import FeedStatusChanged
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent

MARKET_TYPES: tuple[type, ...] = (*get_args(MarketEvent), FeedStatusChanged)


class ShardPublisher(RedisStreamBus):
    """Appends market events to the shard streams of ``layout`` (see the module docstring).

    ``shards`` maps each instrument id to its shard (the services' common map); an event of an
    instrument missing from it is not appended (no worker would read it): counted in
    ``dropped`` and logged.
    """

    def __init__(
        self,
        client: SyncRedis | str,
        layout: ShardLayout,
        shards: Mapping[str, int],
        *,
        maxlen: int = 100_000,
        **options: Any,
    ) -> None:
        self.layout = layout
        routing = StreamRouting(prefix=layout.prefix, dead_letter_maxlen=100_000)
        super().__init__(client, routing=routing, exported=MARKET_TYPES, **options)
        self._streams = {iid: layout.market_stream(shard) for iid, shard in shards.items()}
        self._tags = {kind: tag_of(kind) for kind in MARKET_TYPES}
        self._maxlen = maxlen

    def publish(self, message: object) -> None:
        if isinstance(message, FeedStatusChanged):
            self._publish_feed_status(message)
            return
        if type(message) in self._tags and getattr(message, "instrument_id", None) not in self._streams:
            self.dropped += 1
            self._log_drop(f"an event of {message.instrument_id} has no shard (not in [[instruments]])")  # type: ignore[attr-defined]
            self.local.publish(message)
            return
        super().publish(message)

    def _publish_feed_status(self, status: FeedStatusChanged) -> None:
        """A feed's connection changed for instruments of several shards: each shard's stream gets
        the same news for its own instruments, at its place among their market events."""
        by_stream: dict[str, list[InstrumentId]] = {}
        for instrument_id in status.instruments:
            stream = self._streams.get(instrument_id)
            if stream is not None:
                by_stream.setdefault(stream, []).append(instrument_id)
        if not self._closed:
            for instruments in by_stream.values():
                self._enqueue(replace(status, instruments=tuple(instruments)))
        self.local.publish(status)

    def _destination(self, message: object) -> tuple[str, str, int]:
        if isinstance(message, FeedStatusChanged):
            return self._streams[message.instruments[0]], self._tags[FeedStatusChanged], self._maxlen
        instrument_id = message.instrument_id  # type: ignore[attr-defined]
        return self._streams[instrument_id], self._tags[type(message)], self._maxlen
