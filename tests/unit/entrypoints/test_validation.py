"""The whole configuration is checked offline before anything is opened, created or connected,
and a mistake made in the environment is blamed on the variable that made it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from entrypoints.cli import build_parser, main
from entrypoints.commands.demo import demo_settings, preflight
from entrypoints.config import ConfigError, example_config_path, load_settings, parse_settings
from entrypoints.validation import load_validated, validate
from tests.unit.entrypoints.example_config import EXAMPLE_DATA_DIR_LINE

EXAMPLE = example_config_path().read_text()
A_PYTHON_LIST = re.compile(r"\[\s*'")


def config_in(tmp_path: Path, *, replace: tuple[str, str] | None = None) -> Path:
    """The shipped example keeping its state under ``tmp_path/data``, with one text replaced."""
    text = EXAMPLE.replace(EXAMPLE_DATA_DIR_LINE, f'data_dir = "{tmp_path / "data"}"')
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def settings_with(**sections: Any) -> dict[str, Any]:
    """A valid paper configuration, in memory, with ``sections`` replaced."""
    raw: dict[str, Any] = {
        "instruments": [
            {
                "id": "BTCUSDT.BINANCE",
                "base": "BTC",
                "quote": "USDT",
                "price_tick": "0.01",
                "lot_size": "0.001",
            }
        ],
        "feeds": {"binance": {"instrument_ids": ["BTCUSDT.BINANCE"]}},
        "broker": {"kind": "paper", "taker_fee_bps": "5"},
        "strategies": [
            {
                "id": "sma",
                "kind": "sma_crossover",
                "instruments": ["BTCUSDT.BINANCE"],
                "params": {"fast": 5, "slow": 20},
            }
        ],
        "storage": {"kind": "memory"},
    }
    raw.update(sections)
    return raw


@pytest.fixture(autouse=True)
def _no_overrides_from_the_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TRADEPLANE_"):
            monkeypatch.delenv(name)


def test_the_shipped_example_and_the_demo_are_valid() -> None:
    validate(load_settings(environ={}))
    validate(demo_settings("ws://127.0.0.1:1", "http://127.0.0.1:1"))
    validate(demo_settings("ws://127.0.0.1:1", "http://127.0.0.1:1", trading=("http://h:1", "ws://h:2")))


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"broker": {"kind": "paper", "taker_fee_bsp": "5"}}, "taker_fee_bsp is not a paper broker setting"),
        ({"broker": {"kind": "paper", "taker_fee_bps": "-1"}}, "taker_fee_bps"),
        ({"broker": {"kind": "papier"}}, "broker kind 'papier' is unknown; known: paper, binance"),
        ({"broker": {"kind": "binance", "rest_ur": "http://h"}}, "rest_ur is not a binance broker setting"),
        ({"broker": {"kind": "binance", "environment": "live"}}, "live_trading = true"),
        ({"broker": {"kind": "binance", "reconcile_interval_s": 0}}, "reconcile_interval_s"),
        ({"feeds": {"binance": {"instrument_ids": ["BTCUSDT.BINANCE"], "ws_ur": "x"}}}, "ws_ur"),
        ({"feeds": {"binance": {"instrument_ids": ["BTCUSDT.BINANCE"], "ws_url": "ftp://x"}}}, "ws_url"),
        ({"feeds": {"bitstamp": {}}}, "feed kind 'bitstamp' is unknown; known: binance, coinbase, kraken"),
        ({"feeds": {"binance": {"instrument_ids": ["btc"]}}}, "[feeds.binance]"),
        (
            {
                "strategies": [
                    {
                        "id": "s",
                        "kind": "sma_crossover",
                        "instruments": ["BTCUSDT.BINANCE"],
                        "params": {"fast": 50, "slow": 10},
                    }
                ]
            },
            "strategy s",
        ),
        (
            {"strategies": [{"id": "s", "kind": "nope", "instruments": ["BTCUSDT.BINANCE"]}]},
            "strategy s",
        ),
        (
            {
                "strategies": [
                    {
                        "id": "s",
                        "kind": "sma_crossover",
                        "instruments": ["ETHUSDT.BINANCE"],
                        "params": {"fast": 5, "slow": 20},
                    }
                ]
            },
            "ETHUSDT.BINANCE",
        ),
        (
            {
                "strategies": [
                    {
                        "id": "s",
                        "kind": "sma_crossover",
                        "instruments": ["BTCUSDT.BINANCE"],
                        "params": {"fast": 5, "slow": 20},
                        "sizing": {"kind": "fixed_quantity", "quantity": "-1"},
                    }
                ]
            },
            "sizing fixed_quantity",
        ),
        (
            {
                "strategies": [
                    {
                        "id": "s",
                        "kind": "sma_crossover",
                        "instruments": ["BTCUSDT.BINANCE"],
                        "params": {"fast": 5, "slow": 20},
                        "sizing": {"kind": "martingale"},
                    }
                ]
            },
            "sizing kind 'martingale' is unknown; known: fixed_fraction, fixed_quantity, volatility_target",
        ),
    ],
)
def test_every_part_is_checked_offline(sections: dict[str, Any], expected: str) -> None:
    settings = parse_settings(settings_with(**sections), source="<test>")
    with pytest.raises(ConfigError) as caught:
        validate(settings)
    assert expected in str(caught.value)
    assert not A_PYTHON_LIST.search(str(caught.value)), caught.value


@pytest.mark.parametrize(
    "options",
    [{"kind": "paper", "taker_fee_bsp": "5"}, {"kind": "binance", "rest_ur": "http://h"}],
)
def test_the_known_options_read_as_words(options: dict[str, Any]) -> None:
    settings = parse_settings(settings_with(broker=options), source="<test>")
    with pytest.raises(ConfigError) as caught:
        validate(settings)
    message = str(caught.value)
    assert re.search(r"known: [a-z_]+(, [a-z_]+)+", message), message
    assert "[" not in message.replace("[broker]", ""), message


def test_a_typo_in_the_broker_creates_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_in(tmp_path, replace=('taker_fee_bps = "5"', 'taker_fee_bsp = "5"'))
    assert main(["run", "--config", str(config), "--no-grpc", "--duration", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "taker_fee_bsp is not a paper broker setting" in err
    assert "known: account, fee_decimals, last_trade_liquidity, latency_ns, maker_fee_bps" in err
    assert not (tmp_path / "data").exists()


def test_a_broker_kind_from_the_environment_is_blamed_on_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_in(tmp_path)
    monkeypatch.setenv("TRADEPLANE_BROKER__KIND", "binance")
    assert main(["run", "--config", str(config), "--no-grpc", "--duration", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "TRADEPLANE_BROKER__KIND" in err
    assert str(config) not in err
    assert not (tmp_path / "data").exists()


def test_migrate_checks_the_whole_configuration_before_creating_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_in(tmp_path, replace=('kind = "sma_crossover"', 'kind = "sma_crossing"'))
    assert main(["migrate", "--config", str(config)]) == 2
    assert "strategy sma-btc" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_a_stored_backtest_checks_its_configuration_before_opening_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_in(tmp_path, replace=("latency_ns = 0", "latency_ms = 0"))
    assert main(["backtest", "--config", str(config), "--list"]) == 2
    assert "latency_ms is not a paper broker setting" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TRADEPLANE_ENGINE__MARK_INTERVAL_MS", "0", "mark_interval_ms must be a positive integer"),
        ("TRADEPLANE_ENGINE__NAMEE", "x", "unknown key(s) namee"),
        ("TRADEPLANE_BROKER__KIND", "papier", "broker kind 'papier' is unknown"),
        ("TRADEPLANE_BROKER__KIND", "binance", "is not a binance broker setting"),
        ("TRADEPLANE_FEEDS__BINANCE__WS_URL", "ftp://x", "ws_url"),
        ("TRADEPLANE_RISK__MAX_ORDER_QUANTITY", "-1", "max_order_quantity"),
    ],
)
def test_a_bad_override_names_its_variable_not_the_file(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    config = config_in(tmp_path)
    environ = {"TRADEPLANE_LOGGING__LEVEL": "INFO", variable: value, "TRADEPLANE_ENGINE__NAME": "ok"}
    with pytest.raises(ConfigError) as caught:
        load_validated(config, environ)
    message = str(caught.value)
    assert message.startswith(f"environment variable {variable}: "), message
    assert expected in message
    assert str(config) not in message
    assert "TRADEPLANE_LOGGING__LEVEL" not in message


def test_a_mistake_in_the_file_is_still_the_files(tmp_path: Path) -> None:
    config = config_in(tmp_path, replace=("[engine]\n", "[engine]\ncolour = 1\n"))
    with pytest.raises(ConfigError) as caught:
        load_validated(config, {"TRADEPLANE_ENGINE__NAME": "other"})
    assert "environment" not in str(caught.value)
    assert "unknown key(s) colour" in str(caught.value)


@pytest.mark.parametrize("broker", ["paper", "binance"])
def test_the_demo_checks_itself_before_starting_the_simulator(broker: str) -> None:
    args = build_parser().parse_args(["demo", "--broker", broker, "--memory", "--grpc-listen", "127.0.0.1:0"])
    grpc, token = preflight(args, data_dir=None, binance=broker == "binance")
    assert grpc is not None
    assert grpc.listen == "127.0.0.1:0"
    assert token is None
