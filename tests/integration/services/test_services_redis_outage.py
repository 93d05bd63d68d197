"""Redis away for longer than a lease: the services say so, wait, and resume without loss.

The services run through a proxy the test takes down mid-session for longer than the strategy
workers' leases, so the workers lose their shards and take them over again when Redis is back
(rebuilding their strategies by replay), ingestion's outbox keeps the events it could not
write, and execution reconnects to where it was. Afterwards the services have traded exactly
what one process trades on the same events: nothing lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from entrypoints.services.execution import BUS_HEALTH
from entrypoints.services.strategy_worker import StrategyWorker
from tests.integration.redis.proxy import Proxy
from tests.integration.services.harness import Services, run_one_process, run_services
from tests.integration.services.test_services_parity import (
    INSTRUMENTS,
    _by_instrument,
    _market,
    _settings,
)

OUTAGE_S = 4.0  # longer than the leases (3 s)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    with Proxy("127.0.0.1", 6379) as instance:
        yield instance


def test_a_redis_outage_loses_and_doubles_nothing(proxy: Proxy, prefix: str) -> None:
    settings = _settings(prefix, proxy.url)
    events = _market(seed=23)
    seen: dict[str, object] = {}

    async def outage(services: Services, workers: list[StrategyWorker]) -> None:
        await asyncio.sleep(0.5)  # let the first half flow
        proxy.down()
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if all(worker.status.redis_error for worker in workers):
                seen["workers"] = workers[0].status.redis_error
            if services.shards.status().redis_error:
                seen["execution"] = services.shards.status().redis_error
            if not services.shards.health()[BUS_HEALTH]:
                seen["bus health"] = "NOT_SERVING"
            if all(not worker.leases.owned for worker in workers):
                seen["leases lapsed"] = True
        proxy.up()

    one = run_one_process(settings, events)
    services = asyncio.run(run_services(settings, events, workers=2, midway=outage))
    try:
        assert {"workers", "execution", "leases lapsed", "bus health"} <= seen.keys(), seen
        assert services.shards.health() == {BUS_HEALTH: True}  # well again
        expected, got = _by_instrument(one), _by_instrument(services.app)
        for iid in INSTRUMENTS:
            for what in ("signals", "orders", "fills", "position"):
                assert got[iid][what] == expected[iid][what], f"{iid} {what} differ after the outage"
    finally:
        one.close()
        services.app.close()
