"""``tradeplane backtest --config FILE`` without ``--strategy``: every configured strategy on the
merged history of its instruments (several venues), one engine, one account."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from adapters.historical import ReadStats
from application.backtest import BacktestResult
from domain.market_data import MarketEvent, TradeTick
from domain.orders import Fill
from entrypoints.backtest.portfolio import PortfolioOutcome, run_portfolio
from entrypoints.backtest.portfolio_history import open_files
from entrypoints.backtest.portfolio_spec import PortfolioSpec
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import BacktestError, BacktestSpec
from entrypoints.cli import main
from tests.integration.backtest.portfolio_files import (
    BINANCE,
    COINBASE,
    TRADES,
    config_text,
    strategy_table,
    two_strategies,
    wave_trades,
)

if TYPE_CHECKING:
    from entrypoints.container import App


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each instrument's trades; Coinbase's start 50 ms later and swing out of phase."""
    folder = tmp_path_factory.mktemp("history")
    return {
        BINANCE: wave_trades(folder / "BTCUSDT-trades-2024-01.csv"),
        COINBASE: wave_trades(folder / "coinbase-btc-usdt.csv", phase=1.0, offset_ms=50),
    }


def _spec(config: Path, files: dict[str, Path], **params: str) -> PortfolioSpec:
    return PortfolioSpec(
        config=str(config), data={key: (str(path),) for key, path in files.items()}, params=params
    )


def _fills(fills: list[Fill], instrument: str) -> list[tuple[object, ...]]:
    return [
        (f.ts_event, f.side, f.price, f.quantity, f.fee) for f in fills if str(f.instrument_id) == instrument
    ]


def _alone(path: Path, instrument: str, *, fast: str, slow: str, quantity: str) -> BacktestResult:
    """The strategy run alone on one instrument by the single-strategy form, with the same fees."""
    spec = BacktestSpec(
        data=(str(path),),
        instrument=instrument,
        strategy="sma_crossover",
        params={"fast": fast, "slow": slow},
        quantity=Decimal(quantity),
        fraction=None,
        fees_bps=Decimal(10),
    )
    return run_backtest(spec).result


def test_the_instruments_events_are_merged_in_time_ties_in_instrument_order(
    files: dict[str, Path], tmp_path: Path
) -> None:
    same_time = {BINANCE: files[BINANCE], COINBASE: wave_trades(tmp_path / "cb.csv", phase=1.0)}
    stats: list[ReadStats] = []
    history = open_files(
        [COINBASE, BINANCE], {k: (str(v),) for k, v in same_time.items()}, skip_bad_rows=False, stats=stats
    )
    events = list(history.events)
    assert len(events) == 2 * TRADES
    times = [event.ts_event for event in events]
    assert times == sorted(times)
    # Both files have a trade at every instant: the instrument given first comes first.
    assert [str(e.instrument_id) for e in events[:4]] == [COINBASE, BINANCE, COINBASE, BINANCE]


def test_each_instrument_fills_as_its_strategy_alone_and_the_equity_is_the_sum(
    files: dict[str, Path], tmp_path: Path
) -> None:
    outcome = run_portfolio(_spec(two_strategies(tmp_path), files))
    binance = _alone(files[BINANCE], BINANCE, fast="20", slow="100", quantity="0.1")
    coinbase = _alone(files[COINBASE], COINBASE, fast="30", slow="120", quantity="0.2")
    fills = outcome.result.fills
    assert _fills(fills, BINANCE) == _fills(binance.fills, BINANCE) != []
    assert _fills(fills, COINBASE) == _fills(coinbase.fills, COINBASE) != []
    assert len(fills) == len(binance.fills) + len(coinbase.fills)
    gained = outcome.result.final_equity - Decimal(100_000)
    assert gained == (binance.final_equity - Decimal(10_000)) + (coinbase.final_equity - Decimal(10_000))
    assert outcome.metrics.starting_capital == Decimal(100_000)
    assert outcome.metrics.final_equity == outcome.result.final_equity
    by_strategy = {line.name: line for line in outcome.by_strategy}
    by_instrument = {line.name: line for line in outcome.by_instrument}
    assert by_strategy["sma-binance"].fills == by_instrument[BINANCE].fills == len(binance.fills)
    assert (
        by_strategy["sma-coinbase"].fees == by_instrument[COINBASE].fees == sum(f.fee for f in coinbase.fills)
    )
    assert sum(line.net_pnl for line in outcome.by_strategy) == sum(t.net_pnl for t in outcome.metrics.trades)


def test_the_same_inputs_give_the_same_run(files: dict[str, Path], tmp_path: Path) -> None:
    config = two_strategies(tmp_path)
    first, second = run_portfolio(_spec(config, files)), run_portfolio(_spec(config, files))
    assert first.result.fills == second.result.fills
    assert first.result.equity_curve == second.result.equity_curve
    assert first.by_strategy == second.by_strategy


def test_a_strategy_reading_two_instruments_gets_both_in_time_order(
    files: dict[str, Path], tmp_path: Path
) -> None:
    config = tmp_path / "pair.toml"
    config.write_text(
        config_text([BINANCE, COINBASE], [strategy_table("both", [BINANCE, COINBASE], fast=20, slow=100)])
    )
    seen: list[MarketEvent] = []

    def watch(app: App) -> None:
        app.bus.subscribe(TradeTick, seen.append)

    outcome = run_portfolio(_spec(config, files), attach=watch)
    assert len(seen) == 2 * TRADES
    assert [e.ts_event for e in seen] == sorted(e.ts_event for e in seen)
    assert {str(e.instrument_id) for e in seen} == {BINANCE, COINBASE}
    fills = outcome.result.fills
    assert {str(f.strategy_id) for f in fills} == {"both"}
    # The strategy keeps each instrument's indicators apart: interleaving changes no instrument's fills.
    binance = _alone(files[BINANCE], BINANCE, fast="20", slow="100", quantity="0.1")
    coinbase = _alone(files[COINBASE], COINBASE, fast="20", slow="100", quantity="0.1")
    assert _fills(fills, BINANCE) == _fills(binance.fills, BINANCE) != []
    assert _fills(fills, COINBASE) == _fills(coinbase.fills, COINBASE) != []


def test_an_instrument_without_history_is_refused_by_name(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = two_strategies(tmp_path)
    code = main(
        ["backtest", "--config", str(config), "--data", f"{BINANCE}={files[BINANCE]}", "--no-progress"]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert f"no history for {COINBASE}" in error
    assert "sma-coinbase" in error
    with pytest.raises(BacktestError, match=COINBASE):
        run_portfolio(PortfolioSpec(config=str(config), data={BINANCE: (str(files[BINANCE]),)}))


def test_the_command_prints_writes_json_and_a_report(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = two_strategies(tmp_path)
    out, report = tmp_path / "result.json", tmp_path / "report"
    code = main(["backtest", "--config", str(config), "--data", f"{BINANCE}={files[BINANCE]}",
                 "--data", f"{COINBASE}={files[COINBASE]}", "--no-progress", "--json", str(out),
                 "--report", str(report)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0, text
    assert "sma-binance (sma_crossover fast=20 slow=100 on BTCUSDT.BINANCE)" in text
    assert "By strategy" in text
    assert "By instrument" in text
    document = json.loads(out.read_text())
    assert document["config"] == str(config)
    assert [s["id"] for s in document["strategies"]] == ["sma-binance", "sma-coinbase"]
    assert [line["name"] for line in document["by_instrument"]] == [BINANCE, COINBASE]
    assert document["events"] == 2 * TRADES
    assert document["fills"] == sum(line["fills"] for line in document["by_instrument"]) > 0
    page = (report / "report.html").read_text()
    assert "By strategy" in page
    assert "sma-coinbase" in page
    assert f"{BINANCE} (the first of 2 instruments): price and" in page  # the chart says whose prices
    assert json.loads((report / "result.json").read_text())["by_instrument"][1]["instrument"] == COINBASE
    assert (report / "price.png").stat().st_size > 0


def test_options_of_the_single_strategy_form_are_refused(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = two_strategies(tmp_path)
    data = ["--data", f"{BINANCE}={files[BINANCE]}", f"{COINBASE}={files[COINBASE]}"]
    assert main(["backtest", "--config", str(config), *data, "--capital", "5000"]) == 2
    assert "--capital" in capsys.readouterr().err
    assert main(["backtest", "--config", str(config), "--data", str(files[BINANCE])]) == 2
    assert "SYMBOL.VENUE=FILES" in capsys.readouterr().err
    assert main(["backtest", "--config", str(config), *data, "--param", "fast=10"]) == 2
    assert "sma-binance, sma-coinbase" in capsys.readouterr().err
    assert main(["backtest", "--config", str(config), *data, "--param", "nope.fast=10"]) == 2
    assert "no enabled strategy 'nope'" in capsys.readouterr().err
    assert main(["backtest", "--config", str(config), *data, "--param", "sma-binance.fast=500"]) == 2
    assert "strategy sma-binance" in capsys.readouterr().err


def test_a_sweep_over_one_strategys_parameter(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = two_strategies(tmp_path)
    out = tmp_path / "sweep.json"
    code = main(["backtest", "--config", str(config), "--data", f"{BINANCE}={files[BINANCE]}",
                 "--data", f"{COINBASE}={files[COINBASE]}", "--param", "sma-binance.fast=10..30:10",
                 "--jobs", "2", "--no-progress", "--rank-by", "net_profit", "--json", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    runs = json.loads(out.read_text())["runs"]
    assert sorted(run["params"]["sma-binance.fast"] for run in runs) == ["10", "20", "30"]
    profits = [Decimal(str(run["metrics"]["net_profit"])) for run in runs]
    assert profits == sorted(profits, reverse=True)  # ranked
    coinbase_lines = {json.dumps(run["by_strategy"][1]) for run in runs}
    assert len(coinbase_lines) == 1  # the other strategy is the same in every run
    assert len({json.dumps(run["by_strategy"][0]) for run in runs}) == 3  # the swept one differs
    fast = {run["params"]["sma-binance.fast"]: run["strategies"][0]["params"]["fast"] for run in runs}
    assert fast == {"10": "10", "20": "20", "30": "30"}


def _outcome_fills(outcome: PortfolioOutcome, strategy: str) -> int:
    return next(line.fills for line in outcome.by_strategy if line.name == strategy)


def test_overridden_parameters_apply_to_their_strategy_only(files: dict[str, Path], tmp_path: Path) -> None:
    config = two_strategies(tmp_path)
    base = run_portfolio(_spec(config, files))
    changed = run_portfolio(_spec(config, files, **{"sma-binance.fast": "5", "sma-binance.slow": "300"}))
    assert _outcome_fills(changed, "sma-coinbase") == _outcome_fills(base, "sma-coinbase")
    assert _fills(changed.result.fills, COINBASE) == _fills(base.result.fills, COINBASE)
    assert _fills(changed.result.fills, BINANCE) != _fills(base.result.fills, BINANCE)


def test_the_paper_brokers_fees_of_each_venue_apply(files: dict[str, Path], tmp_path: Path) -> None:
    config = two_strategies(tmp_path)
    venue_rates = '[broker.venues.COINBASE]\nmaker_fee_bps = "50"\ntaker_fee_bps = "50"\n'
    config.write_text(config.read_text() + "\n" + venue_rates)
    fills = run_portfolio(_spec(config, files)).result.fills
    rates = {
        instrument: {f.fee / (f.price * f.quantity) for f in fills if str(f.instrument_id) == instrument}
        for instrument in (BINANCE, COINBASE)
    }
    assert rates == {BINANCE: {Decimal("0.001")}, COINBASE: {Decimal("0.005")}}


def test_lead_lag_reads_both_venues_and_trades_the_follower(files: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "lead_lag.toml"
    lead_lag = (
        '[[strategies]]\nid = "lag"\nkind = "lead_lag"\n'
        'instruments = ["BTCUSDT.BINANCE", "BTC-USDT.COINBASE"]\n'
        'params = { leader = "BTCUSDT.BINANCE", threshold_bps = 5, lookback = 20, source = "trade" }\n'
        'sizing = { kind = "fixed_quantity", quantity = "0.1" }\n'
    )
    config.write_text(config_text([BINANCE, COINBASE], [lead_lag]))
    first, second = run_portfolio(_spec(config, files)), run_portfolio(_spec(config, files))
    fills = first.result.fills
    assert fills
    assert {str(f.instrument_id) for f in fills} == {COINBASE}  # the follower only
    assert fills == second.result.fills
