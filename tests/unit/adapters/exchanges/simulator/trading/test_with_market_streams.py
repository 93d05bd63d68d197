"""The trading venue behind the market-data simulator: orders fill at the prices the streams show."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.client import connect

from adapters.exchanges.simulator.market import RandomWalkMarket
from adapters.exchanges.simulator.server import ExchangeSimulator
from adapters.exchanges.simulator.trading import TradingVenue

from .support import API_KEY, API_SECRET, RestClient, run, serving

BTC = "BTCUSDT"


async def _wait_until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def test_defaults_are_read_off_the_random_walk_market() -> None:
    venue = TradingVenue(
        RandomWalkMarket([BTC], seed=7), api_key=API_KEY, api_secret=API_SECRET, balances={"USDT": Decimal(1)}
    )
    filters = venue.filters[BTC]
    assert (filters.tick_size, filters.step_size) == (Decimal("0.01"), Decimal("0.001"))


def test_a_market_order_fills_at_the_best_ask_the_stream_last_showed_and_a_bid_fills_from_the_tape() -> None:
    async def scenario() -> None:
        venue = TradingVenue(
            RandomWalkMarket([BTC], seed=11),
            api_key=API_KEY,
            api_secret=API_SECRET,
            balances={"USDT": Decimal("100000"), "BTC": Decimal(0)},
            ping_interval=None,
        )
        simulator = ExchangeSimulator(venue.market, rate=300, ping_interval=None)
        await simulator.start()
        tickers: list[dict[str, Any]] = []
        try:
            async with (
                serving(venue),
                RestClient(venue) as client,
                connect(f"{simulator.ws_url}/ws/btcusdt@bookTicker", proxy=None) as stream,
            ):

                async def read() -> None:
                    async for raw in stream:
                        tickers.append(orjson.loads(raw))

                reader = asyncio.get_running_loop().create_task(read())
                await _wait_until(lambda: len(tickers) > 5, "book tickers")
                simulator.pause()
                await asyncio.sleep(0.2)  # the stream drains
                shown = tickers[-1]
                assert shown["u"] == venue.market.book(BTC).last_update_id
                quantity = min(Decimal(shown["A"]), Decimal("0.5"))
                answer = await client.order(symbol=BTC, side="BUY", type="MARKET", quantity=str(quantity))
                fills = answer.json()["fills"]
                assert [fill["price"] for fill in fills] == [shown["a"]]
                resting = await client.order(
                    symbol=BTC,
                    side="BUY",
                    type="LIMIT",
                    timeInForce="GTC",
                    quantity="0.001",
                    price=shown["b"],
                )
                assert resting.json()["status"] == "NEW"
                simulator.resume()
                await _wait_until(lambda: venue.orders()[-1]["status"] == "FILLED", "the resting bid to fill")
                maker = venue.trades()[-1]
                assert (maker["price"], maker["isMaker"]) == (shown["b"], True)
                reader.cancel()
        finally:
            await simulator.stop()

    run(scenario)
