"""Ingestion's side of the shard streams: each market event appended to its instrument's shard.

The same write-behind as :class:`~adapters.redis.stream_bus.RedisStreamBus` (an in-memory outbox
written in order by a thread, kept while Redis is away, ``publish`` never blocking on Redis),
with the destination chosen per event: the market stream of the shard its instrument maps to,
trimmed to about ``maxlen`` entries. Each entry's ``mid`` is this process's id and a sequence
number, the same on a retried write, which the strategy workers key their decisions by.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from adapters.redis.codec import tag_of
from adapters.redis.connection import SyncRedis
from adapters.redis.shards import ShardLayout
from adapters.redis.stream_bus import RedisStreamBus
from adapters.redis.stream_routing import StreamRouting
from domain.market_data import MarketEvent

MARKET_TYPES: tuple[type, ...] = get_args(MarketEvent)


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
        if type(message) in self._tags and getattr(message, "instrument_id", None) not in self._streams:
            self.dropped += 1
            self._log_drop(f"an event of {message.instrument_id} has no shard (not in [[instruments]])")  # type: ignore[attr-defined]
            self.local.publish(message)
            return
        super().publish(message)

    def _destination(self, message: object) -> tuple[str, str, int]:
        instrument_id: str = message.instrument_id  # type: ignore[attr-defined]
        return self._streams[instrument_id], self._tags[type(message)], self._maxlen
