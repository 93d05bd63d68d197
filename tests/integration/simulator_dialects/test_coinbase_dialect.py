"""The Coinbase dialect over loopback, read by a plain WebSocket client as the venue's docs describe."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from adapters.exchanges.simulator.coinbase import CoinbaseSimulator
from tests.integration.simulator_dialects.support import receive, receive_until, send

TEST_TIMEOUT = 20.0


def run(scenario: Callable[[CoinbaseSimulator], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        sim = CoinbaseSimulator(**{"products": ("BTC-USD", "ETH-USD"), "seed": 7, "rate": 100.0, **options})
        await sim.start()
        try:
            await scenario(sim)
        finally:
            await sim.stop()

    asyncio.run(asyncio.wait_for(main(), TEST_TIMEOUT))


def apply(book: dict[str, dict[Decimal, Decimal]], event: dict[str, Any]) -> None:
    if event["type"] == "snapshot":
        book["bid"], book["offer"] = {}, {}
    for update in event["updates"]:
        side = book[update["side"]]
        price, qty = Decimal(update["price_level"]), Decimal(update["new_quantity"])
        if qty:
            side[price] = qty
        else:
            side.pop(price, None)


def test_level2_snapshot_then_updates_reproduce_the_venue_book_and_sequence_counts_by_one() -> None:
    async def scenario(sim: CoinbaseSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            await send(ws, {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"})
            confirmation = await receive(ws)
            assert confirmation["channel"] == "subscriptions"
            assert confirmation["events"][0]["subscriptions"] == {"level2": ["BTC-USD"]}
            book: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "offer": {}}
            last = confirmation["sequence_num"]
            for _ in range(60):
                message = await receive(ws)
                assert message["sequence_num"] == last + 1
                last = message["sequence_num"]
                assert message["channel"] == "l2_data"
                for event in message["events"]:
                    apply(book, event)
            sim.go_silent(1.0)
            await asyncio.sleep(0.05)
            while True:  # drain what was sent before the market stood still
                try:
                    message = await receive(ws, 0.3)
                except TimeoutError:
                    break
                for event in message["events"]:
                    apply(book, event)
            view = sim.book("BTC-USD")
            assert sorted(book["bid"].items(), reverse=True) == view.bids
            assert sorted(book["offer"].items()) == view.asks

    run(scenario)


async def _subscribed(sim: CoinbaseSimulator, ws: ClientConnection, channel: str) -> None:
    await send(ws, {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": channel})
    await receive_until(ws, lambda m: m.get("channel") == "subscriptions")


def test_the_rest_product_endpoint_and_its_404() -> None:
    async def scenario(sim: CoinbaseSimulator) -> None:
        async with httpx.AsyncClient(base_url=sim.rest_url, timeout=5.0) as client:
            ok = await client.get("/api/v3/brokerage/market/products/BTC-USD")
            missing = await client.get("/api/v3/brokerage/market/products/BTC-XYZ")
        assert ok.status_code == 200
        body = ok.json()
        assert body["product_id"] == "BTC-USD"
        assert body["quote_increment"] == "0.01"
        assert body["base_increment"] == "0.001"
        assert body["base_currency_id"] == "BTC"
        assert body["quote_currency_id"] == "USD"
        assert body["trading_disabled"] is False
        assert body["product_type"] == "SPOT"
        assert missing.status_code == 404
        assert missing.json()["error"] == "NOT_FOUND"

    run(scenario)


def test_no_subscribe_within_the_deadline_is_disconnected() -> None:
    async def scenario(sim: CoinbaseSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            error = await receive(ws, 3.0)
            assert error["type"] == "error"
            with pytest.raises(ConnectionClosed):
                await receive(ws, 3.0)
            assert ws.close_code == 1008

    run(scenario, subscribe_deadline=0.3)


def test_skip_sequence_makes_one_gap() -> None:
    async def scenario(sim: CoinbaseSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            await _subscribed(sim, ws, "level2")
            last = (await receive(ws))["sequence_num"]
            gaps = []
            for n in range(40):
                if n == 10:
                    sim.skip_sequence()
                seq = (await receive(ws))["sequence_num"]
                gaps.append(seq - last)
                last = seq
            assert sorted(gaps) == [1] * 39 + [2]

    run(scenario)


def _without_times(message: Any) -> Any:
    if isinstance(message, dict):
        return {
            k: _without_times(v) for k, v in message.items() if k not in ("timestamp", "event_time", "time")
        }
    if isinstance(message, list):
        return [_without_times(v) for v in message]
    return message


def test_same_seed_same_messages() -> None:
    captured: list[list[Any]] = []

    async def scenario(sim: CoinbaseSimulator) -> None:
        sim.go_silent(0.3)  # the market stands still until the client is subscribed
        async with connect(sim.ws_url) as ws:
            await send(ws, {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"})
            captured.append([_without_times(await receive(ws)) for _ in range(30)])

    run(scenario)
    run(scenario)
    assert captured[0] == captured[1]


def test_one_channel_per_subscribe_unknown_products_and_the_rate_limit() -> None:
    async def scenario(sim: CoinbaseSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            await send(
                ws, {"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["level2", "ticker"]}
            )
            assert (await receive(ws))["type"] == "error"
            await send(ws, {"type": "subscribe", "product_ids": ["BTC-XYZ"], "channel": "level2"})
            assert (await receive(ws))["type"] == "error"
            for _ in range(8):
                await send(ws, {"type": "unsubscribe", "channel": "ticker"})
            error, _ = await receive_until(ws, lambda m: m.get("type") == "error")
            assert "rate" in error["message"]
            with pytest.raises(ConnectionClosed):
                await receive_until(ws, lambda m: False)
            assert ws.close_code == 1008

    run(scenario)


def test_heartbeats_count_up_and_stop_on_request() -> None:
    async def scenario(sim: CoinbaseSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            await send(ws, {"type": "subscribe", "channel": "heartbeats"})
            await receive(ws)
            counters = [(await receive(ws, 1.0))["events"][0]["heartbeat_counter"] for _ in range(3)]
            assert counters == [1, 2, 3]
            sim.stop_heartbeats(0.8)
            await asyncio.sleep(0.25)
            while True:
                try:
                    await receive(ws, 0.05)
                except TimeoutError:
                    break
            with pytest.raises(TimeoutError):
                await receive(ws, 0.4)
            assert (await receive(ws, 1.0))["channel"] == "heartbeats"

    run(scenario, heartbeat_interval=0.2)
