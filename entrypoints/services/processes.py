"""The ingestion and strategy-worker processes: each service with its control plane and metrics.

``tradeplane run --service ingestion|strategy`` lands here; the services themselves are in
``ingestion`` and ``strategy_worker``, what reports on them in ``reporting`` and ``control``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

from adapters.metrics.services import IngestionCollector, WorkerCollector
from entrypoints.config import GrpcSettings, Settings
from entrypoints.logs import Console
from entrypoints.services.control import Lifetime
from entrypoints.services.ingestion import Ingestion
from entrypoints.services.operated import operated
from entrypoints.services.reporting import ingestion_numbers, ingestion_status, worker_numbers, worker_status
from entrypoints.services.strategy_worker import StrategyWorker
from entrypoints.services.topology import redact_url
from entrypoints.version import package_version


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


async def run_strategy_worker(
    settings: Settings,
    *,
    duration: float | None,
    console: Console,
    grpc: GrpcSettings | None = None,
    admin_token: str | None = None,
) -> int:
    """Run one worker, with its control plane (``grpc``, None: off) and, per ``[metrics]``, its
    metrics endpoint beside it."""

    worker = StrategyWorker(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, worker.stop)
    console.say(
        f"strategy worker {worker.worker_id}: {worker.layout.shards} shard(s) shared with the other workers",
        service="strategy",
        worker=worker.worker_id,
    )
    lifetime = Lifetime()
    collector = WorkerCollector(lambda: worker_numbers(worker), package_version())
    lifetime.start()  # the service runs from here: its probes say so from their first answer
    async with operated(
        settings,
        grpc,
        console,
        status=lambda: worker_status(worker, lifetime),
        collector=collector,
        lifetime=lifetime,
        admin_token=admin_token,
    ):
        try:
            final = await worker.run(duration)
        finally:
            lifetime.stop()
    console.say(
        f"strategy worker stopped: {final.decided} market events decided on, {final.signals} signal(s)",
        service="strategy",
        decided=final.decided,
        signals=final.signals,
    )
    return 0
