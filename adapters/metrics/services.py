"""The metric families of the ingestion and strategy-worker services, read when Prometheus scrapes.

Each service serves its own endpoint (``tradeplane run --service ingestion|strategy``) with the
engine's naming: ``tradeplane_redis_healthy`` for both, ``tradeplane_feed_connected{feed}`` as
the engine exports it (the same alert rules apply), ``tradeplane_ingestion_*`` for what the
ingestion appends to the shard streams and ``tradeplane_worker_*`` for what a worker decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.metrics.collector import PREFIX


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestionNumbers:
    appended: int
    """Market events Redis acknowledged on the shard streams."""
    dropped: int
    """Events given up: no shard for their instrument, unencodable, or evicted from a full outbox."""
    pending: int
    """Events in the outbox, not yet in Redis."""
    redis_healthy: bool
    feeds_connected: Mapping[str, bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerNumbers:
    shards_owned: int
    decided: int
    """Market events handed to the strategies (warm-up replays excluded)."""
    signals: int
    redis_healthy: bool


def _redis(healthy: bool) -> GaugeMetricFamily:
    family = GaugeMetricFamily(PREFIX + "redis_healthy", "1 while the service's Redis round trips succeed.")
    family.add_metric([], 1.0 if healthy else 0.0)
    return family


def _build(version: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(PREFIX + "build_info", "The running build (value 1).", labels=["version"])
    family.add_metric([version], 1.0)
    return family


class IngestionCollector(Collector):
    """Exports what ``numbers()`` says at each scrape."""

    def __init__(self, numbers: Callable[[], IngestionNumbers], version: str) -> None:
        self._numbers = numbers
        self._version = version

    def collect(self) -> Iterator[Metric]:
        numbers = self._numbers()
        appended = CounterMetricFamily(
            PREFIX + "ingestion_events_appended", "Market events appended to the shard streams."
        )
        appended.add_metric([], numbers.appended)
        yield appended
        dropped = CounterMetricFamily(
            PREFIX + "ingestion_events_dropped",
            "Market events given up (no shard, unencodable, or evicted from a full outbox).",
        )
        dropped.add_metric([], numbers.dropped)
        yield dropped
        pending = GaugeMetricFamily(
            PREFIX + "ingestion_outbox_pending", "Market events waiting in the outbox for Redis."
        )
        pending.add_metric([], numbers.pending)
        yield pending
        yield _redis(numbers.redis_healthy)
        connected = GaugeMetricFamily(
            PREFIX + "feed_connected", "1 while the feed is connected to its venue.", labels=["feed"]
        )
        for feed, up in sorted(numbers.feeds_connected.items()):
            connected.add_metric([feed], 1.0 if up else 0.0)
        yield connected
        yield _build(self._version)


class WorkerCollector(Collector):
    """Exports what ``numbers()`` says at each scrape."""

    def __init__(self, numbers: Callable[[], WorkerNumbers], version: str) -> None:
        self._numbers = numbers
        self._version = version

    def collect(self) -> Iterator[Metric]:
        numbers = self._numbers()
        owned = GaugeMetricFamily(PREFIX + "worker_shards_owned", "Shards whose lease this worker holds.")
        owned.add_metric([], numbers.shards_owned)
        yield owned
        decided = CounterMetricFamily(
            PREFIX + "worker_market_events_decided", "Market events handed to the strategies."
        )
        decided.add_metric([], numbers.decided)
        yield decided
        signals = CounterMetricFamily(
            PREFIX + "worker_signals_decided", "Signals decided and handed to execution."
        )
        signals.add_metric([], numbers.signals)
        yield signals
        yield _redis(numbers.redis_healthy)
        yield _build(self._version)
