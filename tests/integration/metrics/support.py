"""An engine over an in-memory feed, with its metrics endpoint on 127.0.0.1:0, for these tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from adapters.memory import InMemoryMarketDataRepository, InMemorySignalRepository, InMemoryTradeRepository
from adapters.memory.feed import InMemoryFeed
from application.ports import FeedHealth
from domain.market_data import MarketEvent
from entrypoints.config import Settings, parse_settings
from entrypoints.container import App, bootstrap
from entrypoints.metrics import MetricsServer, start_metrics
from entrypoints.storage import Stores
from tests.integration.grpc import support as grpc_support

TEST_TIMEOUT_S = 20.0
BTC, ETH = grpc_support.BTC, grpc_support.ETH


class SwitchableFeed(InMemoryFeed):
    """The in-memory feed, whose connection a test can drop and restore (``up``)."""

    def __init__(self, events: Sequence[MarketEvent], *, name: str) -> None:
        super().__init__(events, name=name)
        self.up = True

    def health(self) -> FeedHealth:
        health = super().health()
        return replace(health, connected=health.connected and self.up)


class FlakyTrades(InMemoryTradeRepository):
    """The in-memory trades store, whose commits fail while ``failing`` (a full disk, say)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def commit(self) -> None:
        if self.failing:
            raise OSError("disk full")
        super().commit()


def settings(*, strategy: bool = True, **metrics: Any) -> Settings:
    raw = grpc_support.settings_dict()
    raw.pop("grpc")
    raw["strategies"][0]["enabled"] = strategy
    raw["metrics"] = metrics or {"listen": "127.0.0.1:0"}
    return parse_settings(raw, source="<metrics test>")


def market(trades: int) -> list[MarketEvent]:
    """A book, a quote and trades of both instruments, then BTC trades wandering around 30,000
    (the test strategy, an SMA crossover of 2 and 3, trades on them)."""
    now = time.time_ns()
    wander = [grpc_support.trade(str(30000 + (i % 7) * 3 - 9), f"t{i}") for i in range(trades)]
    return [*grpc_support.market_events(now), *wander]


@dataclass
class Running:
    app: App
    server: MetricsServer
    feed: SwitchableFeed
    trades: FlakyTrades
    http: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.server.url + path) as response:
            return response.status, await response.text()

    async def families(self) -> dict[str, Any]:
        status, text = await self.get("/metrics")
        assert status == 200
        return {family.name: family for family in text_string_to_metric_families(text)}

    async def samples(self, name: str) -> list[Sample]:
        """The samples named ``name`` (counters: with their ``_total``)."""
        found = []
        for family in (await self.families()).values():
            found += [sample for sample in family.samples if sample.name == name]
        return found

    async def value(self, name: str, **labels: str) -> float:
        matching = [s.value for s in await self.samples(name) if s.labels == labels]
        assert len(matching) == 1, (name, labels, await self.samples(name))
        return matching[0]


async def scrape_value(server: MetricsServer, name: str, **labels: str) -> float:
    """One sample of ``server``'s /metrics, by name and labels."""
    timeout = aiohttp.ClientTimeout(total=TEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(server.url + "/metrics") as response:
        text = await response.text()
    found = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and sample.labels == labels
    ]
    assert len(found) == 1, (name, labels, found)
    return found[0]


@asynccontextmanager
async def running(
    *,
    trades: int = 200,
    strategy: bool = True,
    feed_name: str = "memory",
    collectors: Sequence[Collector] = (),
) -> AsyncIterator[Running]:
    """An engine that has replayed ``trades`` BTC trades, its metrics served; all stopped after."""
    feed = SwitchableFeed(market(trades), name=feed_name)
    store = FlakyTrades()
    chosen = settings(strategy=strategy)
    app = bootstrap(
        chosen,
        feeds=[feed],
        stores=Stores(store, InMemorySignalRepository(), InMemoryMarketDataRepository()),
    )
    server = await start_metrics(app, chosen, collectors=collectors)
    assert server is not None
    try:
        await app.engine.start()
        await asyncio.wait_for(feed.wait_replayed(), TEST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TEST_TIMEOUT_S)) as http:
            yield Running(app, server, feed, store, http)
    finally:
        await app.engine.stop()
        await server.stop()
        app.close()


def bounded(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a test's scenario, failing it after TEST_TIMEOUT_S."""
    asyncio.run(asyncio.wait_for(coroutine, TEST_TIMEOUT_S))
