"""URL splitting, REST request weights and error classification, and feed settings of the Binance adapter."""

from __future__ import annotations

import httpx
import pytest

from adapters.exchanges.binance.client import (
    combined_stream_url,
    depth_weight,
    error_from_response,
    split_for_url,
)
from adapters.exchanges.binance.config import BinanceFeedConfig
from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId

BTC = InstrumentId("BTCUSDT.BINANCE")


def test_streams_fill_the_url_up_to_its_limit_and_the_rest_are_left_to_subscribe() -> None:
    base = "wss://stream.binance.com:9443"
    streams = [f"sym{n:04d}usdt@trade" for n in range(300)]

    in_url, rest = split_for_url(base, streams, 4000)

    assert in_url + rest == streams
    assert len(combined_stream_url(base, in_url)) <= 4000
    assert len(combined_stream_url(base, [*in_url, rest[0]])) > 4000
    assert combined_stream_url(base, ["a@trade", "b@trade"]) == f"{base}/stream?streams=a@trade/b@trade"


def test_a_short_stream_list_goes_entirely_in_the_url() -> None:
    assert split_for_url("ws://h:1", ["btcusdt@trade", "btcusdt@bookTicker"], 4000) == (
        ["btcusdt@trade", "btcusdt@bookTicker"],
        [],
    )


@pytest.mark.parametrize(
    ("limit", "weight"), [(1, 5), (100, 5), (101, 25), (500, 25), (1000, 50), (5000, 250)]
)
def test_depth_request_weight_follows_the_documented_table(limit: int, weight: int) -> None:
    assert depth_weight(limit) == weight


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (429, {"Retry-After": "7"}, True, 7.0),
        (418, {}, True, 60.0),
        (503, {}, True, None),
        (400, {}, False, None),
    ],
)
def test_http_errors_say_whether_to_retry_and_when(
    status: int, headers: dict[str, str], retryable: bool, retry_after: float | None
) -> None:
    response = httpx.Response(status, headers=headers, content=b'{"code": -1121, "msg": "Invalid symbol."}')

    error = error_from_response(response)

    assert error.is_retryable is retryable
    assert error.retry_after == retry_after
    assert (error.code, error.message) == (-1121, "Invalid symbol.")


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
