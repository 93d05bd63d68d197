"""The alerts' families: every alert name with its active flag, counts of fired alerts, webhook
failures by name; parsed back from the exposition text as Prometheus reads it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.metrics.alerts_collector import AlertCollector
from application.alerts import AlertMetrics


def _scrape(numbers: AlertMetrics) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    registry = CollectorRegistry()
    registry.register(AlertCollector(lambda: numbers))
    text = generate_latest(registry).decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_active_fired_and_webhook_failures_are_exported_by_label() -> None:
    samples = _scrape(
        AlertMetrics(
            active={"TradingHalted": 1, "FeedDown": 0},
            fired={"TradingHalted": 2, "FeedDown": 1},
            webhook_failures={"ops-slack": 3},
        )
    )
    assert samples["tradeplane_alert_active"] == {
        (("alert", "FeedDown"),): 0.0,
        (("alert", "TradingHalted"),): 1.0,
    }
    assert samples["tradeplane_alerts_fired_total"][(("alert", "TradingHalted"),)] == 2.0
    assert samples["tradeplane_webhook_failures_total"] == {(("webhook", "ops-slack"),): 3.0}


def test_nothing_fired_yet_still_exports_the_families() -> None:
    samples = _scrape(AlertMetrics(active={"FeedDown": 0}, fired={}, webhook_failures={}))
    assert samples["tradeplane_alert_active"] == {(("alert", "FeedDown"),): 0.0}
