"""`tradeplane demo` as a user runs it: a real process, offline, trades within seconds, clean exit."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _demo(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "entrypoints.cli",
            "demo",
            "--status-interval",
            "1",
            "--grpc-listen",
            "127.0.0.1:0",
            "--metrics-listen",  # never the fixed defaults: tests run side by side
            "127.0.0.1:0",
            "--web-listen",
            "127.0.0.1:0",
            "--data-dir",
            str(data_dir),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


@pytest.mark.slow
def test_the_demo_trades_prints_status_lines_and_a_summary(tmp_path: Path) -> None:
    process = _demo(tmp_path / "data", "--duration", "8")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "exchange simulator on ws://127.0.0.1:" in out
    assert re.search(r"BTCUSDT \d+", out), out
    fills = int(re.search(r"fills\s+(\d+)", out.split("summary:")[1]).group(1))  # type: ignore[union-attr]
    assert fills > 0, out
    assert "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_ends_the_demo_cleanly_with_a_summary(tmp_path: Path) -> None:
    process = _demo(tmp_path / "data")
    time.sleep(4)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "summary:" in out
    assert "Traceback" not in err


@pytest.mark.slow
def test_the_binance_demo_trades_through_the_real_adapter_offline(tmp_path: Path) -> None:
    process = _demo(tmp_path / "data", "--broker", "binance", "--duration", "10", "--log-level", "INFO")
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    assert "simulated Binance trading venue on http://127.0.0.1:" in out
    assert "broker: binance, environment testnet, account uid" in out
    assert re.search(r"\| broker binance up", out), out  # the order-update stream, on every status line
    summary = out.split("summary:")[1]
    fills = int(re.search(r"fills\s+(\d+)", summary).group(1))  # type: ignore[union-attr]
    assert fills > 0, out
    assert "Traceback" not in err
    assert " ERROR " not in err, err
    assert "venue refused" not in err, err


@pytest.mark.slow
def test_a_token_given_in_the_environment_is_never_printed(tmp_path: Path) -> None:
    token = "e2e-chosen-admin-token-0123456789"
    process = _demo(tmp_path / "data", "--duration", "2", env={"TRADEPLANE_ADMIN_TOKEN": token})
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "admin token: from TRADEPLANE_ADMIN_TOKEN" in out
    assert '"authorization: Bearer $TRADEPLANE_ADMIN_TOKEN"' in out
    assert token not in out
    assert token not in err


@pytest.mark.slow
def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _demo(tmp_path / "data", "--grpc-listen", f"127.0.0.1:{port}", "--duration", "5")
        out, err = process.communicate(timeout=60)
    assert process.returncode == 2, (out, err)
    assert f"127.0.0.1:{port}" in err
    assert "--grpc-listen 127.0.0.1:0" in err
    assert "exchange simulator" not in out  # nothing was started
    assert not (tmp_path / "data").exists()
    assert "Traceback" not in err


@pytest.mark.slow
def test_the_demo_in_json_prints_only_json_records(tmp_path: Path) -> None:
    process = _demo(tmp_path / "data", "--duration", "5", "--log-format", "json", "--memory")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]  # every line is a JSON object
    assert err == ""
    messages = [record["msg"] for record in records]
    assert any(m.startswith("exchange simulator on ws://127.0.0.1:") for m in messages)
    assert "summary" in messages
