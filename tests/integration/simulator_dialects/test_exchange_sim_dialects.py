"""``tradeplane exchange-sim --dialect``: flag checks, and ``all`` serving three dialects from one process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from entrypoints.commands.exchange_sim import main

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 20.0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--dialect", "coinbase", "--trading"], "binance dialect only"),
        (["--dialect", "all", "--trading"], "binance dialect only"),
        (["--dialect", "kraken", "--symbols", "BTCXYZ"], "--symbols"),
    ],
)
def test_what_a_dialect_cannot_do_is_refused(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_an_unknown_dialect_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--dialect", "ftx"])
    assert done.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
def test_all_serves_three_dialects_and_stops_on_ctrl_c() -> None:
    command = [sys.executable, "-m", "entrypoints.commands.exchange_sim", "--dialect", "all", "--port", "0"]
    with subprocess.Popen(
        [*command, "--log-level", "WARNING"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + START_TIMEOUT_S
            lines: list[str] = []
            while len(lines) < 3 and time.monotonic() < deadline:
                lines.append(process.stdout.readline())
            assert [line.split()[1] for line in lines] == ["binance", "coinbase", "kraken"], lines
            rest = re.search(r"(http://127\.0\.0\.1:\d+)/api/v3/brokerage", lines[1])
            assert rest, lines[1]
            assert re.search(r"ws://127\.0\.0\.1:\d+/v2", lines[2]), lines[2]
            product = httpx.get(f"{rest.group(1)}/api/v3/brokerage/market/products/BTC-USD", timeout=5.0)
            assert product.json()["product_id"] == "BTC-USD"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)
