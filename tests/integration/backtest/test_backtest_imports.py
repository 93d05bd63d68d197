"""``tradeplane backtest`` loads what a backtest uses: not the other commands, not gRPC, not the
venues' network clients. Each of them costs start-up time and memory in every backtest process.

Run in a fresh interpreter, since the test process has imported everything already.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from tests.unit.adapters.historical.files import T0, spot_trade, write

ROOT = Path(__file__).resolve().parents[3]
NOT_FOR_A_BACKTEST = (
    "grpc",
    "google.protobuf",
    "prometheus_client",
    "aiohttp",
    "httpx",
    "websockets",
    "cryptography",
    "sqlalchemy",
    "alembic",
)
"""gRPC and metrics serve a running engine; aiohttp, httpx, websockets and cryptography are the
venues' and the webhooks' clients and the keystore; SQLAlchemy and alembic the SQL stores (a
backtest keeps its state in memory unless ``--store`` is given)."""

PROBE = """
import json, sys
from entrypoints.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _trades(path: Path) -> Path:
    rows = [
        spot_trade(i + 1, f"{40_000 + 400 * math.sin(i / 30):.2f}", "0.01500000", T0 + i * 100)
        for i in range(2_000)
    ]
    return write(path, rows)


def test_a_backtest_imports_neither_the_other_commands_nor_the_network_clients(tmp_path: Path) -> None:
    data = _trades(tmp_path / "BTCUSDT-trades-2024-01.csv")
    argv = ["backtest", "--data", str(data), "--strategy", "sma_crossover", "--param", "fast=5",
            "--param", "slow=20", "--quantity", "0.01", "--no-progress",
            "--json", str(tmp_path / "out.json")]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["code"] == 0, done.stdout
    assert json.loads((tmp_path / "out.json").read_text())["fills"] > 0  # the run itself did happen
    modules = set(answer["modules"])
    commands = {name for name in modules if name.startswith("entrypoints.commands.")}
    assert commands == {"entrypoints.commands.backtest"}
    loaded = sorted(name for name in NOT_FOR_A_BACKTEST if name in modules)
    assert loaded == []
