"""A runner that gave its shard up publishes nothing more; what it read goes to the next owner."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import redis
import redis.asyncio

from adapters.redis.shard_entries import entry_fields
from adapters.redis.shard_strategies import ShardStrategies
from adapters.redis.shards import ShardLayout
from application.strategy_engine import StrategyEngine
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.values import AggressorSide
from entrypoints.services.strategy_worker import StrategyWorker
from tests.integration.services.test_services_parity import REDIS_URL

IID = InstrumentId("BTCUSDT.BINANCE")


def _trade(n: int) -> TradeTick:
    return TradeTick.create(
        instrument_id=IID, price=Decimal(100 + n), size=Decimal(1), aggressor=AggressorSide.BUYER,
        trade_id=str(n), ts_event=n, ts_init=n,
    )  # fmt: skip


def _runner(
    client: redis.asyncio.Redis, layout: ShardLayout, worker: str, seen: list[str], **options: object
) -> ShardStrategies:
    class Recorder:
        """Stands in for the shard's strategy engine: what reaches the strategies."""

        @staticmethod
        def on_trade(tick: TradeTick) -> None:
            seen.append(f"{worker}:{tick.trade_id}")

    def build(decide: object) -> StrategyEngine:
        return Recorder()  # type: ignore[return-value]

    return ShardStrategies(
        client, layout, 0, worker_id=worker, build_engine=build, warmup_events=0, block_ms=0, **options
    )  # type: ignore[arg-type]


def test_a_fenced_runner_publishes_nothing_and_the_next_owner_decides_what_it_held(
    layout: ShardLayout,
) -> None:
    seen: list[str] = []
    holds = [True]

    async def scenario() -> tuple[int, int]:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            old = _runner(client, layout, "old", seen, holds=lambda: holds[0])
            await old.take_over()
            market, signals = layout.market_stream(0), layout.signals_stream(0)
            for n in range(3):
                await client.xadd(market, entry_fields(_trade(n), f"p:{n}"))
            response = await client.xreadgroup("strategy", "old", {market: ">"}, count=10)  # read, then...
            entries = [entry for _, batch in response for entry in batch]
            holds[0] = False  # ...its lease lapsed before it could publish
            await old._handle(entries)  # the batch in flight when the fence came
            assert old.stopped
            published = await client.xlen(signals)
            assert await old.step() == 0  # fenced: reads nothing more
            new = _runner(client, layout, "new", seen, claim_idle_ms=0)
            await new.take_over()  # claims what the old one held
            await new.step()
            pending = (await client.xpending(market, "strategy"))["pending"]
            return published, pending
        finally:
            await client.aclose()

    published, pending = asyncio.run(asyncio.wait_for(scenario(), 15))
    assert published == 0
    assert pending == 0
    assert [s for s in seen if s.startswith("new:")] == ["new:0", "new:1", "new:2"]


def test_a_fenced_shard_task_ends_instead_of_spinning() -> None:
    """A fenced step awaits nothing: looping on it would starve the lease loop and Ctrl-C."""

    class Fenced:
        shard = 0
        steps = 0

        async def take_over(self) -> None:
            return None

        @property
        def stopped(self) -> bool:
            return self.steps >= 3  # the lease lapses after three batches

        async def step(self) -> int:
            self.steps += 1
            await asyncio.sleep(0)  # (a real fenced step awaits nothing: a spin would hang the test)
            return 0

    runner = Fenced()
    asyncio.run(asyncio.wait_for(StrategyWorker._serve(None, runner), 2.0))  # type: ignore[arg-type]
    assert runner.steps == 3
