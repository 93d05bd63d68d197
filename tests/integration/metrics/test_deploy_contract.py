"""What the deployment queries is what a running engine exports: every metric ``deploy/metrics.txt``
marks as the engine's (the names the Prometheus rules and the Grafana dashboard may use, which
tests/deploy checks them against) is on a live engine's /metrics with that type and those labels,
the alerts' families included, and the engine exports no tradeplane_ name the list lacks. Run as
execution, the engine adds the names marked ``execution``, read from its ``ExecutionShards``.
(The ingestion's and the strategy workers' names: tests/integration/services/.)"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import redis

from adapters.metrics.alerts_collector import AlertCollector
from adapters.metrics.bus import ExecutionBusCollector
from application.alerts import AlertMetrics
from entrypoints.services.execution import ExecutionBusStatus, ExecutionShards
from tests.deploy.contract import Metric, exported_by
from tests.integration.metrics.support import bounded, running, settings

_PARSED_TYPE = {"counter": "counter", "gauge": "gauge", "histogram": "histogram"}


def _family_name(name: str, kind: str) -> str:
    """The parser names a counter family without its ``_total``."""
    return name.removesuffix("_total") if kind == "counter" else name


def _alerts() -> AlertCollector:
    return AlertCollector(
        lambda: AlertMetrics(active={"FeedDown": 1}, fired={"FeedDown": 1}, webhook_failures={"ops": 1})
    )


def assert_exports_exactly(families: Mapping[str, Any], listed: Mapping[str, Metric]) -> None:
    """Every listed name with its type and labels, and no other tradeplane_ name."""
    expected = {_family_name(m.name, m.type) for m in listed.values()}
    assert expected <= set(families), sorted(expected - set(families))
    ours = {name for name in families if name.startswith("tradeplane_")}
    assert ours <= expected, sorted(ours - expected)  # every tradeplane_ name is listed
    for metric in listed.values():
        family = families[_family_name(metric.name, metric.type)]
        assert family.type == _PARSED_TYPE[metric.type], metric.name
        for sample in family.samples:
            labels = set(sample.labels) - {"le"}
            assert labels == set(metric.labels), (metric.name, sample.labels)


def test_every_listed_metric_is_exported_with_its_type_and_labels_and_nothing_else() -> None:
    async def scenario() -> None:
        async with running(trades=200, collectors=[_alerts()]) as engine:
            assert_exports_exactly(await engine.families(), exported_by("engine"))

    bounded(scenario())


def test_execution_adds_its_bus_names_read_from_its_shard_readers() -> None:
    prefix = f"it-metrics-{uuid.uuid4().hex[:8]}:"
    chosen = settings(strategy=False)
    chosen = replace(chosen, redis=replace(chosen.redis, prefix=prefix))
    shards: list[ExecutionShards] = []

    def status() -> ExecutionBusStatus:  # the shards are built on the running engine's app
        return shards[0].status()

    bus = ExecutionBusCollector(status)

    async def scenario() -> None:
        async with running(trades=20, strategy=False, collectors=[_alerts(), bus]) as engine:
            shards.append(ExecutionShards(engine.app, chosen))
            try:
                families = await engine.families()
                assert_exports_exactly(families, {**exported_by("engine"), **exported_by("execution")})
                status = shards[0].status()
                assert status == ExecutionBusStatus(
                    shards=chosen.bus.shards,
                    market=0,
                    decisions=0,
                    traded=0,
                    duplicates=0,
                    late=0,
                    lagging=(),
                    redis_error="",
                )
                assert await engine.value("tradeplane_bus_redis_healthy") == 1.0
                assert await engine.value("tradeplane_bus_shards_lagging") == 0.0
                assert await engine.value("tradeplane_bus_market_events_total") == 0.0
            finally:
                await shards[0].stop()

    try:
        bounded(scenario())
    finally:
        client = redis.Redis.from_url(chosen.redis.url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
