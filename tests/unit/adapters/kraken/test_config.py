"""KrakenFeedConfig: defaults, validation naming the field, and from_mapping."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.exchanges.kraken.config import KrakenFeedConfig, instrument_of, pair_of
from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId

BTC = InstrumentId("BTC-USD.KRAKEN")


def test_defaults() -> None:
    config = KrakenFeedConfig(instrument_ids=(BTC,))
    assert config.name == "kraken"
    assert config.ws_url == "wss://ws.kraken.com/v2"
    assert config.channels == ("book", "trade", "ticker")
    assert config.book_depth == 10
    assert config.messages_per_second == 5.0
    assert config.heartbeat_timeout == 5.0
    assert config.reconnect_initial_delay >= 5.0
    assert config.max_frame_bytes == 10 * 2**20
    assert config.ping_interval_s == 30.0
    assert config.precisions is None
    assert config.pairs == {"BTC/USD": BTC}


def test_pairs_and_ids_map_both_ways() -> None:
    assert pair_of(BTC) == "BTC/USD"
    assert instrument_of("ETH/EUR") == InstrumentId("ETH-EUR.KRAKEN")


def test_from_mapping_reads_a_toml_table() -> None:
    config = KrakenFeedConfig.from_mapping(
        {
            "instrument_ids": ["BTC-USD.KRAKEN", "ETH-USD.KRAKEN"],
            "channels": ["book"],
            "book_depth": 25,
            "precisions": {"BTC/USD": [1, 8]},
        }
    )
    assert config.instrument_ids == (BTC, InstrumentId("ETH-USD.KRAKEN"))
    assert config.channels == ("book",)
    assert config.book_depth == 25
    assert config.precisions == {"BTC/USD": (1, 8)}


def test_from_mapping_refuses_an_unknown_key_naming_it() -> None:
    with pytest.raises(InvalidParameter, match="depth") as raised:
        KrakenFeedConfig.from_mapping({"instrument_ids": ["BTC-USD.KRAKEN"], "depth": 10})
    assert "is not a kraken feed setting" in str(raised.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"instrument_ids": ()}, "instrument_ids"),
        ({"instrument_ids": "BTC-USD.KRAKEN"}, "instrument_ids"),
        ({"instrument_ids": ("BTCUSDT.BINANCE",)}, "instrument_ids"),
        ({"instrument_ids": ("BTCUSD.KRAKEN",)}, "instrument_ids"),
        ({"instrument_ids": (BTC, BTC)}, "instrument_ids"),
        ({"name": ""}, "name"),
        ({"ws_url": "https://ws.kraken.com/v2"}, "ws_url"),
        ({"channels": ("book", "ohlc")}, "channels"),
        ({"channels": ("book", "book")}, "channels"),
        ({"channels": ()}, "channels"),
        ({"book_depth": 20}, "book_depth"),
        ({"book_depth": True}, "book_depth"),
        ({"messages_per_second": 0}, "messages_per_second"),
        ({"heartbeat_timeout": -1}, "heartbeat_timeout"),
        ({"stale_after": float("nan")}, "stale_after"),
        ({"reconnect_initial_delay": "5"}, "reconnect_initial_delay"),
        ({"reconnect_initial_delay": 10, "reconnect_max_delay": 5}, "reconnect_max_delay"),
        ({"open_timeout": 0}, "open_timeout"),
        ({"ping_interval_s": 0}, "ping_interval_s"),
        ({"max_frame_bytes": 10}, "max_frame_bytes"),
        ({"precisions": [1, 8]}, "precisions"),
        ({"precisions": {"BTCUSD": [1, 8]}}, "precisions"),
        ({"precisions": {"BTC/USD": [1]}}, "precisions.BTC/USD"),
        ({"precisions": {"BTC/USD": [1, 99]}}, "precisions.BTC/USD[1]"),
        ({"precisions": {"BTC/USD": [-1, 8]}}, "precisions.BTC/USD[0]"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        KrakenFeedConfig(**{"instrument_ids": (BTC,), **changes})
    assert raised.value.field == field


def test_a_malformed_id_is_refused() -> None:
    with pytest.raises(InvalidValue):
        KrakenFeedConfig(instrument_ids=("btc usd",))  # type: ignore[arg-type]


def test_the_system_proxy_is_honoured_unless_turned_off_and_must_be_a_flag() -> None:
    assert KrakenFeedConfig.from_mapping({"instrument_ids": ("BTC-USD.KRAKEN",)}).use_system_proxy
    off = KrakenFeedConfig.from_mapping({"instrument_ids": ("BTC-USD.KRAKEN",), "use_system_proxy": False})
    assert not off.use_system_proxy
    with pytest.raises(InvalidParameter, match="use_system_proxy"):
        KrakenFeedConfig.from_mapping({"instrument_ids": ("BTC-USD.KRAKEN",), "use_system_proxy": "no"})
