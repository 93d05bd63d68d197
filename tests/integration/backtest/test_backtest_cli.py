"""``tradeplane backtest`` end to end on small Binance-layout files: results, report, sweeps, bad input."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import BacktestError, BacktestSpec
from entrypoints.backtest.sweep import grid, parse_param, run_sweep
from entrypoints.cli import main
from tests.unit.adapters.historical.files import MINUTE, T0, kline, spot_trade, write


def _wave_klines(path: Path, bars: int = 3000) -> Path:
    """A price that swings (a sine plus a drift): an SMA crossover trades on it."""
    rows = []
    for i in range(bars):
        mid = 40_000 + 800 * math.sin(i / 90) + i * 0.2
        open_, close = round(mid, 2), round(mid + 3 * math.sin(i / 7), 2)
        high, low = max(open_, close) + 5, min(open_, close) - 5
        rows.append(kline(T0 + i * MINUTE, f"{open_:.2f},{high:.2f},{low:.2f},{close:.2f}", "12.5"))
    return write(path, rows)


def _wave_trades(path: Path, count: int = 20_000) -> Path:
    rows = []
    for i in range(count):
        price = 40_000 + 400 * math.sin(i / 300)
        rows.append(
            spot_trade(i + 1, f"{price:.2f}", "0.01500000", T0 + i * 100, "True" if i % 2 else "False")
        )
    return write(path, rows)


@pytest.fixture(scope="module")
def klines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _wave_klines(tmp_path_factory.mktemp("data") / "BTCUSDT-1m-2024-01.csv")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_a_run_prints_metrics_writes_json_and_a_report(
    klines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["backtest", "--data", str(klines), "--strategy", "sma_crossover", "--param", "fast=10",
                 "--param", "slow=40", "--capital", "10000", "--fees-bps", "5", "--no-progress",
                 "--json", str(tmp_path / "result.json"), "--report", str(tmp_path / "report")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Sharpe ratio" in out
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["events"] == 3000
    assert result["params"] == {"fast": "10", "slow": "40", "source": "bar"}
    assert result["fills"] >= 10
    assert result["fills"] == result["orders"]
    assert result["metrics"]["trade_count"] >= 5
    assert _png_size(tmp_path / "report" / "equity.png") == (1200, 700)
    assert _png_size(tmp_path / "report" / "price.png") == (1200, 600)
    page = (tmp_path / "report" / "report.html").read_text()
    assert "data:image/png;base64," in page
    assert "Sharpe" in page


def test_the_same_run_twice_gives_the_same_fills_and_metrics(klines: Path) -> None:
    spec = BacktestSpec(data=(str(klines),), strategy="sma_crossover", params={"fast": "10", "slow": "40"})
    first, second = run_backtest(spec), run_backtest(spec)
    assert first.result.fills == second.result.fills
    assert first.result.equity_curve == second.result.equity_curve
    assert first.metrics.as_dict() == second.metrics.as_dict()


def test_trades_drive_the_strategy_on_trade_history(tmp_path: Path) -> None:
    data = _wave_trades(tmp_path / "BTCUSDT-trades-2024-01.csv")
    outcome = run_backtest(
        BacktestSpec(data=(str(data),), strategy="sma_crossover", params={"fast": "20", "slow": "200"})
    )
    assert outcome.result.events == 20_000
    assert outcome.result.orders > 0
    assert len(outcome.result.fills) == outcome.result.orders  # every order filled at the last trade


def test_a_sweep_is_deterministic_across_processes(klines: Path) -> None:
    base = BacktestSpec(data=(str(klines),), strategy="sma_crossover")
    specs = [replace(base, params=p) for p in grid(["fast=5..15:5", "slow=40,60"])]
    assert [s.params for s in specs] == [
        {"fast": "5", "slow": "40"}, {"fast": "5", "slow": "60"}, {"fast": "10", "slow": "40"},
        {"fast": "10", "slow": "60"}, {"fast": "15", "slow": "40"}, {"fast": "15", "slow": "60"},
    ]  # fmt: skip
    parallel, failures = run_sweep(specs, jobs=2)
    sequential, _ = run_sweep(specs, jobs=1)
    assert failures == []
    assert [o.metrics.as_dict() for o in parallel] == [o.metrics.as_dict() for o in sequential]


def test_a_sweep_on_the_command_line_ranks_its_runs(
    klines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["backtest", "--data", str(klines), "--strategy", "sma_crossover", "--param", "fast=5..10:5",
                 "--param", "slow=40", "--rank-by", "total_return", "--jobs", "2",
                 "--json", str(tmp_path / "sweep.json")])  # fmt: skip
    assert code == 0
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    returns = [float(run["metrics"]["total_return"]) for run in sweep["runs"]]
    assert len(returns) == 2
    assert returns == sorted(returns, reverse=True)
    assert "rank" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast", "expected NAME=VALUE"),
        ("fast=", "expected NAME=VALUE"),
        ("fast=10..5:1", "FROM <= TO"),
        ("fast=1..5:0", "positive STEP"),
        ("fast=a..b", "must be numbers"),
        ("fast=1..100000:1", "at most 10000"),
    ],
)
def test_a_bad_parameter_is_named(text: str, message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        parse_param(text)


def test_bad_input_is_a_sentence_and_exit_code_2(
    klines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "BTCUSDT-1m-2024-02.csv"
    empty.write_text("")
    nan = write(tmp_path / "BTCUSDT-1m-2024-03.csv", [kline(T0, "NaN,1,1,1")])
    unsorted = write(tmp_path / "BTCUSDT-1m-2024-04.csv",
                     [kline(T0 + MINUTE, "1,1,1,1"), kline(T0, "1,1,1,1")])  # fmt: skip
    eth = write(tmp_path / "ETHUSDT-1m-2024-01.csv", [kline(T0, "1,1,1,1")])
    trades = write(tmp_path / "BTCUSDT-trades-2024-01.csv", [spot_trade(1, "1", "1", T0)])
    cases = [
        (["--data", str(tmp_path / "nope.csv")], "no such file"),
        (["--data", str(empty)], "empty"),
        (["--data", str(nan)], "line 1"),
        (["--data", str(unsorted)], "line 2"),
        (["--data", str(klines), "--param", "fast=50", "--param", "slow=10"], "fast"),
        (["--data", str(klines), "--capital", "-5"], "--capital"),
        (["--data", str(klines), "--param", "speed=3"], "speed"),
        (["--data", str(klines), str(eth)], "holds ETHUSDT, not BTCUSDT.BINANCE"),
        (["--data", str(klines), str(klines)], "given more than once"),
        (["--data", str(klines), str(trades)], "trades and klines"),
        (["--data", str(klines), "--instrument", "foo"], "--instrument"),
        (["--data", str(klines), "--instrument", "ETHUSDT.BINANCE"], "holds BTCUSDT"),
        (["--data", str(klines), "--jobs", "0"], "--jobs"),
        (["--data", str(klines), "--report", str(klines)], "not a folder"),
        (["--data", str(klines), "--json", str(tmp_path / "nowhere" / "r.json")], "does not exist"),
        (["--data", str(klines), "--capital", "1e30"], "out of range"),
        (["--data", str(klines), "--param", "fast=0..1E+999999:1E-999999"], "too many values"),
        (
            ["--data", str(klines), "--param", "fast=1..1000:1", "--param", "slow=1..1000:1"],
            "at most 100,000",
        ),
    ]
    for args, message in cases:
        code = main(["backtest", "--strategy", "sma_crossover", "--no-progress", *args])
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert message in err, (args, err)
        assert "Traceback" not in err
    code = main(["backtest", "--strategy", "moon_phase", "--data", str(klines), "--no-progress"])
    assert code == 2
    assert "moon_phase" in capsys.readouterr().err


def test_skip_bad_rows_counts_them_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "BTCUSDT-1m-2024-05.csv"
    good = _wave_klines(tmp_path / "BTCUSDT-1m-2024-06.csv", bars=200).read_text().splitlines()
    write(data, [*good[:100], kline(T0 + 100 * MINUTE, "NaN,1,1,1"), *good[100:]])
    code = main(
        ["backtest", "--data", str(data), "--strategy", "sma_crossover", "--skip-bad-rows", "--no-progress"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "skipped 1 malformed row(s)" in out


def _config(tmp_path: Path, storage: str) -> Path:
    path = tmp_path / "tradeplane.toml"
    path.write_text(
        '[[instruments]]\nid = "BTCUSDT.BINANCE"\nbase = "BTC"\nquote = "USDT"\n'
        'price_tick = "0.01"\nlot_size = "0.00001"\n\n' + storage
    )
    return path


def test_stored_runs_are_listed_newest_first(
    klines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, f'[storage]\ndata_dir = "{tmp_path / "state"}"\n'))
    run = ["backtest", "--data", str(klines), "--strategy", "sma_crossover", "--no-progress",
           "--config", config, "--store"]  # fmt: skip

    assert main([*run, "--param", "fast=10", "--param", "slow=40"]) == 0
    single = capsys.readouterr().out
    assert main([*run, "--param", "fast=5,15", "--param", "slow=60", "--jobs", "1"]) == 0
    sweep = capsys.readouterr().out
    assert main(["backtest", "--list", "--config", config]) == 0
    listed = capsys.readouterr().out
    assert main(["backtest", "--list", "--config", config, "--limit", "1"]) == 0
    newest = capsys.readouterr().out

    single_id = single.split("stored as run ")[1].split()[0]
    sweep_ids = [line.split()[-1] for line in sweep.splitlines() if "slow=60" in line]
    assert len(sweep_ids) == 2
    assert (tmp_path / "state" / "tradeplane.db").is_file()
    rows = listed.splitlines()[1:]
    assert [row.split()[0] for row in rows][-1] == single_id
    assert set(sweep_ids) == {row.split()[0] for row in rows[:2]}
    assert "fast=10 slow=40 source=bar" in rows[-1]
    assert "sma_crossover" in rows[-1]
    assert "BTCUSDT.BINANCE" in rows[-1]
    assert len(newest.splitlines()) == 2


def test_store_defaults_to_the_per_user_data_directory(
    klines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    user_data = tmp_path / "xdg" / "tradeplane"
    assert main(["backtest", "--list"]) == 0
    assert "no stored backtest runs" in capsys.readouterr().out
    assert not user_data.exists()  # listing creates nothing

    code = main(
        ["backtest", "--data", str(klines), "--strategy", "sma_crossover", "--no-progress", "--store"]
    )

    assert code == 0
    assert "stored as run" in capsys.readouterr().out
    assert (user_data / "tradeplane.db").is_file()  # where `run` keeps its state, whatever the folder
    assert not (tmp_path / "data").exists()
    assert main(["backtest", "--list", "--strategy", "rsi_mean_reversion"]) == 0
    assert "no stored backtest runs of rsi_mean_reversion" in capsys.readouterr().out


def test_data_and_strategy_are_needed_unless_listing(
    klines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", "--strategy", "sma_crossover"]) == 2
    assert "--data must be given" in capsys.readouterr().err
    assert main(["backtest", "--data", str(klines)]) == 2
    assert "--strategy must be given" in capsys.readouterr().err
    memory = str(_config(tmp_path, '[storage]\nkind = "memory"\n'))
    code = main(
        ["backtest", "--data", str(klines), "--strategy", "sma_crossover", "--store", "--config", memory]
    )
    assert code == 2
    assert "keeps nothing" in capsys.readouterr().err
