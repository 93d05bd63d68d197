"""Signed REST: what is signed and sent, the answers classified, -1021 and 429 handled."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

import httpx
import pytest

from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.errors import Outcome, RateLimitBlocked, TransportError, VenueError
from adapters.brokers.binance.rate_limits import RateLimiter, parse_rate_limits
from adapters.brokers.binance.rest import AsyncRestClient, RestCore, SyncRestClient, guard_transport_logs
from adapters.brokers.binance.signing import HmacSigner
from adapters.brokers.binance.venue_clock import VenueClock
from adapters.memory.clock import ManualClock
from tests.unit.adapters.brokers.binance.payloads import API_KEY, RATE_LIMITS, SECRET, T0_MS

NS_PER_MS = 1_000_000


def _core(clock: ManualClock | None = None) -> RestCore:
    local = clock or ManualClock(T0_MS * NS_PER_MS)
    return RestCore(
        BinanceBrokerConfig(rest_url="http://venue.test"),
        ApiCredentials(API_KEY, HmacSigner(SECRET)),
        VenueClock(local),
        RateLimiter(local),
    )


def _client(handler: object, core: RestCore | None = None) -> SyncRestClient:
    return SyncRestClient(
        BinanceBrokerConfig(rest_url="http://venue.test"),
        core or _core(),
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
    )


def test_a_signed_get_signs_its_query_and_sends_the_key_in_a_header() -> None:
    seen: list[httpx.Request] = []

    def venue(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    body = _client(venue).request(
        "GET", "/api/v3/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "O-1")], signed=True
    )

    assert body == {"ok": True}
    request = seen[0]
    query = request.url.query.decode()
    signed, _, signature = query.rpartition("&signature=")
    assert signed == f"symbol=BTCUSDT&origClientOrderId=O-1&recvWindow=5000&timestamp={T0_MS}"
    assert HmacSigner(SECRET).verify(signed, signature)
    assert request.headers["X-MBX-APIKEY"] == API_KEY
    assert request.content == b""


def test_a_post_signs_its_form_body() -> None:
    seen: list[httpx.Request] = []

    def venue(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    _client(venue).request(
        "POST", "/api/v3/order", [("symbol", "BTCUSDT"), ("quantity", "0.10")], signed=True
    )

    request = seen[0]
    body = request.content.decode()
    signed, _, signature = body.rpartition("&signature=")
    assert request.url.query == b""
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(signed)) == {
        "symbol": "BTCUSDT",
        "quantity": "0.10",
        "recvWindow": "5000",
        "timestamp": str(T0_MS),
    }
    assert HmacSigner(SECRET).verify(signed, signature)


def test_an_unsigned_request_has_neither_key_nor_signature() -> None:
    seen: list[httpx.Request] = []

    def venue(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"serverTime": T0_MS})

    _client(venue).request("GET", "/api/v3/exchangeInfo", [("symbols", '["BTCUSDT"]')])

    assert "X-MBX-APIKEY" not in seen[0].headers
    assert b"signature" not in seen[0].url.query


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (400, {"code": -2010, "msg": "insufficient balance"}, Outcome.REFUSED),
        (503, {"code": -1008, "msg": "busy"}, Outcome.UNKNOWN),
        (502, None, Outcome.UNKNOWN),
        (400, {"code": -2013, "msg": "Order does not exist."}, Outcome.NO_SUCH_ORDER),
    ],
)
def test_error_answers_are_classified(status: int, body: object, outcome: Outcome) -> None:
    def venue(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(status, json=body) if body is not None else httpx.Response(status, text="<html>")
        )

    with pytest.raises(VenueError) as raised:
        _client(venue).request("GET", "/api/v3/order", [("symbol", "BTCUSDT")], signed=True)

    assert raised.value.outcome is outcome
    assert raised.value.request_timestamp_ms == T0_MS


def test_no_answer_is_an_unknown_outcome_without_the_signature() -> None:
    def venue(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)

    with pytest.raises(TransportError) as raised:
        _client(venue).request("GET", "/api/v3/order", [("symbol", "BTCUSDT")], signed=True)

    assert raised.value.outcome is Outcome.UNKNOWN
    assert "signature=<redacted>" in str(raised.value)
    assert API_KEY not in str(raised.value)


def test_a_success_that_is_not_json_is_an_unknown_outcome() -> None:
    with pytest.raises(TransportError, match="not JSON"):
        _client(lambda _r: httpx.Response(200, text="<html>")).request(
            "POST", "/api/v3/order", [], signed=True
        )


def test_clock_skew_resyncs_and_resends_once() -> None:
    answers = iter(
        [
            httpx.Response(400, json={"code": -1021, "msg": "Timestamp outside of the recvWindow."}),
            httpx.Response(200, json={"serverTime": T0_MS + 7_000}),
            httpx.Response(200, json={"orderId": 1}),
        ]
    )
    seen: list[httpx.Request] = []

    def venue(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    core = _core()
    body = _client(venue, core).request("POST", "/api/v3/order", [("symbol", "BTCUSDT")], signed=True)

    assert body == {"orderId": 1}
    assert [r.url.path for r in seen] == ["/api/v3/order", "/api/v3/time", "/api/v3/order"]
    assert core.clock.offset_ms == 7_000
    assert f"timestamp={T0_MS + 7_000}" in seen[2].content.decode()


def test_a_429_blocks_every_request_until_retry_after() -> None:
    clock = ManualClock(T0_MS * NS_PER_MS)
    core = _core(clock)
    calls: list[str] = []

    def venue(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(
            429, json={"code": -1003, "msg": "Too many requests."}, headers={"Retry-After": "3"}
        )

    client = _client(venue, core)
    with pytest.raises(VenueError) as raised:
        client.request("GET", "/api/v3/account", signed=True)
    with pytest.raises(RateLimitBlocked, match="rate limit") as blocked:
        client.request("GET", "/api/v3/account", signed=True)

    assert raised.value.outcome is Outcome.RATE_LIMITED
    assert raised.value.retry_after_s == 3
    assert calls == ["/api/v3/account"]
    assert blocked.value.until_ns == (T0_MS + 3_000) * NS_PER_MS
    assert core.limiter.rate_limited == 1


def test_usage_headers_are_read_and_a_request_over_the_limit_waits_in_the_loop() -> None:
    async def scenario() -> None:
        local = ManualClock(T0_MS * NS_PER_MS)
        core = _core(local)
        core.limiter.configure(parse_rate_limits(RATE_LIMITS))
        headers = {"X-MBX-USED-WEIGHT-1M": "6000", "X-MBX-ORDER-COUNT-10S": "100"}

        def venue(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={}, headers=headers)

        client = AsyncRestClient(
            BinanceBrokerConfig(rest_url="http://venue.test"), core, transport=httpx.MockTransport(venue)
        )
        await client.request("GET", "/api/v3/time")
        assert core.limiter.used_weight == 6000

        with pytest.raises(RateLimitBlocked, match="REQUEST_WEIGHT 6000 per 1 minute"):
            await client.request("GET", "/api/v3/time", wait=False)
        with pytest.raises(RateLimitBlocked, match="ORDERS 100 per 10 second"):
            await client.request("POST", "/api/v3/order", weight=0, order=True, wait=False)
        await client.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 5))


def test_httpx_request_lines_lose_their_signature(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    guard_transport_logs()

    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s"', "GET", "http://x/api?a=1&signature=abc123", "200"
    )

    assert "abc123" not in caplog.text
    assert "signature=<redacted>" in caplog.text
