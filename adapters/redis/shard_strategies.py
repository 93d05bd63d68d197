"""One shard's strategies in a strategy worker: market events in, decided signals out, in order.

The workers of a deployment form the consumer group ``strategy`` on each shard's market stream,
but a shard is read by the one worker holding its lease (``shard_leases``), so its strategies
see its instruments' events in order. For each batch read, one pipelined round trip appends the
batch's ``SignalDecided`` messages and a ``ShardProgress`` mark to the shard's signals stream,
then acknowledges the batch: a worker killed before that round trip leaves the batch pending,
and whoever takes the shard decides it again with the same keys (execution trades a key once).

**Taking a shard over** (:meth:`ShardStrategies.take_over`): the strategies start empty and are
rebuilt by replaying, without deciding anything, up to ``warmup_events`` market events that the
group had already handled; then the entries still pending (a dead owner's) are claimed and
decided, then new ones. A signal decided on a replayed event is therefore never sent twice,
and one decided again on a pending event carries the key it had before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis

from adapters.redis.codec import CodecError
from adapters.redis.shard_entries import (
    AsyncClient,
    dead_letter,
    entry_fields,
    read_entry,
    stream_batches,
    text,
)
from adapters.redis.shards import ShardLayout
from application.messages import ShardProgress, SignalDecided
from application.strategy_engine import StrategyEngine
from domain.market_data import Bar, QuoteTick, TradeTick
from domain.signals import Signal

GROUP = "strategy"
SIGNALS_MAXLEN = 1_000_000

log = logging.getLogger("tradeplane.strategy_worker")

EngineFactory = Callable[[Callable[[Signal, Decimal], None]], StrategyEngine]
"""Builds a fresh strategy engine for a shard's strategies, handing its signals to the callable."""


@dataclass(slots=True)
class ShardStats:
    decided: int = 0
    """Market events decided on (handed to the strategies, outside warm-up)."""
    signals: int = 0
    replayed: int = 0
    """Market events replayed to rebuild the strategies when the shard was taken over."""
    claimed: int = 0
    dead_lettered: int = 0


class ShardStrategies:
    """The strategies of one shard, fed from its market stream (see the module docstring)."""

    def __init__(
        self,
        client: AsyncClient,
        layout: ShardLayout,
        shard: int,
        *,
        worker_id: str,
        build_engine: EngineFactory,
        warmup_events: int,
        count: int = 500,
        block_ms: int = 200,
        claim_idle_ms: int = 10_000,
        now_s: Callable[[], float] = time.monotonic,
        holds: Callable[[], bool] = lambda: True,
    ) -> None:
        """``holds`` says whether this worker still holds the shard's lease (as far as it knows
        locally, see ``ShardLeases.owned``): asked before each read and each publication, so a
        worker whose loop stalled past its lease fences itself before its next batch."""
        self._client = client
        self._layout = layout
        self.shard = shard
        self.worker_id = worker_id
        self._market = layout.market_stream(shard)
        self._signals = layout.signals_stream(shard)
        self._engine = build_engine(self._decide)
        self._warmup_events = warmup_events
        self._count = count
        self._block_ms = block_ms
        self._deciding = False
        self._decisions: list[SignalDecided] = []
        self._source = ""
        self._mid = ""
        self._per_strategy: dict[str, int] = {}
        self._stopped = False
        self._holds = holds
        self._claim_idle_ms = claim_idle_ms
        self._now_s = now_s
        self._next_claim = now_s() + claim_idle_ms / 1000
        self.stats = ShardStats()

    def stop(self) -> None:
        """Fence this runner: nothing more is read, published or acknowledged (module docstring)."""
        self._stopped = True

    @property
    def stopped(self) -> bool:
        if not self._stopped and not self._holds():
            self._stopped = True
            log.warning("shard %d: the lease is no longer held; fenced", self.shard)
        return self._stopped

    # -- taking over -------------------------------------------------------------------------

    async def take_over(self) -> None:
        """Join the group, rebuild the strategies from handled events, decide what is pending."""
        try:
            await self._client.xgroup_create(self._market, GROUP, id="$", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        summary = await self._client.xpending(self._market, GROUP)
        end: str | None
        if summary and int(summary["pending"]):
            end = f"({text(summary['min'])}"  # everything before the first pending entry
        else:
            end = await self._last_delivered()
        if self._warmup_events and end is not None:
            await self._replay(end)
        await self._claim_pending()

    async def _last_delivered(self) -> str | None:
        for group in await self._client.xinfo_groups(self._market):
            if text(group["name"]) == GROUP:
                last = text(group["last-delivered-id"])
                return None if last == "0-0" else last
        return None

    async def _replay(self, end: str) -> None:
        rows = await self._client.xrevrange(self._market, max=end, min="-", count=self._warmup_events) or []
        self._deciding = False
        for n, (_, fields) in enumerate(reversed(rows)):
            if n % 1000 == 999:
                await asyncio.sleep(0)  # the lease loop and the other shards run meanwhile
            try:
                message, _ = read_entry(fields)
            except CodecError:
                continue  # it was dead-lettered when it was handled
            self._feed(message)
            self.stats.replayed += 1
        log.info("shard %d: strategies rebuilt from %d handled market events", self.shard, len(rows))

    async def _claim_pending(self, min_idle_ms: int = 0) -> None:
        start: Any = "0-0"
        while not self.stopped:
            reply: Any = await self._client.xautoclaim(
                self._market,
                GROUP,
                self.worker_id,
                min_idle_time=min_idle_ms,
                start_id=start,
                count=self._count,
            )
            start, entries = reply[0], [entry for entry in reply[1] if entry[1]]
            if entries:
                self.stats.claimed += len(entries)
                await self._handle(entries)
            if text(start) == "0-0":
                return

    # -- deciding ----------------------------------------------------------------------------

    async def step(self) -> int:
        """Read and decide one batch of new market events (waiting up to ``block_ms``); now and
        then, first decide entries left pending too long (read by a runner fenced meanwhile)."""
        if self.stopped:
            return 0
        if self._now_s() >= self._next_claim:
            self._next_claim = self._now_s() + self._claim_idle_ms / 1000
            await self._claim_pending(self._claim_idle_ms)
        response: Any = await self._client.xreadgroup(
            GROUP, self.worker_id, {self._market: ">"}, count=self._count, block=self._block_ms or None
        )
        entries = [entry for _, batch in stream_batches(response) for entry in batch]
        if entries:
            await self._handle(entries)
        return len(entries)

    async def _handle(self, entries: list[tuple[bytes, Any]]) -> None:
        self._deciding = True
        handled: list[bytes] = []
        for entry_id, fields in entries:
            try:
                message, mid = read_entry(fields)
            except CodecError as error:
                self.stats.dead_lettered += 1
                await dead_letter(
                    self._client,
                    self._layout.dead_letter_stream,
                    stream=self._market,
                    group=GROUP,
                    consumer=self.worker_id,
                    entry_id=entry_id,
                    fields=fields,
                    reason=f"malformed: {error}",
                )
                continue
            self._source, self._mid = text(entry_id), mid
            self._per_strategy.clear()
            self._feed(message)
            handled.append(entry_id)
        self.stats.decided += len(handled)
        await self._publish(handled)

    async def _publish(self, handled: list[bytes]) -> None:
        decisions, self._decisions = self._decisions, []
        if self.stopped or (not handled and not decisions):
            return  # fenced: the batch stays pending for the shard's next owner
        async with self._client.pipeline(transaction=False) as pipe:
            for decision in decisions:
                pipe.xadd(
                    self._signals,
                    entry_fields(decision, decision.key),
                    maxlen=SIGNALS_MAXLEN,
                    approximate=True,
                )
            if handled:
                through = text(handled[-1])
                progress = ShardProgress(shard=self.shard, through=through, worker=self.worker_id)
                mid = f"{self.worker_id}:{self.shard}:{through}"
                pipe.xadd(self._signals, entry_fields(progress, mid), maxlen=SIGNALS_MAXLEN, approximate=True)
                pipe.xack(self._market, GROUP, *handled)
            await pipe.execute()
        self.stats.signals += len(decisions)

    def _feed(self, message: object) -> None:
        kind = type(message)
        if kind is TradeTick:
            self._engine.on_trade(message)  # type: ignore[arg-type]
        elif kind is QuoteTick:
            self._engine.on_quote(message)  # type: ignore[arg-type]
        elif kind is Bar:
            self._engine.on_bar(message)  # type: ignore[arg-type]

    def _decide(self, signal: Signal, price: Decimal) -> None:
        if not self._deciding:
            return  # replaying to rebuild state: these were decided when the events were new
        strategy = signal.strategy_id
        n = self._per_strategy.get(strategy, 0)
        self._per_strategy[strategy] = n + 1
        key = f"{self._mid}|{strategy}|{n}"
        self._decisions.append(SignalDecided(signal=signal, price=price, key=key, source=self._source))
