"""What ``tradeplane backtest`` shows a trader: progress, the summary's numbers, sweeps that skip
combinations the strategy refuses, and risk refusals counted by reason."""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path

import pytest

from application.backtest import BacktestProgress
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import BacktestSpec, check_strategy
from entrypoints.backtest.sweep import grid
from entrypoints.cli import main
from tests.unit.adapters.historical.files import MINUTE, T0, kline, write

README = Path(__file__).parents[3] / "README.md"
CONTROL = re.compile(r"[\r\x1b]")


@pytest.fixture(scope="module")
def klines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = []
    for i in range(2000):
        mid = 40_000 + 800 * math.sin(i / 90)
        close = round(mid + 3 * math.sin(i / 7), 2)
        rows.append(
            kline(
                T0 + i * MINUTE,
                f"{mid:.2f},{max(mid, close) + 5:.2f},{min(mid, close) - 5:.2f},{close:.2f}",
                "12.5",
            )
        )
    return write(tmp_path_factory.mktemp("data") / "BTCUSDT-1m-2024-01.csv", rows)


def _run(klines: Path, *extra: str) -> list[str]:
    return ["backtest", "--data", str(klines), "--strategy", "sma_crossover", *extra]


@pytest.mark.parametrize(("events", "every"), [(2000, 100), (2000, 1), (2000, 2), (2000, 3), (2000, 5000)])
def test_the_final_progress_is_reported_once(klines: Path, events: int, every: int) -> None:
    seen: list[BacktestProgress] = []
    spec = BacktestSpec(data=(str(klines),), strategy="sma_crossover", params={"fast": "10", "slow": "40"})
    run_backtest(spec, progress=seen.append, progress_every=every)
    counts = [report.events for report in seen]
    assert counts == [*range(every, events, every), events]
    assert [report.done for report in seen] == [False] * (len(seen) - 1) + [True]


def test_progress_off_a_terminal_is_plain_lines_with_percent_rate_and_eta(
    klines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_run(klines, "--param", "fast=10", "--param", "slow=40")) == 0
    err = capsys.readouterr().err
    assert not CONTROL.search(err), repr(err)
    lines = [line for line in err.splitlines() if " events/s" in line]
    assert 1 <= len(lines) <= 11, err
    assert lines[-1].startswith("100 %  2,000 of 2,000 events  ")
    assert "ETA" in lines[-1]
    assert re.search(r"at 2024-01-0\d \d\d:\d\d UTC$", lines[-1]), lines


def test_a_sweep_shows_its_runs_progress(klines: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_run(klines, "--param", "fast=5,10", "--param", "slow=40", "--jobs", "1")) == 0
    err = capsys.readouterr().err
    assert not CONTROL.search(err), repr(err)
    assert re.search(r"^50 %  run 1/2  .* runs/s  ETA ", err, re.MULTILINE), err
    assert re.search(r"^100 %  run 2/2  ", err, re.MULTILINE), err


def test_the_summary_prints_parameters_as_typed_and_counts_with_separators(
    klines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_run(klines, "--param", "fast=10", "--param", "slow=40", "--no-progress")) == 0
    summary = capsys.readouterr().out.splitlines()[0]
    assert summary.startswith("sma_crossover fast=10 slow=40 source=bar on BTCUSDT.BINANCE: 2,000 events in ")
    assert "{" not in summary
    counts = re.findall(r"(\S+) (?:signals|orders|fills)", summary)
    assert len(counts) == 3
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", count) for count in counts), summary


def test_a_sweep_skips_the_combinations_the_strategy_refuses_in_one_line(
    klines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_run(klines, "--param", "fast=10,40,50", "--param", "slow=40", "--jobs", "1", "--no-progress",
                     "--json", str(tmp_path / "sweep.json")))  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    skipped = [line for line in captured.err.splitlines() if line.startswith("skipped")]
    assert skipped == [
        "skipped 2 of 3 parameter combinations that sma_crossover refuses: fast must be less than slow (2)"
    ]
    assert "failed" not in captured.err
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert [run["params"]["fast"] for run in sweep["runs"]] == ["10"]
    assert [entry["params"] for entry in sweep["skipped"]] == [
        {"fast": "40", "slow": "40"},
        {"fast": "50", "slow": "40"},
    ]


def test_a_grid_with_nothing_runnable_is_refused(klines: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_run(klines, "--param", "fast=40,50", "--param", "slow=40", "--no-progress")) == 2
    assert "no run left: 2 of 2 parameter combinations" in capsys.readouterr().err


def test_the_readme_sweep_example_runs_every_combination() -> None:
    section = README.read_text().split("## Backtesting", 1)[1].split("\n## ", 1)[0]
    commands = section.split("```bash", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    sweeps = [line for line in commands.splitlines() if ".." in line]
    assert sweeps, commands
    for line in sweeps:
        words = shlex.split(line.split("#", 1)[0])
        strategy = words[words.index("--strategy") + 1]
        params = [words[i + 1] for i, word in enumerate(words) if word == "--param"]
        for combination in grid(params):
            check_strategy(strategy, combination)


def test_risk_refusals_are_counted_by_reason_not_printed(
    klines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "risk.toml"
    config.write_text(
        '[[instruments]]\nid = "BTCUSDT.BINANCE"\nbase = "BTC"\nquote = "USDT"\n'
        'price_tick = "0.01"\nlot_size = "0.00001"\n\n[risk]\nmax_order_quantity = "0.01"\n'
    )
    report = tmp_path / "report"
    code = main(_run(klines, "--param", "fast=10", "--param", "slow=40", "--no-progress",
                     "--config", str(config), "--json", str(tmp_path / "result.json"),
                     "--report", str(report)))  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "rejected" not in captured.err
    result = json.loads((tmp_path / "result.json").read_text())
    refusals = result["risk_refusals"]
    assert refusals["total"] > 0
    assert refusals["by_reason"] == {"MAX_ORDER_QUANTITY": refusals["total"]}
    table = captured.out.split("Risk refusals", 1)[1]
    assert re.search(rf"Refused intents\s+{refusals['total']:,}\n", table), table
    assert re.search(rf"MAX_ORDER_QUANTITY\s+{refusals['total']:,}\n", table), table
    page = (report / "report.html").read_text()
    assert "Risk refusals" in page
    assert "MAX_ORDER_QUANTITY" in page
    assert json.loads((report / "result.json").read_text())["risk_refusals"] == refusals
