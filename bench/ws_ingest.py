"""Binance market-data ingestion: parse cost per frame, and frames/s over loopback from the simulator.

The simulator runs in a child process (its own core) and publishes an endless tape of
trades as fast as the client reads (``rate=0``), so the client side is what is measured:
first the websockets library alone (the ceiling), then BinanceMarketDataFeed end to end
(receive, parse, de-duplicate, emit to a counting sink), each on one connection.
Run alone with ``python -m bench.ws_ingest``.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect

from adapters.exchanges.binance.config import BinanceFeedConfig
from adapters.exchanges.binance.feed import BinanceMarketDataFeed
from adapters.exchanges.binance.parsing import parse_frame
from adapters.exchanges.simulator.market import TRADE, BookView, MarketFrame, RandomWalkMarket
from adapters.exchanges.simulator.server import ExchangeSimulator
from adapters.system_clock import LiveClock
from bench.harness import Result, ns_per_call
from domain.identifiers import InstrumentId

SUITE = "ws_ingest"
_SYMBOL = "BTCUSDT"
_TRADE_FRAME = (
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":12345,'
    b'"p":"25123.45000000","q":"0.01234000","T":1672515782136,"m":true,"M":true}}'
)
_DEPTH_FRAME = (
    b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1672515782136,"s":"BTCUSDT",'
    b'"U":157,"u":161,"b":[["25123.45000000","1.20000000"],["25123.44000000","0.00000000"],'
    b'["25123.40000000","3.10000000"]],"a":[["25123.46000000","0.50000000"],["25123.50000000","2.00000000"]]}}'
)
_TICKER_FRAME = (
    b'{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25123.45000000",'
    b'"B":"31.21000000","a":"25123.46000000","A":"40.66000000"}}'
)
_WARM_UP = 0.5
_WINDOW = 2.5


class _TradeTape:
    """A MarketSource of trades only, each with the next trade id: cheap, so the client is the bottleneck."""

    finished = False

    def __init__(self) -> None:
        self.symbols: tuple[str, ...] = (_SYMBOL,)
        self._book = RandomWalkMarket(self.symbols, seed=7)  # serves /api/v3/depth if anyone asks
        self._trade_id = 0

    def step(self, now_ms: int) -> list[MarketFrame]:
        frames = []
        for _ in range(16):
            self._trade_id += 1
            payload = {
                "e": "trade",
                "E": now_ms,
                "s": _SYMBOL,
                "t": self._trade_id,
                "p": "25123.45000000",
                "q": "0.01234000",
                "T": now_ms,
                "m": self._trade_id % 2 == 0,
                "M": True,
            }
            frames.append(MarketFrame(_SYMBOL, TRADE, payload))
        return frames

    def snapshot(self, symbol: str, limit: int) -> dict[str, Any]:
        return self._book.snapshot(symbol, limit)

    def skip_next_depth(self, symbol: str | None = None) -> None:
        return None

    def book(self, symbol: str) -> BookView:
        return self._book.book(symbol)


async def _serve_tape() -> None:
    """Child process: serve the tape on a free port, print it, run until stdin closes."""
    simulator = ExchangeSimulator(_TradeTape(), rate=0, ping_interval=None, max_outbox=20_000)
    port = await simulator.start()
    print(port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await simulator.stop()


def _parse_costs() -> list[Result]:
    def frames(raw: bytes) -> Callable[[int], None]:
        def loop(n: int) -> None:
            for _ in range(n):
                parse_frame(raw, 1)

        return loop

    return [
        Result(
            SUITE, f"parse_frame {name} (bytes)", ns_per_call(frames(raw), 20_000, repeat=7) / 1000, "µs/op"
        )
        for name, raw in (
            ("trade", _TRADE_FRAME),
            ("bookTicker", _TICKER_FRAME),
            ("depthUpdate 5 lvls", _DEPTH_FRAME),
        )
    ]


def _on_frame_cost() -> Result:
    """The feed's per-frame work without the network: parse, de-duplicate by trade id, emit."""
    config = BinanceFeedConfig(instrument_ids=(InstrumentId("BTCUSDT.BINANCE"),), streams=("trade",))
    feed = BinanceMarketDataFeed(config, LiveClock())
    head, tail = _TRADE_FRAME.split(b'"t":12345')
    frames = [head + b'"t":' + str(number).encode() + tail for number in range(1, 100_001)]
    position = 0

    def loop(n: int) -> None:
        nonlocal position
        on_frame = feed.on_frame
        for raw in frames[position : position + n]:
            on_frame(raw, 1, None)  # type: ignore[arg-type]  # a live link is only needed for control frames
        position += n

    return Result(
        SUITE, "feed.on_frame trade (parse+dedup+emit)", ns_per_call(loop, 20_000, repeat=5) / 1000, "µs/op"
    )


async def _ingest_rates(port: int) -> tuple[float, float]:
    url = f"ws://127.0.0.1:{port}/stream?streams=btcusdt@trade"
    received = 0

    async def read_raw() -> None:
        nonlocal received
        async with connect(url, compression=None, proxy=None, max_queue=256) as websocket:
            while True:
                await websocket.recv(decode=False)
                received += 1

    reader = asyncio.create_task(read_raw())
    await asyncio.sleep(_WARM_UP)
    start_count, start = received, time.perf_counter()
    await asyncio.sleep(_WINDOW)
    raw_rate = (received - start_count) / (time.perf_counter() - start)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)

    emitted = 0

    def sink(_: object) -> None:
        nonlocal emitted
        emitted += 1

    config = BinanceFeedConfig(
        instrument_ids=(InstrumentId("BTCUSDT.BINANCE"),),
        streams=("trade",),
        ws_url=f"ws://127.0.0.1:{port}",
        rest_url=f"http://127.0.0.1:{port}",
        use_system_proxy=False,
        ping_interval=None,
    )
    feed = BinanceMarketDataFeed(config, LiveClock(), rng=random.Random(1))
    task = asyncio.create_task(feed.run(sink))
    await asyncio.sleep(_WARM_UP)
    start_count, start = emitted, time.perf_counter()
    await asyncio.sleep(_WINDOW)
    feed_rate = (emitted - start_count) / (time.perf_counter() - start)
    await feed.stop()
    await task
    return raw_rate, feed_rate


def run() -> list[Result]:
    results = [*_parse_costs(), _on_frame_cost()]
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.ws_ingest", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        raw_rate, feed_rate = asyncio.run(_ingest_rates(port))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    note = "1 connection, simulator in a child process"
    results.append(Result(SUITE, "websockets recv alone, loopback", raw_rate, "msg/s", note))
    results.append(Result(SUITE, "BinanceMarketDataFeed ingest, loopback", feed_rate, "msg/s", note))
    return results


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(_serve_tape())
    else:
        for result in run():
            print(f"{result.name:<45} {result.value:>12,.2f} {result.unit}  {result.note}")
