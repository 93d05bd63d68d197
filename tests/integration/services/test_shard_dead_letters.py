"""An entry a service cannot read goes to the dead-letter stream with why, and the rest goes on."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import redis
import redis.asyncio

from adapters.redis.codec import encode
from adapters.redis.shard_entries import entry_fields
from adapters.redis.shard_execution import ShardExecutionReader
from adapters.redis.shard_strategies import ShardStrategies
from adapters.redis.shards import ShardLayout
from application.messages import ShardProgress, SignalDecided
from application.strategy_engine import StrategyEngine
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.values import AggressorSide
from tests.integration.services.test_services_parity import REDIS_URL

IID = InstrumentId("BTCUSDT.BINANCE")


def _trade(n: int) -> TradeTick:
    return TradeTick.create(
        instrument_id=IID, price=Decimal(100 + n), size=Decimal(1), aggressor=AggressorSide.BUYER,
        trade_id=str(n), ts_event=n, ts_init=n,
    )  # fmt: skip


BAD_ENTRIES = (
    {"v": "1", "type": "TradeTick", "mid": "p:1", "data": b"not json"},
    {"v": "2", "type": "TradeTick", "mid": "p:2", "data": encode(_trade(2))},
    {"type": "TradeTick", "mid": "p:3", "data": encode(_trade(3))},
    {"v": "1", "type": "Teleport", "mid": "p:4", "data": b"{}"},
)


def _reasons(layout: ShardLayout) -> list[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return [f[b"dead_letter_reason"].decode() for _, f in client.xrange(layout.dead_letter_stream)]
    finally:
        client.close()


def test_a_worker_dead_letters_what_it_cannot_read_and_decides_the_rest(layout: ShardLayout) -> None:
    seen: list[TradeTick] = []

    class Recorder:
        """Stands in for the shard's strategy engine: what reaches the strategies."""

        on_trade = staticmethod(seen.append)

    def build(decide: object) -> StrategyEngine:
        return Recorder()  # type: ignore[return-value]

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            runner = ShardStrategies(
                client,
                layout,
                0,
                worker_id="w",
                build_engine=build,
                warmup_events=0,
                block_ms=0,  # type: ignore[arg-type]
            )
            await runner.take_over()
            market = layout.market_stream(0)
            await client.xadd(market, entry_fields(_trade(1), "p:0"))
            for fields in BAD_ENTRIES:
                await client.xadd(market, fields)  # type: ignore[arg-type]
            await client.xadd(market, entry_fields(_trade(5), "p:5"))
            assert await runner.step() == 6
            assert runner.stats.dead_lettered == 4
            assert await client.xpending(market, "strategy") == {
                "pending": 0,
                "min": None,
                "max": None,
                "consumers": [],
            }
        finally:
            await client.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 15))
    assert [t.trade_id for t in seen] == ["1", "5"]
    reasons = _reasons(layout)
    assert reasons[0].startswith("malformed: cannot decode")
    assert reasons[1] == "malformed: wire format version '2'; this process reads version 1"
    assert reasons[2].startswith("malformed: no 'v' field")
    assert reasons[3] == "malformed: unknown message type 'Teleport'"


def test_execution_dead_letters_a_decision_it_cannot_read_and_trades_the_rest(layout: ShardLayout) -> None:
    applied: list[object] = []
    traded: list[SignalDecided] = []

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            reader = ShardExecutionReader(
                client, layout, 0, consumer="execution", apply_market=applied.append, trade=traded.append,
                now_ns=time.monotonic_ns, max_wait_ns=10**9, block_ms=0,
            )  # fmt: skip
            await reader.start()
            market, signals = layout.market_stream(0), layout.signals_stream(0)
            entry = await client.xadd(market, entry_fields(_trade(1), "p:1"))
            await client.xadd(
                signals, {"v": "1", "type": "SignalDecided", "mid": "k", "data": b'{"type": 1}'}
            )
            await reader.step()
            assert reader.stats.dead_lettered == 1
            assert reader.merge.waiting == 1  # the market event still waits for the worker's word
            await client.xadd(
                signals, entry_fields(ShardProgress(shard=0, through=entry.decode(), worker="w"), "m")
            )
            await reader.step()
            assert await client.xpending(signals, "execution") == {
                "pending": 0,
                "min": None,
                "max": None,
                "consumers": [],
            }
        finally:
            await client.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 15))
    assert applied == [_trade(1)]
    assert traded == []
    assert _reasons(layout)[0].startswith("malformed: cannot decode")
