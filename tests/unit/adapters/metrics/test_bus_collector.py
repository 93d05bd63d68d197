"""Execution's bus families say what its shard readers report, whatever the numbers."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.metrics.bus import ExecutionBusCollector


@dataclass(frozen=True, slots=True)
class Status:
    market: int
    decisions: int
    traded: int
    duplicates: int
    late: int
    lagging: tuple[int, ...]
    redis_error: str


counts = st.integers(min_value=0, max_value=2**53)
statuses = st.builds(
    Status,
    market=counts,
    decisions=counts,
    traded=counts,
    duplicates=counts,
    late=counts,
    lagging=st.lists(st.integers(0, 1023), unique=True, max_size=16).map(tuple),
    redis_error=st.sampled_from(["", "ConnectionError: refused"]),
)


def scraped(status: Status) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(ExecutionBusCollector(lambda: status))
    text = generate_latest(registry).decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


@given(statuses)
def test_each_family_is_the_status_number(status: Status) -> None:
    assert scraped(status) == {
        "tradeplane_bus_redis_healthy": 0.0 if status.redis_error else 1.0,
        "tradeplane_bus_shards_lagging": float(len(status.lagging)),
        "tradeplane_bus_market_events_total": float(status.market),
        "tradeplane_bus_decisions_total": float(status.decisions),
        "tradeplane_bus_decisions_traded_total": float(status.traded),
        "tradeplane_bus_decisions_duplicate_total": float(status.duplicates),
        "tradeplane_bus_decisions_late_total": float(status.late),
    }


def test_each_scrape_reads_the_status_anew() -> None:
    seen = [Status(1, 0, 0, 0, 0, (), ""), Status(2, 1, 1, 0, 0, (3,), "down")]
    registry = CollectorRegistry()
    registry.register(ExecutionBusCollector(lambda: seen[0]))
    assert registry.get_sample_value("tradeplane_bus_market_events_total") == 1.0
    seen.pop(0)
    assert registry.get_sample_value("tradeplane_bus_market_events_total") == 2.0
    assert registry.get_sample_value("tradeplane_bus_shards_lagging") == 1.0
    assert registry.get_sample_value("tradeplane_bus_redis_healthy") == 0.0
