"""The Binance REST and stream client: URL splitting, request weights and error classification."""

from __future__ import annotations

import httpx
import pytest

from adapters.exchanges.binance.client import (
    combined_stream_url,
    depth_weight,
    error_from_response,
    split_for_url,
)


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
