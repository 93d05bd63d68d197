"""``tradeplane run --service execution``: the single writer of orders, fed over Redis Streams.

Execution is the whole engine of one process (order manager, broker, risk, stops, portfolio,
stores, the gRPC control plane) without feeds and without strategies of its own: it reads every
shard's market events and the strategy workers' decisions (``shard_execution``), applies each
market event as one process would, and trades each decided signal once, sized on its own
portfolio (``decided_signals``). The strategies are registered here for their sizing and their
start/stop switch; they are fed nothing.

What happens to the orders is published for the others, as the engine's own events
(``OrderUpdated``, ``PositionChanged``, ``IntentRejected``) and the broker's reports, on the
streams ``{prefix}stream:events`` and ``{prefix}stream:reports``: any process can follow them with
a consumer group of its own (``RedisStreamConsumer``) without asking execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from adapters.redis.connection import REDIS_ERRORS, describe
from adapters.redis.shard_execution import ShardExecutionReader
from adapters.redis.stream_bus import RedisStreamBus, StreamRouting
from application.decided_signals import DecidedSignals
from application.messages import BrokerReport, IntentRejected, OrderUpdated, PositionChanged
from domain.market_data import Bar, QuoteTick, TradeTick
from entrypoints.config import Settings
from entrypoints.container import App
from entrypoints.services.lifecycle import STOP_TIMEOUT_S, cancel_within
from entrypoints.services.topology import instance_id, redis_client, shard_layout, sync_bus_client

log = logging.getLogger("tradeplane.execution")

EXPORTED: tuple[type, ...] = (OrderUpdated, PositionChanged, IntentRejected, *get_args(BrokerReport))
"""What execution publishes for the other services and any observer (module docstring)."""

BUS_HEALTH = "tradeplane.bus"
"""The health-check service saying whether execution hears Redis and the strategy workers."""


def detach_strategies(app: App) -> None:
    """The strategies run in the workers: here they are not fed the market."""
    bus, strategies = app.bus, app.strategies
    bus.unsubscribe(TradeTick, strategies.on_trade)
    bus.unsubscribe(QuoteTick, strategies.on_quote)
    bus.unsubscribe(Bar, strategies.on_bar)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionBusStatus:
    """What the shard readers have done, for the status line and health."""

    shards: int
    market: int
    decisions: int
    traded: int
    duplicates: int
    late: int
    lagging: tuple[int, ...]
    """Shards whose market events are being applied without waiting for their decisions."""
    redis_error: str


class ExecutionShards:
    """One reader task per shard, feeding ``app`` (see the module docstring)."""

    def __init__(
        self,
        app: App,
        settings: Settings,
        *,
        consumer: str | None = None,
        apply_market: Callable[[object], None] | None = None,
    ) -> None:
        """``apply_market`` replaces publishing each market event on the engine's bus (a test
        moving its clock to the event's time first)."""
        self._settings = settings
        self.layout = shard_layout(settings)
        self.consumer = consumer or "execution"
        self._client = redis_client(settings, name=instance_id("execution"), block_ms=100)
        self.decided = DecidedSignals(
            trade=app.strategies.trade_signal,
            find_order=app.orders.find,
            stored=app.signals.has_key,
            order_id_prefix=settings.engine.order_id_prefix,
            now_ns=app.clock.now_ns,
            max_age_ns=settings.bus.decision_max_age_ms * 1_000_000,
        )
        wait_ns = settings.bus.decision_wait_ms * 1_000_000
        self.readers = [
            ShardExecutionReader(
                self._client,
                self.layout,
                shard,
                consumer=self.consumer,
                apply_market=apply_market or app.bus.publish,
                trade=self.decided.on_decided,
                now_ns=time.monotonic_ns,
                max_wait_ns=wait_ns,
            )
            for shard in range(self.layout.shards)
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self.redis_error = ""
        self.exporter = RedisStreamBus(
            sync_bus_client(settings, name=instance_id("execution-events")),
            routing=StreamRouting(prefix=settings.redis.prefix),
            exported=EXPORTED,
            producer_id=instance_id("execution-events"),
            name="execution-events",
        )
        for kind in EXPORTED:
            app.bus.subscribe(kind, self.exporter.publish)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._serve(reader), name=f"execution-shard-{reader.shard}")
            for reader in self.readers
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel_within(task, STOP_TIMEOUT_S, what=task.get_name())
        self._tasks = []
        with contextlib.suppress(*REDIS_ERRORS, TimeoutError):
            await asyncio.wait_for(self._client.aclose(), STOP_TIMEOUT_S)
        self.exporter.close(timeout_s=STOP_TIMEOUT_S)

    async def _serve(self, reader: ShardExecutionReader) -> None:
        while True:
            try:
                await reader.start()
                while True:
                    await reader.step()
                    self.redis_error = ""
            except REDIS_ERRORS as error:
                if not self.redis_error:
                    log.error("shard %d: Redis unreachable, retrying: %s", reader.shard, describe(error))
                self.redis_error = describe(error)
                await asyncio.sleep(1.0)

    def health(self) -> dict[str, bool]:
        """``tradeplane.bus``: Redis reachable and no shard applying its market without its
        decisions (a strategy worker missing for longer than ``[bus] decision_wait_ms``)."""
        status = self.status()
        return {BUS_HEALTH: not status.redis_error and not status.lagging}

    def status(self) -> ExecutionBusStatus:
        readers = self.readers
        return ExecutionBusStatus(
            shards=len(readers),
            market=sum(r.stats.market for r in readers),
            decisions=sum(r.stats.decisions for r in readers),
            traded=self.decided.traded,
            duplicates=self.decided.duplicates,
            late=sum(r.merge.late for r in readers),
            lagging=tuple(r.shard for r in readers if r.merge.lagging),
            redis_error=self.redis_error,
        )
