"""The Kraken v2 dialect over loopback, read by a plain WebSocket client with its own checksum."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from adapters.exchanges.simulator.kraken import KrakenSimulator
from tests.integration.simulator_dialects.support import receive, receive_until, send

TEST_TIMEOUT = 20.0
PRICE_PLACES, QTY_PLACES = 2, 3


def run(scenario: Callable[[KrakenSimulator], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        sim = KrakenSimulator(**{"symbols": ("BTC/USD", "ETH/USD"), "seed": 7, "rate": 100.0, **options})
        await sim.start()
        try:
            await scenario(sim)
        finally:
            await sim.stop()

    asyncio.run(asyncio.wait_for(main(), TEST_TIMEOUT))


class ClientBook:
    """A client's book as the venue's guide says: apply in order, delete qty 0, truncate, checksum."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def apply(self, data: dict[str, Any]) -> bool:
        """Apply one book object; whether its checksum verifies."""
        for side, levels in ((self.bids, data["bids"]), (self.asks, data["asks"])):
            for level in levels:
                if level["qty"] == 0:
                    side.pop(level["price"], None)
                else:
                    side[level["price"]] = level["qty"]
        self.bids = dict(sorted(self.bids.items(), reverse=True)[: self.depth])
        self.asks = dict(sorted(self.asks.items())[: self.depth])
        return bool(self.checksum() == data["checksum"])

    def checksum(self) -> int:
        def fmt(value: Decimal, places: int) -> str:
            return format(value, f".{places}f").replace(".", "").lstrip("0")

        asks = sorted(self.asks.items())[:10]
        bids = sorted(self.bids.items(), reverse=True)[:10]
        text = "".join(fmt(p, PRICE_PLACES) + fmt(q, QTY_PLACES) for p, q in asks + bids)
        return zlib.crc32(text.encode())


async def subscribe_book(ws: ClientConnection, depth: int = 10, symbol: str = "BTC/USD") -> dict[str, Any]:
    await receive_until(ws, lambda m: m.get("channel") == "status")
    await send(
        ws,
        {
            "method": "subscribe",
            "params": {"channel": "book", "symbol": [symbol], "depth": depth},
            "req_id": 1,
        },
    )
    ack = await receive(ws)
    assert ack["success"] is True, ack
    assert ack["result"] == {"channel": "book", "depth": depth, "snapshot": True, "symbol": symbol}
    snapshot: dict[str, Any] = await receive(ws)
    assert snapshot["type"] == "snapshot"
    return snapshot


@pytest.mark.parametrize("depth", [10, 25])
def test_checksums_verify_on_every_book_message_and_the_book_ends_as_the_venue_book(depth: int) -> None:
    async def scenario(sim: KrakenSimulator) -> None:
        async with connect(sim.ws_url, max_size=2**22) as ws:
            snapshot = await subscribe_book(ws, depth)
            book = ClientBook(depth)
            assert book.apply(snapshot["data"][0])
            updates = 0
            while updates < 80:
                message = await receive(ws)
                if message.get("channel") != "book":
                    continue
                assert len(message["data"]) == 1
                assert book.apply(message["data"][0]), message
                updates += 1
            sim.go_silent(1.0)
            while True:
                try:
                    message = await receive(ws, 0.3)
                except TimeoutError:
                    break
                if message.get("channel") == "book":
                    assert book.apply(message["data"][0])
            view = sim.book("BTC/USD")
            assert sorted(book.bids.items(), reverse=True) == view.bids[:depth]
            assert sorted(book.asks.items()) == view.asks[:depth]

    run(scenario)


IN_FLIGHT_MAX = 20
"""Book updates that may have left the simulator before a fault was set."""


@pytest.mark.parametrize("fault", ["corrupt_checksum", "drop_update"])
def test_corrupt_and_dropped_updates_fail_the_client_checksum(fault: str) -> None:
    async def scenario(sim: KrakenSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            book = ClientBook(10)
            assert book.apply((await subscribe_book(ws))["data"][0])
            for _ in range(5):
                assert book.apply(
                    (await receive_until(ws, lambda m: m.get("channel") == "book"))[0]["data"][0]
                )
            getattr(sim, fault)("BTC/USD")
            # Updates sent before the fault may still be in flight: they apply. The first one
            # the fault touches must fail the client's checksum, and soon.
            for _ in range(IN_FLIGHT_MAX):
                message, _ = await receive_until(ws, lambda m: m.get("channel") == "book")
                if not book.apply(message["data"][0]):
                    return
            raise AssertionError(f"{fault}: every update still matched the checksum")

    run(scenario)


def test_multi_symbol_subscribe_acks_each_symbol_and_refuses_an_unknown_pair() -> None:
    async def scenario(sim: KrakenSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            await receive(ws)
            params = {"channel": "trade", "symbol": ["BTC/USD", "BTC/XYZ", "ETH/USD"]}
            await send(ws, {"method": "subscribe", "params": params, "req_id": 7})
            acks = [await receive(ws) for _ in range(3)]
            assert [a["success"] for a in acks] == [True, False, True]
            assert acks[1]["error"] == "Currency pair not supported BTC/XYZ"
            assert all(a["req_id"] == 7 and a["method"] == "subscribe" for a in acks)
            trade, _ = await receive_until(ws, lambda m: m.get("channel") == "trade")
            assert trade["type"] == "update"
            assert {"symbol", "side", "price", "qty", "ord_type", "trade_id", "timestamp"} <= set(
                trade["data"][0]
            )

    run(scenario)


def test_bad_depth_ping_and_the_instrument_channel() -> None:
    async def scenario(sim: KrakenSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            status = await receive(ws)
            assert status["data"][0]["api_version"] == "v2"
            await send(
                ws, {"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 7}}
            )
            bad = await receive(ws)
            assert bad["success"] is False
            assert "depth" in bad["error"]
            await send(ws, {"method": "ping", "req_id": 42})
            pong = await receive(ws)
            assert pong["method"] == "pong"
            assert pong["req_id"] == 42
            await send(ws, {"method": "subscribe", "params": {"channel": "instrument"}, "req_id": 1})
            ack = await receive(ws)
            assert ack["result"] == {"channel": "instrument", "snapshot": True}
            snapshot = await receive(ws)
            pairs = {p["symbol"]: p for p in snapshot["data"]["pairs"]}
            assert pairs["BTC/USD"]["price_precision"] == PRICE_PLACES
            assert pairs["BTC/USD"]["qty_precision"] == QTY_PLACES
            assert pairs["BTC/USD"]["price_increment"] == Decimal("0.01")

    run(scenario)


def test_heartbeats_when_idle_and_none_while_stopped() -> None:
    async def scenario(sim: KrakenSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            await receive(ws)
            await send(ws, {"method": "subscribe", "params": {"channel": "instrument"}})
            await receive(ws)
            await receive(ws)
            beat = await receive(ws, 1.0)
            assert beat == {"channel": "heartbeat"}
            sim.stop_heartbeats(0.8)
            with pytest.raises(TimeoutError):
                await receive(ws, 0.6)
            assert await receive(ws, 1.0) == {"channel": "heartbeat"}

    run(scenario, heartbeat_interval=0.2)


def test_too_many_messages_get_an_error_then_the_connection_is_closed() -> None:
    async def scenario(sim: KrakenSimulator) -> None:
        async with connect(sim.ws_url) as ws:
            await receive(ws)
            for n in range(6):
                await send(ws, {"method": "ping", "req_id": n})
            error, _ = await receive_until(ws, lambda m: "error" in m)
            assert error["error"] == "Exceeded msg rate"
            assert error["success"] is False
            with pytest.raises(ConnectionClosed):
                await receive_until(ws, lambda m: False)

    run(scenario, max_incoming_per_second=3)


def test_other_paths_are_404() -> None:
    async def scenario(sim: KrakenSimulator) -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://127.0.0.1:{sim.port}/v1"):
                pass
        assert refused.value.response.status_code == 404

    run(scenario)
