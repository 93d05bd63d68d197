"""``tradeplane exchange-sim --trading``: the flags, and a real process serving both sides."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from adapters.brokers.binance.signing import HmacSigner, encode_params
from entrypoints.cli import main

REPO = Path(__file__).resolve().parents[6]
START_TIMEOUT_S = 20.0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["exchange-sim", "--api-key", "abc", "--api-secret", "s"], "need --trading"),
        (["exchange-sim", "--trading", "--api-key", "abc"], "go together"),
    ],
)
def test_credentials_without_trading_or_without_each_other_are_refused(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["exchange-sim", "--trading", "--balances", "USDT=-1"],
        ["exchange-sim", "--trading", "--balances", "USDT"],
        ["exchange-sim", "--trading", "--balances", "USDT=1,USDT=2"],
        ["exchange-sim", "--trading", "--commission", "1.5"],
        ["exchange-sim", "--trading", "--commission", "lots"],
        ["exchange-sim", "--trading", "--trading-port", "70000"],
        ["exchange-sim", "--trading", "--api-key", "has space", "--api-secret", "s"],
    ],
)
def test_malformed_trading_flags_exit_2_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert "error" in capsys.readouterr().err


def _lines(process: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The process's stdout lines as they come (a thread reads them, so a wait can time out)."""
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None

    def read() -> None:
        for line in stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def _line(lines: queue.Queue[str], deadline: float) -> str:
    try:
        return lines.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        raise AssertionError("exchange-sim said nothing in time") from None


@pytest.mark.slow
def test_the_command_serves_a_generated_account_that_signed_requests_can_use() -> None:
    with subprocess.Popen(
        [
            *(sys.executable, "-m", "entrypoints.cli", "exchange-sim", "--port", "0", "--symbols", "BTCUSDT"),
            *("--trading", "--trading-port", "0", "--balances", "USDT=5000,BTC=0", "--log-level", "WARNING"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            _serve_and_use(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)


def _serve_and_use(process: subprocess.Popen[str]) -> None:
    """Read where it listens and the generated pair, use them, then stop it with Ctrl-C."""
    deadline = time.monotonic() + START_TIMEOUT_S
    lines, reader = _lines(process)
    market_line = _line(lines, deadline)
    assert re.search(r"listening on ws://127\.0\.0\.1:\d+/", market_line), market_line
    trading_line = _line(lines, deadline)
    match = re.search(r"trading on (http://127\.0\.0\.1:\d+)/api/v3 and (ws://\S+/ws-api/v3)", trading_line)
    assert match, trading_line
    rest_url = match.group(1)
    account_line = _line(lines, deadline)
    credentials = re.search(r"api key (\w+) api secret (\w+)", account_line)
    assert credentials, account_line
    key, secret = credentials.groups()
    with httpx.Client(base_url=rest_url, timeout=5.0) as client:
        server_time = client.get("/api/v3/time").json()["serverTime"]
        query = encode_params([("timestamp", server_time)])
        signed = f"{query}&signature={HmacSigner(secret).sign(query)}"
        account = client.get(f"/api/v3/account?{signed}", headers={"X-MBX-APIKEY": key})
        assert account.status_code == 200, account.text
        balances = {b["asset"]: b["free"] for b in account.json()["balances"]}
        assert balances == {"BTC": "0.00000000", "USDT": "5000.00000000"}
        refused = client.get(f"/api/v3/account?{signed}", headers={"X-MBX-APIKEY": "wrongKey"})
        assert refused.status_code == 401
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    reader.join(timeout=5)
    assert process.stderr is not None
    assert secret not in process.stderr.read()
