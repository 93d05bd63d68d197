"""What the deployment queries is what a running engine exports: every metric listed in
``deploy/metrics.txt`` (the names the Prometheus rules and the Grafana dashboard may use, which
tests/deploy checks them against) is on a live engine's /metrics with that type and those
labels, the alerts' families included, and the engine exports no tradeplane_ name the list lacks."""

from __future__ import annotations

from adapters.metrics.alerts_collector import AlertCollector
from application.alerts import AlertMetrics
from tests.deploy.contract import load_metrics
from tests.integration.metrics.support import bounded, running

_PARSED_TYPE = {"counter": "counter", "gauge": "gauge", "histogram": "histogram"}


def _family_name(name: str, kind: str) -> str:
    """The parser names a counter family without its ``_total``."""
    return name.removesuffix("_total") if kind == "counter" else name


def test_every_listed_metric_is_exported_with_its_type_and_labels_and_nothing_else() -> None:
    listed = load_metrics()
    alerts = AlertCollector(
        lambda: AlertMetrics(active={"FeedDown": 1}, fired={"FeedDown": 1}, webhook_failures={"ops": 1})
    )

    async def scenario() -> None:
        async with running(trades=200, collectors=[alerts]) as engine:
            families = await engine.families()
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

    bounded(scenario())
