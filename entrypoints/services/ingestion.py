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
import signal
import time

from adapters.redis.connection import sync_client
from adapters.redis.shard_publisher import ShardPublisher
from adapters.system_clock import LiveClock
from application.ingestion import IngestionService
from domain.market_data import Bar, QuoteTick, TradeTick
from entrypoints.config import GrpcSettings, Settings
from entrypoints.container import build_feeds
from entrypoints.logs import Console
from entrypoints.services.topology import instance_id, redact_url, shard_layout, shard_map
from entrypoints.storage import build_market_data_store

log = logging.getLogger("tradeplane.ingestion")


class Ingestion:
    """Feeds -> market-data store and shard streams (see the module docstring)."""

    def __init__(self, settings: Settings, *, record_market_data: bool = True) -> None:
        self.settings = settings
        self.layout = shard_layout(settings)
        self.producer_id = instance_id("ingestion")
        client = sync_client(
            settings.redis.url, timeout_s=1.0, name=self.producer_id, cluster=settings.bus.cluster
        )
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


async def run_ingestion(
    settings: Settings,
    *,
    duration: float | None,
    console: Console,
    grpc: GrpcSettings | None = None,
    admin_token: str | None = None,
) -> int:
    """Run the ingestion, with its control plane (``grpc``, None: off) and, per ``[metrics]``,
    its metrics endpoint beside it."""
    from adapters.metrics.services import IngestionCollector
    from entrypoints.services.control import Lifetime
    from entrypoints.services.operated import operated
    from entrypoints.services.reporting import ingestion_numbers, ingestion_status
    from entrypoints.version import package_version

    ingestion = Ingestion(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, ingestion.stop)
    console.say(
        f"ingestion: {len(ingestion.service.feeds)} feed(s) -> {ingestion.layout.shards} shard stream(s)"
        f" on {redact_url(settings.redis.url)}",
        service="ingestion",
        shards=ingestion.layout.shards,
    )
    lifetime = Lifetime()
    collector = IngestionCollector(lambda: ingestion_numbers(ingestion), package_version())
    started = time.monotonic()
    lifetime.start()  # the service runs from here: its probes say so from their first answer
    async with operated(
        settings,
        grpc,
        console,
        status=lambda: ingestion_status(ingestion, lifetime),
        collector=collector,
        lifetime=lifetime,
        admin_token=admin_token,
    ):
        try:
            await ingestion.run(duration)
        finally:
            lifetime.stop()
    health = ingestion.publisher.health()
    console.say(
        f"ingestion stopped after {time.monotonic() - started:.0f}s: {health.writes} event(s) appended,"
        f" {ingestion.publisher.dropped} dropped",
        service="ingestion",
        appended=health.writes,
        dropped=ingestion.publisher.dropped,
    )
    return 0
