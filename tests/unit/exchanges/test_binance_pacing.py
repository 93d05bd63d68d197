"""Backoff, rate limits, URL splitting, REST error classification and feed settings of the Binance adapter."""

from __future__ import annotations

import random

import httpx
import pytest

from adapters.exchanges.binance.client import (
    combined_stream_url,
    depth_weight,
    error_from_response,
    split_for_url,
)
from adapters.exchanges.binance.config import BinanceFeedConfig
from adapters.exchanges.binance.throttle import Backoff, TokenBucket
from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId

BTC = InstrumentId("BTCUSDT.BINANCE")


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_up_to_the_maximum_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(0.5, 4.0, random.Random(1))

    delays = [backoff.next_delay() for _ in range(8)]

    for delay, ceiling in zip(delays, [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.attempts == 8


def test_backoff_never_goes_below_half_the_initial_delay_so_it_cannot_spin() -> None:
    backoff = Backoff(0.2, 60.0, random.Random(2))

    assert min(Backoff(0.2, 60.0, random.Random(seed)).next_delay() for seed in range(200)) >= 0.1
    backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() <= 0.2


def test_backoff_jitter_is_reproducible_with_a_seeded_generator() -> None:
    first = [Backoff(1, 30, random.Random(7)).next_delay() for _ in range(3)]
    second = [Backoff(1, 30, random.Random(7)).next_delay() for _ in range(3)]

    assert first == second


def test_backoff_refuses_bounds_that_make_no_sense() -> None:
    with pytest.raises(ValueError, match="initial <= maximum"):
        Backoff(5, 1)


def test_token_bucket_allows_a_burst_then_paces_at_its_rate() -> None:
    clock = FakeTime()
    bucket = TokenBucket(4.0, 1.0, monotonic=clock)  # control messages: 4/s, no burst

    assert bucket.try_acquire() == 0.0
    assert bucket.try_acquire() == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.try_acquire() == 0.0


def test_token_bucket_takes_weighted_requests() -> None:
    clock = FakeTime()
    bucket = TokenBucket(100 / 60, 100, monotonic=clock)  # REST weight: 100 a minute

    assert bucket.try_acquire(50) == 0.0
    assert bucket.try_acquire(50) == 0.0
    assert bucket.try_acquire(50) == pytest.approx(30.0)
    with pytest.raises(ValueError, match="cannot take"):
        bucket.try_acquire(101)


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
