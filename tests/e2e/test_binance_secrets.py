"""The Binance secret never leaves the process: not in a log line at DEBUG, not on stdout, not in
a store, not in a gRPC answer, not in any file a run writes.

``tradeplane run`` trades (a fast SMA crossover) against the simulated Binance venue, which runs
in this process's own thread with a key and secret the test chose; the engine gets them from the
environment, its logs at DEBUG go to a file, its SQLite stores to a folder. While it runs, the
test asks ``GetStatus`` and lists its orders over gRPC. Afterwards every byte the run wrote
(stdout, stderr, the data folder) and every answer is searched for the secret, in clear, in
upper case and in base64; the API key may show only masked.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from google.protobuf.json_format import MessageToJson
from tradeplane.v1 import engine_pb2, engine_pb2_grpc, orders_pb2, orders_pb2_grpc

from adapters.exchanges.simulator import ExchangeSimulator, MarketParams, RandomWalkMarket
from adapters.exchanges.simulator.background import BackgroundLoop
from adapters.exchanges.simulator.trading import TradingVenue
from tests.e2e.test_crash_recovery import _toml

REPO = Path(__file__).resolve().parents[2]
API_KEY = "tpKey" + "A1b2C3d4E5f6G7h8I9j0" * 3
API_SECRET = "tpSecret" + "Z9y8X7w6V5u4T3s2R1q0" * 3
TOKEN = "secrets-test-admin-token-0123456789"
RUN_S = 8


@pytest.fixture
def venue() -> Iterator[tuple[ExchangeSimulator, TradingVenue]]:
    loop = BackgroundLoop("venue")
    market = RandomWalkMarket(("BTCUSDT",), 11, MarketParams(tick_size=Decimal("1")))
    trading = TradingVenue(
        market=market,
        api_key=API_KEY,
        api_secret=API_SECRET,
        balances={"USDT": Decimal("100000"), "BTC": Decimal("1")},
    )
    simulator = ExchangeSimulator(trading.market, seed=11, rate=200)

    async def start() -> None:
        await simulator.start()
        await trading.start("127.0.0.1", 0)

    async def stop() -> None:
        await simulator.stop()
        await trading.stop()

    loop.run(start())
    try:
        yield simulator, trading
    finally:
        loop.run(stop())
        loop.close()


def _config(simulator: ExchangeSimulator, trading: TradingVenue, data_dir: Path) -> str:
    return _toml(
        {
            "engine": {"name": "secrets", "order_id_prefix": "SEC", "status_interval_s": 1.0},
            "instruments": [{"id": "BTCUSDT.BINANCE"}],
            "feeds": {
                "binance": {
                    "instrument_ids": ["BTCUSDT.BINANCE"],
                    "ws_url": simulator.ws_url,
                    "rest_url": simulator.rest_url,
                    "use_system_proxy": False,
                }
            },
            "broker": {
                "kind": "binance",
                "rest_url": trading.rest_url,
                "ws_api_url": trading.ws_api_url,
                "use_system_proxy": False,
                "reconcile_interval_s": 2,
            },
            "strategies": [
                {
                    "id": "sma",
                    "kind": "sma_crossover",
                    "instruments": ["BTCUSDT.BINANCE"],
                    "params": {"fast": 3, "slow": 8},
                    "sizing": {"kind": "fixed_quantity", "quantity": "0.01"},
                    "allow_short": True,
                }
            ],
            "storage": {"kind": "sql", "data_dir": str(data_dir)},
            "grpc": {"enabled": True, "listen": "127.0.0.1:0"},
            "logging": {"level": "DEBUG"},
        }
    )


def _answers(address: str) -> list[str]:
    """What the control plane says about the broker and the orders, as JSON."""
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    with grpc.insecure_channel(address) as channel:
        status = engine_pb2_grpc.EngineServiceStub(channel).GetStatus(
            engine_pb2.GetStatusRequest(), metadata=metadata, timeout=5
        )
        orders = orders_pb2_grpc.OrderServiceStub(channel).ListOrders(
            orders_pb2.ListOrdersRequest(), metadata=metadata, timeout=5
        )
    assert status.broker_health.name == "binance"
    return [MessageToJson(status), MessageToJson(orders)]


def test_no_file_or_answer_of_a_run_holds_the_secret(
    venue: tuple[ExchangeSimulator, TradingVenue], tmp_path: Path
) -> None:
    simulator, trading = venue
    data_dir = tmp_path / "data"
    config = tmp_path / "binance.toml"
    config.write_text(_config(simulator, trading, data_dir))
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "TRADEPLANE_BINANCE_API_KEY": API_KEY,
        "TRADEPLANE_BINANCE_API_SECRET": API_SECRET,
        "TRADEPLANE_ADMIN_TOKEN": TOKEN,
    }
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "entrypoints.cli",
                "run",
                "--config",
                str(config),
                "--duration",
                str(RUN_S),
            ],
            cwd=REPO,
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
        try:
            address = ""
            deadline = time.monotonic() + 30
            while not address and time.monotonic() < deadline and process.poll() is None:
                for line in out.read_text().splitlines():
                    if line.startswith("gRPC control plane on "):
                        address = line.removeprefix("gRPC control plane on ").strip()
                time.sleep(0.1)
            assert address, out.read_text() + err.read_text()
            time.sleep(RUN_S / 2)  # let it trade
            answers = _answers(address)
            assert process.wait(timeout=RUN_S + 30) == 0, err.read_text()[-3000:]
        finally:
            process.kill()
            process.wait()

    assert trading.orders(), "the run placed no order at the venue: nothing was exercised"
    assert "broker: binance" in out.read_text()
    written = [out, err, *(path for path in data_dir.rglob("*") if path.is_file())]
    forms = [
        API_SECRET,
        API_SECRET.upper(),
        API_SECRET.lower(),
        base64.b64encode(API_SECRET.encode()).decode(),
    ]
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for form in forms:
            assert form not in text, f"the secret appears in {path.name}"
        assert API_KEY not in text, f"the API key appears unmasked in {path.name}"
    for answer in answers:
        assert API_SECRET not in answer
        assert API_KEY not in answer
    assert json.loads(answers[0])["brokerHealth"]["environment"] == "testnet"
