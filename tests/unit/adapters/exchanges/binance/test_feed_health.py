"""The feed's health says why it is down in words: what the status line shows an operator."""

from __future__ import annotations

import asyncio
import random
import socket

from adapters.exchanges.binance.config import BinanceFeedConfig
from adapters.exchanges.binance.feed import BinanceMarketDataFeed
from adapters.system_clock import LiveClock
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_reported_as_such_naming_host_and_port() -> None:
    port = _closed_port()
    config = BinanceFeedConfig(
        instrument_ids=(InstrumentId("BTCUSDT.BINANCE"),),
        ws_url=f"ws://127.0.0.1:{port}",
        rest_url=f"http://127.0.0.1:{port}",
        use_system_proxy=False,
        reconnect_initial_delay=0.05,
        reconnect_max_delay=0.1,
    )
    feed = BinanceMarketDataFeed(config, clock=LiveClock(), rng=random.Random(1))

    def sink(event: MarketEvent) -> None:
        raise AssertionError(f"nothing can arrive from a closed port: {event}")

    async def scenario() -> str:
        running = asyncio.create_task(feed.run(sink))
        try:
            async with asyncio.timeout(5):
                while not feed.health().last_error:
                    await asyncio.sleep(0.01)
        finally:
            await asyncio.wait_for(feed.stop(), 5)
            await asyncio.wait_for(running, 5)
        return feed.health().last_error

    assert asyncio.run(scenario()) == f"connection refused by 127.0.0.1:{port}"
