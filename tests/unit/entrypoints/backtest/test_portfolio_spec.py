"""The inputs of a backtest of a configuration's strategies: ``--data ID=FILES``, ``--param
STRATEGY.NAME=...``, the instruments read and the engine settings made from the file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.historical import ReadStats
from entrypoints.backtest.portfolio_history import open_files
from entrypoints.backtest.portfolio_spec import (
    PortfolioSpec,
    enabled_strategies,
    instruments_used,
    load_config,
    param_key,
    parse_data_options,
    portfolio_settings,
)
from entrypoints.backtest.spec import BacktestError
from tests.integration.backtest.portfolio_files import BINANCE, COINBASE, config_text, strategy_table
from tests.unit.adapters.historical.files import T0, spot_trade, write

KRAKEN = "BTC-USDT.KRAKEN"


def _touch(folder: Path, *names: str) -> list[Path]:
    paths = [folder / name for name in names]
    for path in paths:
        path.write_text("")
    return paths


def test_data_options_name_each_instruments_files(tmp_path: Path) -> None:
    a1, a2, b = _touch(tmp_path, "BTCUSDT-trades-2024-01.csv", "BTCUSDT-trades-2024-02.csv", "cb.csv")
    data = parse_data_options([[f"{BINANCE}={tmp_path}/BTCUSDT-trades-*.csv"], [f"{COINBASE}={b}"]])
    assert data == {BINANCE: (str(a1), str(a2)), COINBASE: (str(b),)}
    # A shell splits "ID=a b" into words; commas list files too; a second --data of one id adds to it.
    assert parse_data_options([[f"{BINANCE}={a1}", str(a2)]]) == {BINANCE: (str(a1), str(a2))}
    assert parse_data_options([[f"{BINANCE}={a1},{a2}"]]) == {BINANCE: (str(a1), str(a2))}
    assert parse_data_options([[f"{BINANCE}={a1}"], [f"{BINANCE}={a2}"]]) == {BINANCE: (str(a1), str(a2))}


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["cb.csv"], "name the instrument"),
        (["BTCUSDT=cb.csv"], "--data BTCUSDT=cb.csv"),
        ([f"{COINBASE}=missing.csv"], "no such file"),
        ([f"{COINBASE}=nothing-*.csv"], "no file matches"),
        ([f"{COINBASE}="], f"no file given for {COINBASE}"),
    ],
)
def test_data_options_that_cannot_be_read_are_sentences(
    words: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _touch(tmp_path, "cb.csv")
    with pytest.raises(BacktestError, match=message):
        parse_data_options([words])


def _config(tmp_path: Path, *strategies: str, broker: str = "") -> Path:
    path = tmp_path / "config.toml"
    text = config_text([BINANCE, COINBASE, KRAKEN], strategies)
    if broker:
        text = text.replace('maker_fee_bps = "10"', broker)
    path.write_text(text)
    return path


def test_the_instruments_read_follow_the_instruments_table(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        strategy_table("late", [KRAKEN], fast=5, slow=20),
        strategy_table("pair", [COINBASE, BINANCE], fast=5, slow=20),
    )
    settings = load_config(str(path))
    assert instruments_used(enabled_strategies(settings), settings) == (BINANCE, COINBASE, KRAKEN)


def test_param_keys_name_the_strategy(tmp_path: Path) -> None:
    one = enabled_strategies(
        load_config(str(_config(tmp_path, strategy_table("a.b", [BINANCE], fast=5, slow=20))))
    )
    assert param_key("fast", one) == "a.b.fast"
    assert param_key("a.b.fast", one) == "a.b.fast"
    with pytest.raises(BacktestError, match="no enabled strategy 'x'"):
        param_key("x.fast", one)
    two = enabled_strategies(
        load_config(
            str(
                _config(
                    tmp_path,
                    strategy_table("s1", [BINANCE], fast=5, slow=20),
                    strategy_table("s2", [COINBASE], fast=5, slow=20),
                )
            )
        )
    )
    with pytest.raises(BacktestError, match=r"STRATEGY_ID\.fast"):
        param_key("fast", two)


def test_the_engine_runs_the_files_broker_filling_at_the_last_trade(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        strategy_table("s1", [BINANCE], fast=5, slow=20),
        broker='maker_fee_bps = "2"\nslippage_bps = "3"',
    )
    spec = PortfolioSpec(config=str(path), params={"s1.fast": "7"})
    built = portfolio_settings(spec, load_config(str(path)), bar_driven=frozenset({"s1"}))
    assert built.broker.kind == "paper"
    assert built.broker.options["maker_fee_bps"] == "2"
    assert built.broker.options["slippage_bps"] == "3"
    assert built.broker.options["last_trade_liquidity"] is True
    assert built.storage.kind == "memory"
    assert not built.grpc.enabled
    assert built.feeds == ()
    assert dict(built.strategies[0].params) == {"fast": "7", "slow": 20, "source": "bar"}
    assert built.balances == {"USDT": Decimal(100_000)}


def test_a_configuration_trading_elsewhere_than_on_paper_is_refused(tmp_path: Path) -> None:
    path = _config(tmp_path, strategy_table("s1", [BINANCE], fast=5, slow=20))
    path.write_text(path.read_text().replace('kind = "paper"', 'kind = "binance"'))
    with pytest.raises(BacktestError, match='kind = "paper"'):
        portfolio_settings(PortfolioSpec(config=str(path)), load_config(str(path)))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=30).map(sorted),
        min_size=1,
        max_size=3,
    )
)
def test_merged_history_is_in_time_order_ties_in_the_order_of_the_instruments(
    tmp_path_factory: pytest.TempPathFactory, offsets: list[list[int]]
) -> None:
    folder = tmp_path_factory.mktemp("merge")
    ids = [BINANCE, COINBASE, KRAKEN][: len(offsets)]
    data = {}
    for index, (instrument, times) in enumerate(zip(ids, offsets, strict=True)):
        rows = [spot_trade(n + 1, f"{100 + index}.00", "1", T0 + t) for n, t in enumerate(times)]
        data[instrument] = (str(write(folder / f"{index}.csv", rows)),)
    stats: list[ReadStats] = []
    events = list(open_files(ids, data, skip_bad_rows=False, stats=stats).events)
    keys = [(e.ts_event, ids.index(str(e.instrument_id))) for e in events]
    assert keys == sorted(keys)
    assert len(events) == sum(len(times) for times in offsets)


def test_an_instrument_given_by_id_alone_is_refused(tmp_path: Path) -> None:
    path = _config(tmp_path, strategy_table("s1", [COINBASE], fast=5, slow=20))
    text = path.read_text()
    start = text.index(f'id = "{COINBASE}"')
    end = text.index("[[instruments]]", start)
    path.write_text(text[: start + len(f'id = "{COINBASE}"\n')] + text[end:])
    with pytest.raises(BacktestError, match=f"{COINBASE}: a backtest reads no venue"):
        portfolio_settings(PortfolioSpec(config=str(path)), load_config(str(path)))
