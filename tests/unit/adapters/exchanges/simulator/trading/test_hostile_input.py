"""Garbage, huge and odd input: always an error answer in the venue's shape, and the server stays up."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import orjson
import pytest
from websockets.asyncio.client import connect

from .support import API_KEY, RestClient, WsApiClient, error_of, make_venue, run, scripted_market, serving


@pytest.mark.parametrize(
    ("frame", "status", "code"),
    [
        ("this is not json", 400, -1135),
        ("[1, 2, 3]", 400, -1135),
        ('{"id": 1, "method": "time"', 400, -1135),
        ('{"id": {"a": 1}, "method": "time"}', 400, -1135),
        ('{"id": 1.5, "method": "time"}', 400, -1135),
        ('{"id": "' + "x" * 100 + '", "method": "time"}', 400, -1135),
        ('{"id": 1}', 400, -1102),
        ('{"id": 1, "method": 42}', 400, -1102),
        ('{"id": 1, "method": "order.teleport"}', 400, -1020),
        ('{"id": 1, "method": "time", "params": [1]}', 400, -1135),
        ('{"id": 1, "method": "time", "extra": true}', 400, -1135),
        ('{"id": 1, "method": "time", "params": {"x": 1}}', 400, -1104),
        ('{"id": 1, "method": "order.status", "params": {"symbol": {"nested": 1}}}', 400, -1100),
        ('{"id": 1, "method": "exchangeInfo", "params": {"symbol": "１２３４５６"}}', 400, -1121),
        ('{"id": 1, "method": "exchangeInfo", "params": {"symbol": "' + "A" * 30_000 + '"}}', 400, -1130),
        ('{"id": 1, "method": "exchangeInfo", "params": {"symbols": "[not json"}}', 400, -1130),
        ("[" * 5_000 + "]" * 5_000, 400, -1135),
        ('{"id": 1, "method": "order.place", "params": {"symbol": "BTCUSDT"}}', 401, -2015),
    ],
)
def test_a_bad_websocket_api_frame_gets_an_error_answer(frame: str, status: int, code: int) -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), connect(venue.ws_api_url, open_timeout=5, max_size=2**20) as raw:
            await raw.send(frame)
            answer = orjson.loads(await asyncio.wait_for(raw.recv(), 5))
            assert (answer["status"], answer["error"]["code"]) == (status, code), answer
            assert "rateLimits" in answer
            await raw.send('{"id": "after", "method": "ping"}')
            assert orjson.loads(await asyncio.wait_for(raw.recv(), 5))["status"] == 200

    run(scenario)


def test_a_binary_frame_is_answered_and_an_oversized_one_closes_only_that_session() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue):
            async with WsApiClient.open(venue) as ws:
                await ws.send_raw(b"\x00\x01binary")
                await asyncio.sleep(0.1)
                assert (await ws.request("ping"))["status"] == 200
            async with connect(venue.ws_api_url, open_timeout=5, max_size=2**21) as raw:
                await raw.send("x" * 200_000)
                await asyncio.wait_for(raw.wait_closed(), 5)
                assert raw.close_code == 1009
            async with WsApiClient.open(venue) as ws:
                assert (await ws.request("time"))["status"] == 200

    run(scenario)


def test_many_garbage_frames_in_a_row_never_bring_the_server_down() -> None:
    async def scenario() -> None:
        venue = make_venue()
        frames = ["{", "null", "true", '{"method": null}', '"string"', "{}", '{"id": [], "method": "x"}']
        async with serving(venue), connect(venue.ws_api_url, open_timeout=5) as raw:
            for index in range(200):
                await raw.send(frames[index % len(frames)])
            for _ in range(200):
                await asyncio.wait_for(raw.recv(), 5)
        async with serving(venue), RestClient(venue) as client:
            assert (await client.public("GET", "/api/v3/time")).status_code == 200

    run(scenario)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("symbol=" + quote("１２３４５６"), -1121),  # non-ASCII, percent-encoded
        ("symbol=%FF%FE", -1100),  # not UTF-8
        ("symbol=BTCUSDT&orderId=" + "9" * 25, -1130),
        ("symbol=BTCUSDT&orderId=12abc", -1100),
        ("symbol=BTCUSDT&orderId=", -1105),
        ("symbol=BTCUSDT&" + "&".join(f"p{i}=1" for i in range(80)), -1101),
    ],
)
def test_odd_rest_parameters_get_a_clear_error(query: str, code: int) -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            full = f"{query}&timestamp={venue.now_ms()}"
            signature = client.signer.sign(full)
            answer = await client.http.get(
                f"/api/v3/order?{full}&signature={signature}", headers={"X-MBX-APIKEY": API_KEY}
            )
            assert error_of(answer) == (400, code), answer.text

    run(scenario)


def test_huge_requests_are_refused_and_the_server_stays_up() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            long_query = await client.http.get("/api/v3/time?" + "a=1&" * 5_000)
            assert long_query.status_code >= 400
            big_body = await client.http.post(
                "/api/v3/order",
                content=b"a=" + b"1" * 3_000_000,
                headers={"X-MBX-APIKEY": API_KEY, "Content-Type": "application/x-www-form-urlencoded"},
            )
            assert big_body.status_code >= 400
            assert (await client.public("GET", "/api/v3/time")).status_code == 200

    run(scenario)


def test_a_malformed_public_trade_never_stops_the_market_from_stepping(
    caplog: pytest.LogCaptureFixture,
) -> None:
    market = scripted_market()
    venue = make_venue(market)
    market.print_trade("BTCUSDT", "not-a-price", "1")
    frames = venue.market.step(venue.now_ms())
    assert [frame.kind for frame in frames] == ["trade"]
    assert "failed to observe" in caplog.text
    market.print_trade("BTCUSDT", "30000.00", "1")
    assert len(venue.market.step(venue.now_ms())) == 1


def test_a_client_that_leaves_mid_body_is_no_error_of_the_venue(caplog: pytest.LogCaptureFixture) -> None:
    """A killed engine's half-sent order: nothing placed, no traceback, the next client served."""

    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue):
            port = int(venue.rest_url.rsplit(":", 1)[1])
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            head = (
                "POST /api/v3/order HTTP/1.1\r\nHost: x\r\n"
                f"X-MBX-APIKEY: {API_KEY}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\n"
            )
            writer.write(head.encode() + b"symbol=BTC")
            await writer.drain()
            writer.transport.abort()  # gone, mid-body
            await asyncio.sleep(0.2)
            assert venue.orders() == []
            async with RestClient(venue) as client:
                assert (await client.public("GET", "/api/v3/time")).status_code == 200

    with caplog.at_level("INFO"):
        run(scenario)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    assert "Traceback" not in caplog.text
