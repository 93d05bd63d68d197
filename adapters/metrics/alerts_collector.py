"""The alerts' families, read from the alert service when Prometheus scrapes.

``tradeplane_alert_active{alert}`` is 1 while an alert of that name is active (every alert name
is listed, so a dashboard sees the zeros too), ``tradeplane_alerts_fired_total{alert}`` counts
alerts raised since start, ``tradeplane_webhook_failures_total{webhook}`` failed deliveries per
webhook, named by its configured name or index, never by its URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from application.alerts import AlertMetrics


class AlertCollector(Collector):
    """Exports what ``metrics()`` (the alert service's) says at each scrape."""

    def __init__(self, metrics: Callable[[], AlertMetrics]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        numbers = self._metrics()
        active = GaugeMetricFamily(
            "tradeplane_alert_active", "1 while an alert of this name is active", labels=["alert"]
        )
        for name, value in sorted(numbers.active.items()):
            active.add_metric([name], float(value))
        yield active
        fired = CounterMetricFamily(
            "tradeplane_alerts_fired", "Alerts raised since the engine started", labels=["alert"]
        )
        for name, value in sorted(numbers.fired.items()):
            fired.add_metric([name], float(value))
        yield fired
        failures = CounterMetricFamily(
            "tradeplane_webhook_failures",
            "Alert deliveries a webhook failed (after retries)",
            labels=["webhook"],
        )
        for name, value in sorted(numbers.webhook_failures.items()):
            failures.add_metric([name], float(value))
        yield failures
