"""What the ingestion and a strategy worker report to health, GetStatus and metrics, read from
what they already expose (``service.health()``, the publisher's counters, a worker's snapshot,
leases and running shards); nothing here changes them.

A worker's shard streams are its market-data feeds: GetStatus lists one ``shard-N`` feed per
shard it runs (``messages``: market events decided on there), as the proto has no shard field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.metrics.services import IngestionNumbers, WorkerNumbers
from application.ports import FeedHealth
from entrypoints.services.control import Lifetime, ServiceStatus

if TYPE_CHECKING:
    from entrypoints.services.ingestion import Ingestion
    from entrypoints.services.strategy_worker import StrategyWorker


def ingestion_status(ingestion: Ingestion, lifetime: Lifetime) -> ServiceStatus:
    """``redis``: the publisher's last round trip worked; ``feeds``: every feed is connected."""
    publisher = ingestion.publisher
    feeds = ingestion.service.health()
    down = [
        f"{feed.name} disconnected" + (f" ({feed.last_error})" if feed.last_error else "")
        for feed in feeds
        if not feed.connected
    ]
    redis = "" if publisher.healthy else f"unreachable ({publisher.last_error or 'no answer'})"
    return ServiceStatus(
        service="ingestion",
        running=lifetime.running,
        components={"redis": redis, "feeds": "; ".join(down)},
        feeds=feeds,
        events=publisher.writes,
    )


def ingestion_numbers(ingestion: Ingestion) -> IngestionNumbers:
    publisher = ingestion.publisher
    return IngestionNumbers(
        appended=publisher.writes,
        dropped=publisher.dropped,
        pending=publisher.pending,
        redis_healthy=publisher.healthy,
        feeds_connected={feed.name: feed.connected for feed in ingestion.service.health()},
    )


def worker_status(worker: StrategyWorker, lifetime: Lifetime) -> ServiceStatus:
    """``redis``: the last lease refresh reached Redis; ``leases``: renewed, and every shard held
    has its strategies running."""
    snapshot = worker._snapshot()
    error = snapshot.redis_error
    stalled = sorted(
        shard
        for shard in worker.leases.owned
        if shard not in worker.running or worker.running[shard][1].done()
    )
    if error:
        leases = f"not renewed: {error}"
    elif stalled:
        leases = "held but not running: shard " + ", ".join(str(shard) for shard in stalled)
    else:
        leases = ""
    shards = [
        FeedHealth(
            name=f"shard-{shard}",
            connected=not error and not task.done(),
            last_message_ns=None,
            messages=runner.stats.decided,
            reconnects=0,
            gaps=0,
            malformed=0,
        )
        for shard, (runner, task) in sorted(worker.running.items())
    ]
    return ServiceStatus(
        service="strategy",
        running=lifetime.running,
        components={"redis": f"unreachable ({error})" if error else "", "leases": leases},
        feeds=shards,
        events=snapshot.decided,
        signals=snapshot.signals,
    )


def worker_numbers(worker: StrategyWorker) -> WorkerNumbers:
    snapshot = worker._snapshot()
    return WorkerNumbers(
        shards_owned=len(worker.leases.owned),
        decided=snapshot.decided,
        signals=snapshot.signals,
        redis_healthy=not snapshot.redis_error,
    )
