"""The three services in one test process, on the real Redis, fed a recorded list of events.

Ingestion is its publisher (``ShardPublisher``, flushed in the caller); each strategy worker and
execution run as asyncio tasks as they do in their own processes. Execution's clock follows the
events' time, as a backtest's does, so the engine's time-dependent rules see what one process
fed the same events sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.memory import ManualClock
from adapters.redis.connection import sync_client
from adapters.redis.shard_publisher import ShardPublisher
from domain.market_data import MarketEvent
from entrypoints.config import Settings
from entrypoints.container import App, bootstrap
from entrypoints.services.execution import ExecutionShards, detach_strategies
from entrypoints.services.strategy_worker import StrategyWorker
from entrypoints.services.topology import shard_layout, shard_map

SETTLE_TIMEOUT_S = 60.0


class EventClock(ManualClock):
    """A manual clock moved to each event's time; it never goes back (shards interleave)."""

    def follow(self, ts_ns: int) -> None:
        if ts_ns > self.now_ns():
            self.set(ts_ns)


def run_one_process(settings: Settings, events: Sequence[MarketEvent]) -> App:
    """The reference: one process's engine fed ``events`` on its bus, its clock on event time."""
    clock = EventClock()
    app = bootstrap(settings, feeds=[], clock=clock, record_market_data=False)
    for event in events:
        clock.follow(event.ts_event)
        app.bus.publish(event)
    return app


@dataclass
class Services:
    """What ran: execution's app and shard readers, and the workers' final status."""

    app: App
    shards: ExecutionShards
    decided_signals: int


async def run_services(
    settings: Settings,
    events: Sequence[MarketEvent],
    *,
    workers: int = 2,
    timeout_s: float = SETTLE_TIMEOUT_S,
    midway: Callable[[Services, list[StrategyWorker]], Awaitable[None]] | None = None,
) -> Services:
    """Publish ``events`` to the shard streams and let ``workers`` strategy workers and one
    execution handle them; returns once execution applied them all and traded every decision.
    ``midway`` runs when half the events are published (an outage, say)."""
    clock = EventClock()
    app = bootstrap(settings, feeds=[], clock=clock, record_market_data=False)
    detach_strategies(app)

    def apply(event: Any) -> None:
        clock.follow(event.ts_event)
        app.bus.publish(event)

    shards = ExecutionShards(app, settings, apply_market=apply)
    pool = [StrategyWorker(settings, worker_id=f"worker-{n}") for n in range(workers)]
    tasks = [asyncio.create_task(worker.run()) for worker in pool]
    layout = shard_layout(settings)
    publisher = ShardPublisher(
        sync_client(settings.redis.url, timeout_s=2.0, cluster=settings.bus.cluster),
        layout,
        shard_map(settings, layout),
        maxlen=settings.bus.market_maxlen,
        background=False,
    )
    try:
        shards.start()
        admin = sync_client(settings.redis.url, timeout_s=2.0, cluster=settings.bus.cluster)

        def groups_ready() -> bool:  # every shard read by a worker and by execution
            for shard in range(layout.shards):
                stream = layout.market_stream(shard)
                if not admin.exists(stream):
                    return False
                names = {group["name"] for group in admin.xinfo_groups(stream)}
                if not {b"strategy", b"execution"} <= names:
                    return False
            return True

        await _until(groups_ready, timeout_s)
        half = len(events) // 2
        for event in events[:half]:
            publisher.publish(event)
        if midway is not None:
            await midway(Services(app=app, shards=shards, decided_signals=0), pool)
        for event in events[half:]:
            publisher.publish(event)
        await _until(lambda: publisher.flush(timeout_s=0.5), timeout_s)

        def settled() -> bool:
            status = shards.status()
            decided = sum(
                w.status.signals + sum(r.stats.signals for r, _ in w.running.values()) for w in pool
            )
            waiting = sum(reader.merge.waiting for reader in shards.readers)
            last.update(status=status, decided=decided, waiting=waiting, events=len(events))
            return (
                status.market == len(events) and not waiting and decided == status.traded + status.duplicates
            )

        last: dict[str, object] = {}
        try:
            await _until(settled, timeout_s)
        except AssertionError as error:
            raise AssertionError(f"{error}; last seen: {last}") from None
        decided_total = sum(
            w.status.signals + sum(r.stats.signals for r, _ in w.running.values()) for w in pool
        )
    finally:
        for worker in pool:
            worker.stop()
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10.0)
        await shards.stop()
        publisher.close()
    return Services(app=app, shards=shards, decided_signals=decided_total)


async def _until(condition: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout_s} s: {condition}")
        await asyncio.sleep(0.02)
