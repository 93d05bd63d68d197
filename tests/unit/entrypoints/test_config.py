"""Configuration loading: the shipped example, environment overrides, every kind of bad file, and [grpc]."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from entrypoints.config import (
    ConfigError,
    SizingSettings,
    apply_overrides,
    default_data_dir,
    example_config_path,
    load_settings,
    parse_settings,
)
from entrypoints.container import bootstrap, build_sizer
from entrypoints.grpc.auth import hash_token
from tests.unit.entrypoints.example_config import EXAMPLE_DATA_DIR_LINE, with_grpc_section

EXAMPLE = example_config_path().read_text()
DIGEST = hash_token("a-token-of-sixteen+")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_shipped_example_loads_and_bootstraps_an_engine(tmp_path: Path) -> None:
    settings = load_settings(environ={"TRADEPLANE_STORAGE__DATA_DIR": str(tmp_path)})
    assert settings.storage.kind == "sql"  # it keeps its state, in SQLite files: no server needed
    assert [i.id for i in settings.instruments] == ["BTCUSDT.BINANCE"]
    assert settings.balances == {"USDT": Decimal("10000")}
    assert settings.risk.max_order_quantity == Decimal("0.01")
    assert settings.feeds[0].options["ws_url"] == "wss://stream.binance.com:9443"
    engine = bootstrap(settings)
    try:
        assert [slot.id for slot in engine.strategies.slots] == ["sma-btc"]
        assert [feed.name for feed in engine.ingestion.feeds] == ["binance"]
        assert (tmp_path / "tradeplane.db").exists()
    finally:
        engine.close()


def test_a_configuration_without_storage_keeps_its_state_in_sqlite_files() -> None:
    raw = {"instruments": [{"id": "BTCUSDT.BINANCE", "base": "BTC", "quote": "USDT", "price_tick": "0.01",
                            "lot_size": "0.001"}]}  # fmt: skip
    storage = parse_settings(raw).storage
    assert (storage.kind, storage.data_dir) == ("sql", default_data_dir())  # per user, not per cwd
    assert storage.urls()["trades"] == f"sqlite:///{default_data_dir()}/tradeplane.db"
    assert parse_settings({**raw, "storage": {"kind": "memory"}}).storage.kind == "memory"


def test_the_trades_commit_mode_is_a_storage_setting_checked_when_read() -> None:
    raw = {"instruments": [{"id": "BTCUSDT.BINANCE", "base": "BTC", "quote": "USDT", "price_tick": "0.01",
                            "lot_size": "0.001"}]}  # fmt: skip
    assert parse_settings(raw).storage.trades_commit == "journal"
    for mode in ("journal", "journal+fsync", "sync"):
        assert parse_settings({**raw, "storage": {"trades_commit": mode}}).storage.trades_commit == mode
    refused = r"\[storage\] trades_commit must be one of journal, journal\+fsync, sync"
    for bad in ("fsync", "", "JOURNAL", 1):
        with pytest.raises(ConfigError, match=refused):
            parse_settings({**raw, "storage": {"trades_commit": bad}})
    environ = {"TRADEPLANE_STORAGE__TRADES_COMMIT": "sync", "TRADEPLANE_STORAGE__KIND": "memory"}
    assert load_settings(environ=environ).storage.trades_commit == "sync"


def test_environment_overrides_replace_scalars_and_keep_decimals_exact() -> None:
    settings = load_settings(
        environ={
            "TRADEPLANE_BROKER__TAKER_FEE_BPS": "7.5",
            "TRADEPLANE_FEEDS__BINANCE__WS_URL": "ws://127.0.0.1:9001",
            "TRADEPLANE_RISK__MAX_OPEN_ORDERS": "3",
            "TRADEPLANE_ENGINE__CANCEL_OPEN_ORDERS_ON_STOP": "false",
            "UNRELATED": "x",
            "TRADEPLANE_NOT_A_SECTION__X": "1",
        }
    )
    assert settings.broker.options["taker_fee_bps"] == "7.5"
    assert settings.feeds[0].options["ws_url"] == "ws://127.0.0.1:9001"
    assert settings.risk.max_open_orders == 3
    assert settings.engine.cancel_open_orders_on_stop is False


def test_an_override_into_a_scalar_is_refused_with_its_name() -> None:
    with pytest.raises(ConfigError, match="TRADEPLANE_ENGINE__NAME__X"):
        apply_overrides({"engine": {"name": "x"}}, {"TRADEPLANE_ENGINE__NAME__X": "1"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("this is [not toml", "not valid TOML"),
        (EXAMPLE.replace("[engine]", "[engine]\ncolour = 'red'"), "unknown key.*colour"),
        (EXAMPLE + "\n[surprise]\nx = 1\n", "unknown key.*surprise"),
        (EXAMPLE.replace('price_tick = "0.01"', 'price_tick = "-0.01"'), "price_tick"),
        (EXAMPLE.replace('price_tick = "0.01"', 'price_tick = "nan"'), "price_tick"),
        (EXAMPLE.replace('id = "BTCUSDT.BINANCE"', 'id = "btcusdt"'), "instrument_id"),
        (EXAMPLE.replace('max_order_quantity = "0.01"', 'max_order_quantity = "-1"'), "max_order_quantity"),
        (EXAMPLE.replace("max_open_orders = 20", 'max_open_orders = "lots"'), "max_open_orders"),
        (EXAMPLE.replace('stop_loss_fraction = "0.02"', 'stop_loss_fraction = "2"'), "stop_loss_fraction"),
        (EXAMPLE.replace('format = "text"', 'format = "xml"'), "format"),
        (EXAMPLE.replace('balances = { USDT = "10000" }', 'balances = { USDT = "lots" }'), "balances.USDT"),
        (EXAMPLE.replace('balances = { USDT = "10000" }', 'balances = { USDT = "-1" }'), "balances.USDT"),
        (EXAMPLE.replace('trailing_fraction = "0.03"', 'trailing_fraction = "nan"'), "trailing_fraction"),
        (
            EXAMPLE.replace('instruments = ["BTCUSDT.BINANCE"]\nparams', "instruments = []\nparams"),
            "instruments",
        ),
    ],
)
def test_a_bad_config_gets_a_clear_error_naming_what_is_wrong(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), environ={})


def test_a_missing_or_binary_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_settings(binary, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (EXAMPLE.replace('kind = "sma_crossover"', 'kind = "moon_phase"'), "moon_phase"),
        (
            EXAMPLE.replace("params = { fast = 20, slow = 100 }", "params = { fast = 200, slow = 100 }"),
            "fast",
        ),
        (EXAMPLE.replace('kind = "fixed_quantity"', 'kind = "all_in"'), "all_in"),
        (EXAMPLE.replace('kind = "paper"', 'kind = "nasdaq"'), "nasdaq"),
        (EXAMPLE.replace('taker_fee_bps = "5"', 'taker_fee_bps = "-5"'), "taker_fee_bps"),
        (EXAMPLE.replace('ws_url = "wss://stream.binance.com:9443"', 'ws_url = "ftp://x"'), "ws_url"),
    ],
)
def test_wiring_errors_name_the_strategy_sizer_broker_or_feed(
    tmp_path: Path, text: str, message: str
) -> None:
    settings = load_settings(write(tmp_path, text), environ={"TRADEPLANE_STORAGE__DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match=message):
        bootstrap(settings)


def test_sizers_are_built_from_their_tables() -> None:
    sizer = build_sizer(SizingSettings(kind="fixed_fraction", options={"fraction": "0.1"}))
    assert type(sizer).__name__ == "FixedFraction"
    with pytest.raises(ConfigError, match="fixed_fraction"):
        build_sizer(SizingSettings(kind="fixed_fraction", options={"bogus": "1"}))


# -- the [grpc] section -------------------------------------------------------------------------


def test_the_example_serves_on_loopback_with_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.grpc.enabled
    assert settings.grpc.listen == "127.0.0.1:50051"
    assert settings.grpc.tokens == ()
    assert settings.grpc.stream_buffer == 10_000
    assert settings.grpc.backtest_data_dir == "data/history"


def test_the_backtest_data_directory_is_configurable(tmp_path: Path) -> None:
    settings = with_grpc_section(tmp_path, 'backtest_data_dir = "/srv/history"')
    assert settings.grpc.backtest_data_dir == "/srv/history"


def test_tokens_are_read_with_their_role_and_never_shown(tmp_path: Path) -> None:
    settings = with_grpc_section(
        tmp_path,
        f'[[grpc.tokens]]\nname = "alice"\nrole = "trader"\nsha256 = "{DIGEST.upper()}"\n'
        "rate_per_second = 5\n",
    )
    (token,) = settings.grpc.tokens
    assert (token.name, token.role, token.sha256, token.rate_per_second) == ("alice", "trader", DIGEST, 5.0)
    assert DIGEST not in repr(token)


@pytest.mark.parametrize(
    ("grpc", "message"),
    [
        ('listen = "50051"', "HOST:PORT"),
        ('listen = "127.0.0.1:99999"', "port of 0-65535"),
        ("listen = 50051", "HOST:PORT"),
        ('tls_cert = "/x.crt"', "set together"),
        ("stream_buffer = 0", "stream_buffer must be a positive integer"),
        ("rate_limit_per_second = -1", "rate_limit_per_second must be a positive number"),
        ('rate_limit_per_second = "nan"', "rate_limit_per_second must be a positive number"),
        ('enabled = "yes"', "enabled must be true or false"),
        ('backtest_data_dir = ""', "backtest_data_dir must be a directory path"),
        ("backtest_data_dir = 3", "backtest_data_dir must be a directory path"),
        ("colour = 1", "unknown key.*colour"),
        ('tokens = "x"', "array of tables"),
        ('[[grpc.tokens]]\nname = "a"\nrole = "root"\nsha256 = "' + DIGEST + '"', "role must be one of"),
        ('[[grpc.tokens]]\nname = "a"\nrole = "admin"\nsha256 = "secret"', "64-hex-digit SHA-256"),
        ('[[grpc.tokens]]\nrole = "admin"\nsha256 = "' + DIGEST + '"', "name must be"),
        ('[[grpc.tokens]]\nname = "a"\nrole = "admin"\nsha256 = "' + DIGEST + '"\nextra = 1', "unknown key"),
        (
            '[[grpc.tokens]]\nname = "a"\nrole = "admin"\nsha256 = "'
            + DIGEST
            + '"\n[[grpc.tokens]]\nname = "a"\nrole = "viewer"\nsha256 = "'
            + DIGEST
            + '"',
            "unique",
        ),
    ],
)
def test_a_bad_grpc_section_is_refused_naming_the_key(tmp_path: Path, grpc: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        with_grpc_section(tmp_path, grpc)


def test_the_example_keeps_state_in_the_per_user_directory_unless_told() -> None:
    # tests replace this commented line to keep their state in a temporary folder
    assert EXAMPLE_DATA_DIR_LINE in EXAMPLE
    assert "\ndata_dir" not in EXAMPLE
