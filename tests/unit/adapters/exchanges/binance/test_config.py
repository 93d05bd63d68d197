"""BinanceFeedConfig: the venue's defaults, settings refused naming the field, the TOML table."""

from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from adapters.exchanges.binance.config import BinanceFeedConfig
from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId

BTC = InstrumentId("BTCUSDT.BINANCE")


def test_feed_config_defaults_follow_the_venue_rules() -> None:
    config = BinanceFeedConfig(instrument_ids=(BTC,))

    assert config.ws_url == "wss://stream.binance.com:9443"
    assert config.rest_url == "https://api.binance.com"
    assert config.streams == ("trade", "bookTicker", "depth@100ms")
    assert config.max_connection_age == 23 * 3600 + 50 * 60
    assert config.control_messages_per_second <= 5
    assert config.max_streams_per_connection == 1024
    assert config.has_depth


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("instrument_ids", ()),
        ("instrument_ids", "BTCUSDT.BINANCE"),
        ("instrument_ids", (InstrumentId("BTCUSDT.COINBASE"),)),
        ("instrument_ids", (BTC, BTC)),
        ("streams", ("aggTrade",)),
        ("streams", ("depth", "depth@100ms")),
        ("ws_url", "https://stream.binance.com"),
        ("ws_url", "wss://stream.binance.com/stream?streams=x"),
        ("rest_url", "ftp://api.binance.com"),
        ("depth_limit", 0),
        ("depth_limit", 5001),
        ("reconnect_initial_delay", 0),
        ("reconnect_max_delay", 0.1),
        ("stale_after", float("nan")),
        ("stale_after", True),
        ("control_messages_per_second", 6),
        ("max_streams_per_connection", 1025),
        ("max_streams_per_connection", 2),
        ("connection_attempts_per_5min", 301),
        ("use_system_proxy", "yes"),
    ],
)
def test_feed_config_refuses_bad_settings_naming_the_field(field: str, value: object) -> None:
    settings: dict[str, object] = {"instrument_ids": (BTC,), "reconnect_initial_delay": 1.0, field: value}

    with pytest.raises(InvalidValue) as caught:
        BinanceFeedConfig(**settings)  # type: ignore[arg-type]

    assert caught.value.field in (field, "instrument_id")


def test_feed_config_from_a_toml_table_refuses_unknown_keys() -> None:
    config = BinanceFeedConfig.from_mapping({"instrument_ids": ["BTCUSDT.BINANCE"], "streams": ["trade"]})

    assert config.instrument_ids == (BTC,)
    assert config.streams == ("trade",)
    assert not config.has_depth
    with pytest.raises(InvalidParameter, match="stale_afterr"):
        BinanceFeedConfig.from_mapping({"instrument_ids": ["BTCUSDT.BINANCE"], "stale_afterr": 5})


@given(key=st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True))
def test_an_unknown_key_is_refused_with_the_known_ones_as_words(key: str) -> None:
    assume(key not in {field.name for field in fields(BinanceFeedConfig)})
    with pytest.raises(InvalidParameter) as caught:
        BinanceFeedConfig.from_mapping({"instrument_ids": ["BTCUSDT.BINANCE"], key: 1})
    message = str(caught.value)
    assert message.startswith(f"{key} is not a binance feed setting (known: ")
    known = message.split("(known: ")[1].split(")", maxsplit=1)[0]
    assert known.split(", ") == sorted(field.name for field in fields(BinanceFeedConfig))


@pytest.mark.parametrize("streams", [["trade", "kline"], "trade", []])
def test_the_supported_streams_read_as_words(streams: object) -> None:
    with pytest.raises(InvalidParameter) as caught:
        BinanceFeedConfig.from_mapping({"instrument_ids": ["BTCUSDT.BINANCE"], "streams": streams})
    assert "trade, bookTicker, depth, depth@100ms" in str(caught.value)
    assert "('" not in str(caught.value)
