"""Execution's view of the Redis Streams bus, read when Prometheus scrapes.

Execution (``tradeplane run --service execution``) serves the engine's endpoint with these
families added: whether its Redis round trips succeed, how many shards apply their market
without their strategy worker's decisions, and the counts of what its shard readers applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.metrics.collector import PREFIX


class BusStatus(Protocol):
    """What execution's shard readers report (``ExecutionShards.status()`` answers it)."""

    @property
    def market(self) -> int: ...
    @property
    def decisions(self) -> int: ...
    @property
    def traded(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def late(self) -> int: ...
    @property
    def lagging(self) -> tuple[int, ...]: ...
    @property
    def redis_error(self) -> str: ...


_COUNTERS: tuple[tuple[str, str, Callable[[BusStatus], int]], ...] = (
    ("bus_market_events", "Market events applied from the shard streams.", lambda s: s.market),
    ("bus_decisions", "Decisions read from the strategy workers.", lambda s: s.decisions),
    ("bus_decisions_traded", "Decided signals traded (once each).", lambda s: s.traded),
    (
        "bus_decisions_duplicate",
        "Decisions already traded (a worker's redelivery or a new owner's replay), not traded again.",
        lambda s: s.duplicates,
    ),
    (
        "bus_decisions_late",
        "Decisions traded after their market event had been applied without them.",
        lambda s: s.late,
    ),
)


class ExecutionBusCollector(Collector):
    """Exports what ``status()`` says at each scrape."""

    def __init__(self, status: Callable[[], BusStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        healthy = GaugeMetricFamily(
            PREFIX + "bus_redis_healthy", "1 while execution's reads of the shard streams succeed."
        )
        healthy.add_metric([], 0.0 if status.redis_error else 1.0)
        yield healthy
        lagging = GaugeMetricFamily(
            PREFIX + "bus_shards_lagging",
            "Shards whose market events are applied without waiting for their worker's decisions.",
        )
        lagging.add_metric([], float(len(status.lagging)))
        yield lagging
        for name, doc, read in _COUNTERS:
            family = CounterMetricFamily(PREFIX + name, doc)
            family.add_metric([], float(read(status)))
            yield family
