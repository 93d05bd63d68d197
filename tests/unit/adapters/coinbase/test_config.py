"""CoinbaseFeedConfig: defaults, what it refuses (naming the field), and TOML-table construction."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.exchanges.coinbase.config import CoinbaseFeedConfig
from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId

BTC = InstrumentId("BTC-USD.COINBASE")


def test_defaults_follow_the_venue() -> None:
    config = CoinbaseFeedConfig(instrument_ids=(BTC,))
    assert config.name == "coinbase"
    assert config.ws_url == "wss://advanced-trade-ws.coinbase.com"
    assert config.rest_url == "https://api.coinbase.com"
    assert config.channels == ("level2", "market_trades", "ticker")
    assert config.messages_per_second == 5.0
    assert config.heartbeat_timeout == 3.0
    assert config.max_frame_bytes == 10 * 2**20
    assert config.trade_side_is_maker is True
    assert config.has_book
    assert config.product_ids == ("BTC-USD",)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"instrument_ids": ()}, "instrument_ids"),
        ({"instrument_ids": "BTC-USD.COINBASE"}, "instrument_ids"),
        ({"instrument_ids": ("BTCUSDT.BINANCE",)}, "instrument_ids"),
        ({"instrument_ids": ("BTCUSD.COINBASE",)}, "instrument_ids"),
        ({"instrument_ids": (BTC, BTC)}, "instrument_ids"),
        ({"name": ""}, "name"),
        ({"ws_url": "https://advanced-trade-ws.coinbase.com"}, "ws_url"),
        ({"rest_url": "wss://api.coinbase.com"}, "rest_url"),
        ({"channels": ()}, "channels"),
        ({"channels": ("heartbeats",)}, "channels"),
        ({"channels": ("level2", "level2")}, "channels"),
        ({"messages_per_second": 9}, "messages_per_second"),
        ({"messages_per_second": 0}, "messages_per_second"),
        ({"heartbeat_timeout": float("nan")}, "heartbeat_timeout"),
        ({"heartbeat_timeout": True}, "heartbeat_timeout"),
        ({"stale_after": -1}, "stale_after"),
        ({"open_timeout": 0}, "open_timeout"),
        ({"reconnect_initial_delay": 5, "reconnect_max_delay": 1}, "reconnect_max_delay"),
        ({"max_frame_bytes": 10}, "max_frame_bytes"),
        ({"trade_side_is_maker": "yes"}, "trade_side_is_maker"),
        ({"use_system_proxy": 1}, "use_system_proxy"),
    ],
)
def test_refuses_bad_settings_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"instrument_ids": (BTC,), **overrides}
    with pytest.raises(InvalidParameter) as raised:
        CoinbaseFeedConfig(**arguments)
    assert raised.value.field == field


def test_a_malformed_instrument_id_is_refused() -> None:
    with pytest.raises(InvalidValue):
        CoinbaseFeedConfig(instrument_ids=("btc usd",))  # type: ignore[arg-type]


def test_from_mapping_takes_lists_and_refuses_unknown_keys() -> None:
    config = CoinbaseFeedConfig.from_mapping(
        {"instrument_ids": ["BTC-USD.COINBASE", "ETH-USD.COINBASE"], "channels": ["level2"]}
    )
    assert config.product_ids == ("BTC-USD", "ETH-USD")
    assert config.channels == ("level2",)
    with pytest.raises(InvalidParameter, match="not a coinbase feed setting") as raised:
        CoinbaseFeedConfig.from_mapping({"instrument_ids": ["BTC-USD.COINBASE"], "streams": ["x"]})
    assert raised.value.field == "streams"


def test_without_level2_there_is_no_book() -> None:
    assert not CoinbaseFeedConfig(instrument_ids=(BTC,), channels=("ticker",)).has_book
