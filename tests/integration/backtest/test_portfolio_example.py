"""The commands docs/backtesting.md gives for several instruments and strategies run as written."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from entrypoints.cli import main

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "backtesting.md"
EXAMPLE = "docs/examples/portfolio-backtest.toml"


def _documented_commands() -> list[list[str]]:
    """Every bash block of the docs that backtests the example configuration, as argv."""
    commands = []
    for block in DOCS.read_text().split("```bash\n")[1:]:
        text = block.split("```", 1)[0].replace("\\\n", " ")
        if f"--config {EXAMPLE}" in text:
            words = shlex.split(text)
            assert words[:2] == [".venv/bin/tradeplane", "backtest"]
            commands.append(words[1:])
    return commands


def test_the_docs_show_a_run_and_a_sweep_of_the_example() -> None:
    commands = _documented_commands()
    assert len(commands) == 2
    assert "--param" not in commands[0]
    assert "--param" in commands[1]


@pytest.mark.parametrize("index", [0, 1], ids=["run", "sweep"])
def test_a_documented_command_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "result.json"
    command = [*_documented_commands()[index], "--no-progress", "--jobs", "2", "--json", str(out)]
    assert main(command) == 0, capsys.readouterr().err
    document = json.loads(out.read_text())
    runs = document.get("runs", [document])
    assert len(runs) == (1 if index == 0 else 6)
    for run in runs:
        assert [line["name"] for line in run["by_strategy"]] == ["sma-binance", "rsi-coinbase"]
        assert all(line["fills"] > 0 for line in run["by_strategy"])
