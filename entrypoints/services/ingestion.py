"""``tradeplane run --service ingestion``: the feeds, their books, the market-data store, and the
shard streams every other service reads.

The feeds normalize and sequence-check as in one process (a feed keeps its own books and
resynchronizes them); each market event is recorded in the market-data store and appended to
its instrument's shard stream (``shard_publisher``). The process holds no order and no
strategy: killed, it loses at most the events in its outbox, and the feeds resynchronize their
books when it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.redis.shard_publisher import ShardPublisher
from adapters.system_clock import LiveClock
from application.ingestion import IngestionService
from domain.market_data import Bar, QuoteTick, TradeTick
from entrypoints.config import Settings
from entrypoints.container import build_feeds
from entrypoints.services.topology import instance_id, shard_layout, shard_map, sync_bus_client
from entrypoints.storage import build_market_data_store

log = logging.getLogger("tradeplane.ingestion")


class Ingestion:
    """Feeds -> market-data store and shard streams (see the module docstring)."""

    def __init__(self, settings: Settings, *, record_market_data: bool = True) -> None:
        self.settings = settings
        self.layout = shard_layout(settings)
        self.producer_id = instance_id("ingestion")
        client = sync_bus_client(settings, name=self.producer_id)
        self.publisher = ShardPublisher(
            client,
            self.layout,
            shard_map(settings, self.layout),
            maxlen=settings.bus.market_maxlen,
            producer_id=self.producer_id,
            name="ingestion",
        )
        self._close_store = None
        if record_market_data:
            store, self._close_store = build_market_data_store(settings.storage)
            self.publisher.subscribe(TradeTick, store.append)
            self.publisher.subscribe(QuoteTick, store.append)
            self.publisher.subscribe(Bar, store.append)
        self.service = IngestionService(
            build_feeds(settings, LiveClock()),
            self.publisher.publish,
            restart_delay=settings.engine.feed_restart_delay_s,
        )
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self, duration: float | None) -> None:
        self.service.start()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), duration)
        finally:
            await self.service.stop()
            self.publisher.close()
            if self._close_store is not None:
                self._close_store()
