"""The server child: engine + gRPC control plane + web gateway in one process and one loop, as
``tradeplane run`` serves them, and a trade pump the parent drives over stdin.

The engine has no feed: its market is one quote and one trade published on its bus at start
(BTCUSDT at 30,000.00), so the resting bids the benchmark places (1 % below) never fill, and
every trade the pump publishes afterwards is seller-initiated at that price. The parent sends
one JSON command per line; the child answers one JSON line each; stdin closing stops it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import sys
import time
from decimal import Decimal
from typing import Any

from bench.grpc_api import servers
from bench.web_gateway.common import (
    BID,
    INSTRUMENT,
    LAST,
    OFFER,
    START_TIMEOUT_S,
    STREAM_BUFFER,
    TOKEN_ENV,
)
from domain.identifiers import InstrumentId
from domain.market_data import QuoteTick, TradeTick
from domain.values import AggressorSide
from entrypoints.config import Settings, parse_settings
from entrypoints.container import App, bootstrap
from entrypoints.gc_tuning import tune_gc
from entrypoints.grpc.auth import Role, TokenEntry, hash_token
from entrypoints.grpc.engine_service import EngineInfo
from entrypoints.grpc.server import GrpcServer
from entrypoints.web.serve import start_gateway

PUMP_BATCH = 100
"""Trades published between two turns of the event loop (where the gRPC server and the
gateway do their work)."""


def engine_settings() -> Settings:
    return parse_settings(
        {
            "engine": {"name": "tradeplane-bench", "order_id_prefix": "BW"},
            "storage": {"kind": "memory"},
            "account": {"balances": {"USDT": "100000000", "BTC": "1000"}},
            "instruments": [
                {
                    "id": INSTRUMENT,
                    "base": "BTC",
                    "quote": "USDT",
                    "price_tick": "0.01",
                    "lot_size": "0.001",
                    "min_quantity": "0.001",
                    "min_notional": "5",
                }
            ],
            "broker": {"kind": "paper", "maker_fee_bps": "2", "taker_fee_bps": "5"},
            # Every check runs, none refuses a benchmark order: no order-rate limit, wide position,
            # and the one quote of the start stays fresh for the whole run.
            "risk": {
                "max_order_quantity": "1",
                "max_position_quantity": "1000",
                "max_open_orders": 100_000,
                "max_data_age_ns": 3_600_000_000_000,
                "price_band_fraction": "0.05",
            },
            "grpc": {
                "listen": "127.0.0.1:0",
                "rate_limit_per_second": 1_000_000.0,
                "rate_limit_burst": 1_000_000,
                "stream_buffer": STREAM_BUFFER,
            },
        },
        source="<bench.web_gateway>",
    )


def _seed_market(app: App) -> None:
    now = time.time_ns()
    instrument = InstrumentId(INSTRUMENT)
    app.bus.publish(
        QuoteTick.create(
            instrument_id=instrument,
            bid_price=BID,
            bid_size="5",
            ask_price=OFFER,
            ask_size="5",
            ts_event=now,
            ts_init=now,
        )
    )
    app.bus.publish(
        TradeTick.create(
            instrument_id=instrument,
            price=LAST,
            size="0.1",
            aggressor=AggressorSide.SELLER,
            trade_id="seed",
            ts_event=now,
            ts_init=now,
        )
    )


class Pump:
    """Publishes trades on the engine's bus as fast as the loop lets it, for a while."""

    def __init__(self, app: App, server: GrpcServer) -> None:
        self.app = app
        self.server = server
        self.published = 0

    async def wait_for_subscribers(self, count: int) -> int:
        hub = self.server.hub
        deadline = time.monotonic() + START_TIMEOUT_S
        while hub.count("trades") < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return hub.count("trades")

    async def run(self, seconds: float, rate: float = 0.0, *, until_dropped: bool = False) -> dict[str, Any]:
        """Publish for ``seconds``: as fast as the loop lets it, or ``rate`` trades/s (paced);
        ``until_dropped``: stop early once the hub drops a subscriber."""
        publish = self.app.bus.publish
        instrument, size, seller = InstrumentId(INSTRUMENT), Decimal("0.01"), AggressorSide.SELLER
        prices = [Decimal(LAST) + Decimal(cents) / 100 for cents in (0, 1, 2, 1)]
        hub = self.server.hub
        dropped = hub.stats.dropped
        subscribers = hub.count("trades")
        first = number = self.published
        perf = time.perf_counter
        cpu = time.process_time()
        start = perf()
        deadline = start + seconds
        while (now := perf()) < deadline:
            batch = PUMP_BATCH
            if rate:
                batch = min(PUMP_BATCH, int(rate * (now - start)) - (number - first))
                if batch <= 0:
                    await asyncio.sleep(0.002)
                    continue
            stamp = time.time_ns()
            for _ in range(batch):
                number += 1
                publish(TradeTick(instrument, prices[number & 3], size, seller, f"p{number}", stamp, stamp))
            await asyncio.sleep(0)
            if until_dropped and hub.stats.dropped > dropped:
                break
        elapsed = perf() - start
        trades = number - self.published
        self.published = number
        return {
            "trades": trades,
            "seconds": elapsed,
            "cpu": time.process_time() - cpu,
            "subscribers": subscribers,
            "dropped": hub.stats.dropped - dropped,
            "subscribers_after": hub.count("trades"),
        }


async def _commands(pump: Pump) -> None:
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = json.loads(line)
        if "wait_for" in command:
            answer: dict[str, Any] = {"subscribers": await pump.wait_for_subscribers(command["wait_for"])}
        elif "pump" in command:
            rate, until_dropped = float(command.get("rate", 0.0)), bool(command.get("until_dropped"))
            answer = await pump.run(float(command["pump"]), rate, until_dropped=until_dropped)
        elif "cpu" in command:
            answer = {"cpu": time.process_time()}
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)


async def serve() -> None:
    """Child: engine, gRPC server and gateway on 127.0.0.1; print both ports; obey stdin."""
    token = os.environ[TOKEN_ENV]
    # The drops are counted and reported; one warning per dropped stream would only be noise here.
    logging.getLogger("tradeplane.grpc.streams").setLevel(logging.ERROR)
    settings = engine_settings()
    app = bootstrap(settings, feeds=[])
    entry = TokenEntry(name="bench", role=Role.ADMIN, sha256=hash_token(token))
    server = GrpcServer(
        app,
        settings.grpc,
        EngineInfo(name="tradeplane-bench", version="0", mode="bench", broker="paper"),
        extra_tokens=[entry],
    )
    await app.engine.start()
    try:
        _seed_market(app)
        port = await server.start()
        gateway = await start_gateway("127.0.0.1:0", f"127.0.0.1:{port}")
        try:
            tune_gc()  # as `tradeplane run` does
            print(json.dumps({"grpc": port, "http": gateway.port}), flush=True)
            await _commands(Pump(app, server))
        finally:
            await gateway.stop()
    finally:
        await server.stop(grace=0.5)
        await app.engine.stop(cancel_open_orders=False)


class ServerChild(servers.ServerChild):
    """The child process: its ports read from stdout, commands over stdin, always stopped."""

    def __init__(self, token: str) -> None:
        super().__init__("--serve", token, module="bench.web_gateway", token_env=TOKEN_ENV)
        self.grpc_port = 0
        self.http_port = 0

    def _line(self, timeout: float) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        line = stdout.readline() if ready else ""
        if not line.startswith("{"):
            raise RuntimeError(f"the server child did not answer (got {line!r})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def wait_for_ports(self) -> None:
        ports = self._line(START_TIMEOUT_S + 15)
        self.grpc_port, self.http_port = int(ports["grpc"]), int(ports["http"])

    def command(self, timeout: float, **command: Any) -> dict[str, Any]:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        return self._line(timeout)
