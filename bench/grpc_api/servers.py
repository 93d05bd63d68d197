"""The server child processes (engine + gRPC server, bare echo) and the parent's handle on them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import subprocess
import sys
import time

import grpc

from bench.grpc_api.common import INSTRUMENT, START_TIMEOUT_S, TOKEN_ENV
from entrypoints.config import Settings, parse_settings
from entrypoints.container import bootstrap
from entrypoints.gc_tuning import tune_gc
from entrypoints.grpc.auth import Role, TokenEntry, hash_token
from entrypoints.grpc.engine_service import EngineInfo
from entrypoints.grpc.server import GrpcServer


def _engine_settings(ws_url: str, rest_url: str) -> Settings:
    return parse_settings(
        {
            "engine": {"name": "tradeplane-bench", "order_id_prefix": "BG"},
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
            "feeds": {
                "binance": {
                    "instrument_ids": [INSTRUMENT],
                    "ws_url": ws_url,
                    "rest_url": rest_url,
                    "use_system_proxy": False,
                    "reconnect_initial_delay": 0.2,
                    "reconnect_max_delay": 2.0,
                    "stale_after": 30.0,
                }
            },
            "broker": {"kind": "paper", "maker_fee_bps": "2", "taker_fee_bps": "5"},
            # Every check runs, none refuses a benchmark order: no order-rate limit, wide position.
            "risk": {
                "max_order_quantity": "1",
                "max_position_quantity": "1000",
                "max_open_orders": 100_000,
                "max_data_age_ns": 60_000_000_000,
                "price_band_fraction": "0.05",
            },
            "grpc": {
                "listen": "127.0.0.1:0",
                "rate_limit_per_second": 1_000_000.0,
                "rate_limit_burst": 1_000_000,
                "stream_buffer": 10_000,
            },
        },
        source="<bench.grpc_api>",
    )


async def _until_stdin_closes() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def _start_exchange() -> tuple[subprocess.Popen[str], str, str]:
    """The simulated exchange in its own process, as a real venue is: (process, ws url, rest url)."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "entrypoints.cli", "exchange-sim", "--port", "0"),
            *("--symbols", "BTCUSDT", "--seed", "7", "--rate", "50", "--log-level", "WARNING"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
    line = process.stdout.readline() if ready else ""
    match = re.search(r"ws://(127\.0\.0\.1:\d+)/", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"exchange-sim did not say where it listens (got {line!r})")
    return process, f"ws://{match.group(1)}", f"http://{match.group(1)}"


async def serve_engine() -> None:
    """Child: engine + gRPC server on 127.0.0.1 (the exchange simulator runs in a process of
    its own); print the port; run until stdin closes."""
    token = os.environ[TOKEN_ENV]
    exchange, ws_url, rest_url = _start_exchange()
    try:
        settings = _engine_settings(ws_url, rest_url)
        app = bootstrap(settings)
        entry = TokenEntry(name="bench", role=Role.ADMIN, sha256=hash_token(token))
        server = GrpcServer(
            app,
            settings.grpc,
            EngineInfo(name="tradeplane-bench", version="0", mode="bench", broker="paper"),
            extra_tokens=[entry],
        )
        try:
            await app.engine.start()
            deadline = time.monotonic() + START_TIMEOUT_S
            while INSTRUMENT not in app.engine.status().last_prices and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # a market order needs a market: wait for the first trade
            port = await server.start()
            tune_gc()  # as `tradeplane run` does
            print(port, flush=True)
            await _until_stdin_closes()
        finally:
            await server.stop(grace=0.5)
            await app.engine.stop(cancel_open_orders=False)
    finally:
        exchange.kill()
        exchange.wait()


async def serve_echo() -> None:
    """Child: a bare grpc.aio unary echo (bytes, no proto) on 127.0.0.1; print the port."""

    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    try:
        await _until_stdin_closes()
    finally:
        await server.stop(0.5)


class ServerChild:
    """A server child process: started with a token, its port read from stdout, always killed."""

    def __init__(
        self, mode: str, token: str, module: str = "bench.grpc_api", token_env: str = TOKEN_ENV
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), token_env: token},
        )
        self.port = 0

    def wait_for_port(self) -> int:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], START_TIMEOUT_S + 15)
        line = stdout.readline() if ready else ""
        if not line.strip().isdigit():
            raise RuntimeError(f"server child did not print its port (got {line!r})")
        self.port = int(line)
        return self.port

    def cpu_seconds(self, *, main_thread: bool = False) -> float | None:
        """CPU time the child used so far, from /proc; None where there is none. All its
        threads, or only the main one: the thread of the event loop, which holds the GIL for
        everything Python does (grpc's own I/O threads run beside it)."""
        pid = self.process.pid
        path = f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat"
        try:
            with open(path) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        process = self.process
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
