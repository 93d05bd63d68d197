"""``tradeplane run --service strategy``: one strategy worker of a deployment over Redis Streams.

Workers share the shards (``shard_leases``): each runs the strategies of the shards it holds
(``shard_strategies``), one task per shard, and hands what they decide to execution. The main
loop renews the leases every third of their lifetime and makes the running shards follow them:
a lease lost or given up stops its shard at once; a lease won starts one, which first rebuilds
its strategies from the market events already handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from adapters.memory import InMemorySignalRepository
from adapters.redis.connection import REDIS_ERRORS, describe
from adapters.redis.shard_leases import ShardLeases
from adapters.redis.shard_strategies import ShardStrategies
from adapters.redis.shards import ShardLayout
from application.bus import MessageBus
from application.strategy_engine import StrategyEngine
from domain.instrument import InstrumentRegistry
from domain.portfolio import Portfolio
from domain.signals import Signal
from domain.values import ZERO
from entrypoints.brokers import build_instruments
from entrypoints.config import Settings
from entrypoints.container import build_sizer
from entrypoints.services.lifecycle import STOP_TIMEOUT_S, cancel_within
from entrypoints.services.topology import instance_id, redis_client, shard_layout, shard_map
from entrypoints.strategy_entries import build_strategy

log = logging.getLogger("tradeplane.strategy_worker")


@dataclass(slots=True)
class WorkerStatus:
    worker: str
    shards: list[int] = field(default_factory=list)
    decided: int = 0
    signals: int = 0
    redis_error: str = ""


def engine_factory(
    settings: Settings, instruments: InstrumentRegistry, shards: dict[str, int], shard: int
) -> Callable[[Callable[[Signal, Decimal], None]], StrategyEngine]:
    """Builds a fresh strategy engine running the strategies of ``shard``, deciding into ``decide``.

    Every configured strategy runs, enabled or not: whether its signals are traded is the
    execution service's call (``StartStrategy``/``StopStrategy`` are served there), so a
    strategy started there trades on warm indicators."""

    def build(decide: Callable[[Signal, Decimal], None]) -> StrategyEngine:
        portfolio = Portfolio(instruments=instruments, valuation_currency=settings.engine.valuation_currency)
        engine = StrategyEngine(
            commands=MessageBus(),
            events=MessageBus(),
            signals=InMemorySignalRepository(capacity=1),
            portfolio=portfolio,
            working_quantity=lambda _: ZERO,
            decide=decide,
        )
        for entry in settings.strategies:
            if entry.instruments and shards.get(entry.instruments[0]) == shard:
                strategy, _ = build_strategy(entry, retraining=False)  # retraining: the single process only
                engine.add(strategy, sizer=build_sizer(entry.sizing), allow_short=entry.allow_short)
        return engine

    return build


class StrategyWorker:
    """The lease loop and the shard tasks of one worker (see the module docstring)."""

    def __init__(self, settings: Settings, *, worker_id: str | None = None) -> None:
        self.settings = settings
        self.layout: ShardLayout = shard_layout(settings)
        self._shards = shard_map(settings, self.layout)
        self._instruments = build_instruments(settings)
        self.worker_id = worker_id or instance_id("strategy")
        self._client = redis_client(settings, name=self.worker_id, block_ms=200)
        self.leases = ShardLeases(self._client, self.layout, self.worker_id, ttl_ms=settings.bus.lease_ttl_ms)
        self.running: dict[int, tuple[ShardStrategies, asyncio.Task[None]]] = {}
        self.status = WorkerStatus(worker=self.worker_id)
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self, duration: float | None = None) -> WorkerStatus:
        """Follow the leases until ``stop()`` or ``duration`` seconds; give them up on the way out."""
        interval = self.settings.bus.lease_ttl_ms / 3000
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while not self._stop.is_set():
                await self._follow_leases()
                timeout = interval if deadline is None else min(interval, deadline - time.monotonic())
                if timeout <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout)
        finally:
            await self._stop_shards(list(self.running))
            with contextlib.suppress(*REDIS_ERRORS, TimeoutError):
                await asyncio.wait_for(self.leases.release_all(), STOP_TIMEOUT_S)
            with contextlib.suppress(*REDIS_ERRORS, TimeoutError):
                await asyncio.wait_for(self._client.aclose(), STOP_TIMEOUT_S)
        return self._snapshot()

    async def _follow_leases(self) -> None:
        to_release: frozenset[int] = frozenset()
        try:
            changes = await self.leases.refresh()
            to_release = changes.to_release
            if self.status.redis_error:
                log.warning("Redis is back: %s leases renewed", self.worker_id)
            self.status.redis_error = ""
        except REDIS_ERRORS as error:
            if not self.status.redis_error:
                log.error("Redis unreachable, shards held until their leases lapse: %s", describe(error))
            self.status.redis_error = describe(error)
        wanted = set(self.leases.owned) - to_release
        await self._stop_shards([shard for shard in self.running if shard not in wanted])
        for shard in to_release:
            with contextlib.suppress(*REDIS_ERRORS):
                await self.leases.release(shard)
        for shard in sorted(wanted):
            current = self.running.get(shard)
            if current is None or current[1].done():
                if current is not None:  # it stopped on a Redis error: count what it did
                    self._count(current[0])
                self._start_shard(shard)
        self._snapshot()

    def _start_shard(self, shard: int) -> None:
        bus = self.settings.bus
        runner = ShardStrategies(
            self._client,
            self.layout,
            shard,
            worker_id=self.worker_id,
            build_engine=engine_factory(self.settings, self._instruments, self._shards, shard),
            warmup_events=bus.warmup_events,
            claim_idle_ms=2 * bus.lease_ttl_ms,
            holds=lambda: shard in self.leases.owned,
        )
        task = asyncio.create_task(self._serve(runner), name=f"shard-{shard}")
        self.running[shard] = (runner, task)
        log.info("%s took shard %d", self.worker_id, shard)

    async def _serve(self, runner: ShardStrategies) -> None:
        try:
            await runner.take_over()
            while not runner.stopped:  # fenced: the task ends (a fenced step awaits nothing)
                await runner.step()
        except REDIS_ERRORS as error:  # the lease loop restarts it while the lease holds
            log.warning("shard %d stopped on a Redis error: %s", runner.shard, describe(error))
            await asyncio.sleep(1.0)

    async def _stop_shards(self, shards: list[int]) -> None:
        for shard in shards:
            runner, task = self.running.pop(shard)
            runner.stop()
            await cancel_within(task, STOP_TIMEOUT_S, what=f"shard {shard}")
            self._count(runner)
            log.info("%s gave up shard %d", self.worker_id, shard)

    def _count(self, runner: ShardStrategies) -> None:
        self.status.decided += runner.stats.decided
        self.status.signals += runner.stats.signals

    def _snapshot(self) -> WorkerStatus:
        status = self.status
        live = [runner.stats for runner, _ in self.running.values()]
        return WorkerStatus(
            worker=status.worker,
            shards=sorted(self.running),
            decided=status.decided + sum(s.decided for s in live),
            signals=status.signals + sum(s.signals for s in live),
            redis_error=status.redis_error,
        )
