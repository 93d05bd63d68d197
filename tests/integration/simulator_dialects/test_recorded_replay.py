"""The simulators replay a recording of Binance-style frames in their own protocols, and while
paused publish exactly one step per ``publish_step``: what lets a test interleave venues."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from adapters.exchanges.simulator import (
    CoinbaseSimulator,
    ExchangeSimulator,
    KrakenSimulator,
    RandomWalkMarket,
    RecordedMarket,
)
from tests.e2e.recorded_ticks import RecordedTrade, write_trade_recording
from tests.integration.simulator_dialects.support import receive, receive_until, send

TEST_TIMEOUT = 20.0
QUIET_S = 0.2
"""How long a paused simulator is watched for sending nothing of its own."""

TRADES = [
    RecordedTrade(101, "30000.12", "0.500", 1_704_067_200_000, True),
    RecordedTrade(102, "30000.50", "1.250", 1_704_067_200_007, False),
]


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return write_trade_recording(tmp_path / "btcusdt.jsonl", "BTCUSDT", TRADES)


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), TEST_TIMEOUT))


async def _nothing_within(ws: ClientConnection, seconds: float) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), seconds)


def test_coinbase_replays_a_recordings_trades_one_step_at_a_time(recording: Path) -> None:
    async def scenario() -> None:
        sim = CoinbaseSimulator(("BTC-USDT",), rate=0.0, market=RecordedMarket(recording))
        sim.pause()
        await sim.start()
        try:
            async with connect(sim.ws_url) as ws:
                await send(ws, {"type": "subscribe", "product_ids": ["BTC-USDT"], "channel": "market_trades"})
                await receive_until(ws, lambda m: m.get("channel") == "market_trades")  # the empty snapshot
                assert sim.subscriptions() == [{"market_trades": ["BTC-USDT"]}]
                await _nothing_within(ws, QUIET_S)
                trades = []
                for _ in TRADES:
                    assert sim.publish_step()
                    message = await receive(ws)
                    assert message["events"][0]["type"] == "update"
                    trades.extend(message["events"][0]["trades"])
                assert not sim.publish_step()
                await _nothing_within(ws, QUIET_S)
        finally:
            await sim.stop()
        assert trades == [
            {
                "trade_id": "101",
                "product_id": "BTC-USDT",
                "price": "30000.12",
                "size": "0.500",
                "side": "BUY",  # the maker's side: the buyer was the maker
                "time": "2024-01-01T00:00:00.000000Z",
            },
            {
                "trade_id": "102",
                "product_id": "BTC-USDT",
                "price": "30000.50",
                "size": "1.250",
                "side": "SELL",
                "time": "2024-01-01T00:00:00.007000Z",
            },
        ]

    _run(scenario)


def test_kraken_replays_a_recordings_trades_one_step_at_a_time(recording: Path) -> None:
    async def scenario() -> None:
        sim = KrakenSimulator(("BTC/USDT",), rate=0.0, market=RecordedMarket(recording))
        sim.pause()
        await sim.start()
        try:
            async with connect(sim.ws_url) as ws:
                await receive(ws)  # status
                request = {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/USDT"]}}
                await send(ws, {**request, "req_id": 1})
                ack = await receive(ws)
                assert ack["success"], ack
                assert sim.subscriptions() == [{"trade": ["BTC/USDT"]}]
                trades = []
                for _ in TRADES:
                    assert sim.publish_step()
                    message, _ = await receive_until(ws, lambda m: m.get("channel") == "trade")
                    trades.extend(message["data"])
                assert not sim.publish_step()
        finally:
            await sim.stop()
        assert [
            (t["trade_id"], str(t["price"]), str(t["qty"]), t["side"], t["timestamp"]) for t in trades
        ] == [
            (101, "30000.12", "0.5", "sell", "2024-01-01T00:00:00.000000Z"),  # the taker's side
            (102, "30000.5", "1.25", "buy", "2024-01-01T00:00:00.007000Z"),
        ]

    _run(scenario)


def test_binance_publishes_one_step_on_demand_while_paused(recording: Path) -> None:
    async def scenario() -> None:
        sim = ExchangeSimulator(RecordedMarket(recording), rate=0.0, ping_interval=None)
        sim.pause()
        await sim.start()
        try:
            async with connect(f"{sim.ws_url}/stream?streams=btcusdt@trade") as ws:
                await _nothing_within(ws, QUIET_S)
                ids = []
                for _ in TRADES:
                    assert sim.publish_step()
                    ids.append((await receive(ws))["data"]["t"])
                assert not sim.publish_step()
        finally:
            await sim.stop()
        assert ids == [101, 102]

    _run(scenario)


def test_a_paused_random_walk_steps_only_on_demand() -> None:
    async def scenario() -> None:
        sim = CoinbaseSimulator(("BTC-USD",), rate=1000.0)
        sim.pause()
        await sim.start()
        try:
            await asyncio.sleep(QUIET_S)
            assert sim.steps == 0
            assert sim.publish_step()
            assert sim.steps == 1
            sim.resume()
            await asyncio.sleep(QUIET_S)
            assert sim.steps > 1
        finally:
            await sim.stop()

    _run(scenario)


def test_a_market_without_a_served_symbol_is_refused_by_name(recording: Path) -> None:
    with pytest.raises(ValueError, match=r"no ETHUSDT to serve as ETH-USD \(it holds BTCUSDT\)"):
        CoinbaseSimulator(("BTC-USDT", "ETH-USD"), market=RecordedMarket(recording))
    with pytest.raises(ValueError, match="no ETHUSDT to serve as ETH/USDT"):
        KrakenSimulator(("ETH/USDT",), market=RandomWalkMarket(("BTCUSDT",), 7))
