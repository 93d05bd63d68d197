"""One shard as the execution service reads it: market events and decisions, merged in order.

Execution is one consumer (group ``execution``) on each shard's two streams, read together
(they share a hash slot). The order it applies them in is :class:`~application.shard_merge.ShardMerge`'s.

- **Market events** are acknowledged once applied. Across a lost connection the reader knows
  what it applied and re-reads only the rest: exactly once. A new process (after a kill -9)
  acknowledges its predecessor's unacknowledged market events without applying them: at most
  once, because one applied twice would fill a paper order twice, while one skipped only
  delays the next mark (ingestion records the market; the paper venue's state is in its log).
- **Decisions** are acknowledged once traded, so after a crash they are read again and traded
  once more by key, which the order manager's idempotency makes the same order.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from adapters.redis.codec import CodecError
from adapters.redis.shard_entries import AsyncClient, dead_letter, read_entry, stream_batches, text
from adapters.redis.shards import ShardLayout
from application.messages import ShardProgress, SignalDecided
from application.shard_merge import BEGINNING, ShardMerge, position_of

GROUP = "execution"

log = logging.getLogger("tradeplane.execution.shards")


@dataclass(slots=True)
class ReaderStats:
    market: int = 0
    decisions: int = 0
    dead_lettered: int = 0


class ShardExecutionReader:
    """Feeds one shard's streams through a ShardMerge into execution (module docstring)."""

    def __init__(
        self,
        client: AsyncClient,
        layout: ShardLayout,
        shard: int,
        *,
        consumer: str,
        apply_market: Callable[[object], None],
        trade: Callable[[SignalDecided], None],
        now_ns: Callable[[], int],
        max_wait_ns: int,
        count: int = 500,
        block_ms: int = 100,
    ) -> None:
        self._client = client
        self._layout = layout
        self.shard = shard
        self.consumer = consumer
        self._market = layout.market_stream(shard)
        self._signals = layout.signals_stream(shard)
        self._apply_market = apply_market
        self._trade = trade
        self._now_ns = now_ns
        self._max_wait_ns = max_wait_ns
        self._count = count
        self._block_ms = block_ms
        self._entries: dict[str, deque[bytes]] = {}  # decision key -> its entry ids, not yet acked
        self._acks: list[bytes] = []
        self._unacked_market: deque[tuple[tuple[int, int], bytes]] = deque()  # read, in order
        self._known: set[bytes] = set()  # decision entries read and not yet acked
        self._started = False
        self.merge = ShardMerge(
            apply_market=apply_market, apply_signal=self._traded, now_ns=now_ns, max_wait_ns=max_wait_ns
        )
        self.stats = ReaderStats()

    async def start(self) -> None:
        """Join the groups and resume: at the first start after what a previous process
        applied; after a lost connection, where this one was (see the module docstring)."""
        for stream, start in ((self._market, "$"), (self._signals, "0")):
            try:
                await self._client.xgroup_create(stream, GROUP, id=start, mkstream=True)
            except redis.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        if self._started:
            await self._reread(self._market)
            await self._reread(self._signals)
            return
        await self._skip_predecessors_market()
        applied = BEGINNING
        for group in await self._client.xinfo_groups(self._market):
            if text(group["name"]) == GROUP:
                applied = position_of(text(group["last-delivered-id"]))
        self.merge = ShardMerge(
            apply_market=self._apply_market,
            apply_signal=self._traded,
            now_ns=self._now_ns,
            max_wait_ns=self._max_wait_ns,
            start=applied,
        )
        rows: Any = await self._client.xrevrange(self._signals, count=200) or []
        for _, fields in rows:  # the worker's last word: what it had decided up to
            try:
                message, _ = read_entry(fields)
            except CodecError:
                continue
            if isinstance(message, ShardProgress):
                self.merge.progress(position_of(message.through))
                break
        self._started = True
        await self._reread(self._signals)

    async def _skip_predecessors_market(self) -> None:
        """Acknowledge, unapplied, the market events a killed predecessor had read."""
        while True:
            rows: Any = await self._client.xpending_range(
                self._market, GROUP, min="-", max="+", count=1000, consumername=self.consumer
            )
            if not rows:
                return
            await self._client.xack(self._market, GROUP, *[row["message_id"] for row in rows])

    async def _reread(self, stream: str) -> None:
        """This consumer's pending entries of ``stream`` that it does not hold already."""
        start: Any = "0"
        while True:
            response: Any = await self._client.xreadgroup(
                GROUP, self.consumer, {stream: start}, count=self._count
            )
            entries = [entry for _, batch in stream_batches(response) for entry in batch]
            if not entries:
                return
            start = entries[-1][0]
            if stream == self._market:
                held = self._unacked_market[-1][0] if self._unacked_market else self.merge.applied
                entries = [entry for entry in entries if position_of(entry[0]) > held]
            else:
                entries = [entry for entry in entries if entry[0] not in self._known]
            await self._take([(stream, entries)])

    async def step(self) -> int:
        """Read what is new on both streams (waiting up to ``block_ms``), apply what is ready."""
        response: Any = await self._client.xreadgroup(
            GROUP,
            self.consumer,
            {self._market: ">", self._signals: ">"},
            count=self._count,
            block=self._block_ms or None,
        )
        return await self._take(stream_batches(response))

    async def _take(self, batches: list[tuple[str, list[tuple[bytes, Any]]]]) -> int:
        taken = 0
        for stream, entries in batches:
            for entry_id, fields in entries:
                taken += 1
                try:
                    message, _ = read_entry(fields)
                except CodecError as error:
                    self.stats.dead_lettered += 1
                    await dead_letter(
                        self._client,
                        self._layout.dead_letter_stream,
                        stream=stream,
                        group=GROUP,
                        consumer=self.consumer,
                        entry_id=entry_id,
                        fields=fields,
                        reason=f"malformed: {error}",
                    )
                    continue
                if stream == self._market:
                    position = position_of(entry_id)
                    self._unacked_market.append((position, entry_id))
                    self.stats.market += 1
                    self.merge.market(position, message)
                elif isinstance(message, SignalDecided):
                    self.stats.decisions += 1
                    self._known.add(entry_id)
                    self._entries.setdefault(message.key, deque()).append(entry_id)
                    self.merge.decided(message)
                elif isinstance(message, ShardProgress):
                    self._acks.append(entry_id)
                    self.merge.progress(position_of(message.through))
                else:
                    self._acks.append(entry_id)  # not for execution
        self.merge.release()
        await self._ack()
        return taken

    async def _ack(self) -> None:
        market_ids = []
        unacked, applied = self._unacked_market, self.merge.applied
        while unacked and unacked[0][0] <= applied:
            market_ids.append(unacked.popleft()[1])
        acks, self._acks = self._acks, []
        if not market_ids and not acks:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            if market_ids:
                pipe.xack(self._market, GROUP, *market_ids)
            if acks:
                pipe.xack(self._signals, GROUP, *acks)
            await pipe.execute()

    def _traded(self, decision: SignalDecided) -> None:
        self._trade(decision)
        ids = self._entries.get(decision.key)
        if ids:
            entry_id = ids.popleft()
            self._known.discard(entry_id)
            self._acks.append(entry_id)
            if not ids:
                del self._entries[decision.key]
