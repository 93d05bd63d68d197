"""The gateway's Server-Sent Events against a running engine: what gRPC streams, HTTP streams.

A fill and a position reach their streams; refusals before the first message are ordinary
HTTP errors; a dropped or closed stream ends with ``event: error``; silence sends keep-alive
comments; and a client that leaves frees its place in the server's fan-out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import QueryParams
from tradeplane.v1 import market_data_pb2

from entrypoints.web import streams
from entrypoints.web.serve import RunningGateway, start_gateway
from entrypoints.web.transcode import from_query
from tests.integration.grpc.support import (
    BTC,
    CALL_TIMEOUT_S,
    TEST_TIMEOUT_S,
    TRADER_TOKEN,
    VIEWER_TOKEN,
    Env,
    subscribed,
    trade,
    wait_until,
)

API = "/api/v1"
VIEWER_H = {"Authorization": f"Bearer {VIEWER_TOKEN}"}
TRADER_H = {"Authorization": f"Bearer {TRADER_TOKEN}"}


@dataclass(frozen=True)
class Event:
    """One SSE block: ``name`` and parsed ``data``, or only ``comment`` lines."""

    name: str = ""
    data: Any = None
    comment: str = ""


class Reader:
    """The events of a ``text/event-stream`` response, one block at a time, bounded in time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def _block(self) -> Event:
        name = ""
        data: list[str] = []
        comments: list[str] = []
        async for line in self._lines:
            if line == "":
                if name or data or comments:
                    return Event(name, json.loads("\n".join(data)) if data else None, "\n".join(comments))
            elif line.startswith(":"):
                comments.append(line[1:].strip())
            elif line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].strip())
        raise AssertionError("the event stream ended")

    async def next(self, timeout: float = CALL_TIMEOUT_S) -> Event:
        return await asyncio.wait_for(self._block(), timeout)

    async def until(self, found: Callable[[Event], bool], timeout: float = CALL_TIMEOUT_S) -> Event:
        async def scan() -> Event:
            while not found(event := await self._block()):
                pass
            return event

        return await asyncio.wait_for(scan(), timeout)


def client(gateway: RunningGateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://{gateway.address}", timeout=CALL_TIMEOUT_S)


@asynccontextmanager
async def sse(
    http: httpx.AsyncClient, what: str, params: dict[str, str] | None = None
) -> AsyncIterator[Reader]:
    async with http.stream("GET", f"{API}/stream/{what}", params=params, headers=VIEWER_H) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Reader(response)


def market_buy(client_order_id: str) -> dict[str, Any]:
    return {
        "client_order_id": client_order_id,
        "instrument_id": BTC,
        "side": "SIDE_BUY",
        "type": "ORDER_TYPE_MARKET",
        "quantity": "0.01",
    }


async def test_a_fill_appears_on_the_orders_stream(gateway: RunningGateway, env: Env) -> None:
    async with client(gateway) as http, sse(http, "orders", {"instrument_id": BTC}) as events:
        await subscribed(env, "order_events")
        posted = await http.post(f"{API}/orders", json=market_buy("sse-m1"), headers=TRADER_H)
        assert posted.status_code == 200, posted.text
        filled = await events.until(lambda e: e.name == "orders" and "fill" in e.data["event"])
    assert filled.name == "orders"
    event = filled.data["event"]
    assert event["client_order_id"] == "sse-m1"
    assert Decimal(event["fill"]["quantity"]) == Decimal("0.01")
    assert event["instrument_id"] == BTC


async def test_the_position_appears_on_the_positions_stream(gateway: RunningGateway, env: Env) -> None:
    async with client(gateway) as http, sse(http, "positions") as events:
        await subscribed(env, "positions")
        posted = await http.post(f"{API}/orders", json=market_buy("sse-p1"), headers=TRADER_H)
        assert posted.status_code == 200, posted.text
        update = await events.until(
            lambda e: e.name == "positions" and Decimal(e.data["position"].get("quantity", "0")) != 0
        )
    assert update.name == "positions"
    assert update.data["position"]["instrument_id"] == BTC
    assert Decimal(update.data["position"]["quantity"]) == Decimal("0.01")


async def test_refusals_before_the_first_message_are_http_errors(gateway: RunningGateway, env: Env) -> None:
    async with client(gateway) as http:
        no_token = await http.get(f"{API}/stream/orders")
        unknown = await http.get(f"{API}/stream/nonsense", headers=VIEWER_H)
        no_such_param = await http.get(f"{API}/stream/orders", params={"nope": "1"}, headers=VIEWER_H)
        bad_filter = await http.get(
            f"{API}/stream/positions", params={"instrument_id": "x"}, headers=VIEWER_H
        )
    assert no_token.status_code == 401, no_token.text
    assert no_token.json()["error"]["code"] == "UNAUTHENTICATED"
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"]["code"] == "NOT_FOUND"
    assert no_such_param.status_code == 400, no_such_param.text
    assert no_such_param.json()["error"]["field"] == "nope"
    assert bad_filter.status_code == 400, bad_filter.text
    assert bad_filter.json()["error"]["code"] == "INVALID_ARGUMENT"
    await wait_until(lambda: env.server.hub.count() == 0)


async def test_repeated_query_keys_fill_a_list(gateway: RunningGateway, env: Env) -> None:
    async with client(gateway) as http:
        params = httpx.QueryParams([("instrument_ids", BTC), ("instrument_ids", "nonsense")])
        refused = await http.get(f"{API}/stream/quotes", params=params, headers=VIEWER_H)
        assert refused.status_code == 400, refused.text  # the second id reached the server
        async with sse(http, "trades", {"instrument_ids": BTC}) as events:
            await subscribed(env, "trades")
            env.publish(trade("30000.00", "sse-t1"))
            relayed = await events.until(lambda e: e.name == "trades")
    assert relayed.data["trade"]["instrument_id"] == BTC


async def test_silence_sends_keep_alive_comments(
    gateway: RunningGateway, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streams, "KEEP_ALIVE_S", 0.05)
    async with client(gateway) as http, sse(http, "signals") as events:
        first, second = await events.next(), await events.next()
    assert first == second == Event(comment="keep-alive")


async def test_a_client_that_leaves_cancels_the_grpc_stream(gateway: RunningGateway, env: Env) -> None:
    async with client(gateway) as http:
        async with sse(http, "orders"), sse(http, "quotes"):
            await subscribed(env, "order_events")
            await subscribed(env, "quotes")
            assert env.server.hub.count() == 2
        await wait_until(lambda: env.server.hub.count() == 0)  # the client is still open; the streams left
        status = await http.get(f"{API}/status", headers=VIEWER_H)
        assert status.status_code == 200, status.text


async def test_a_closed_stream_ends_with_an_error_event(gateway: RunningGateway, env: Env) -> None:
    async with client(gateway) as http, sse(http, "alerts") as events:
        await subscribed(env, "alerts")
        env.server.hub.close()  # what the server does when the engine stops
        ended = await events.until(lambda e: e.name == "error")
        with pytest.raises(AssertionError, match="ended"):
            await events.next()
    assert ended.data["error"]["code"] == "UNAVAILABLE"
    assert ended.data["error"]["reason"] == "STREAM_ENDED"


async def test_a_dropped_slow_client_gets_the_reason_as_an_error_event(
    start: Callable[..., Coroutine[Any, Any, Env]],
) -> None:
    env = await start(stream_buffer=1)
    gateway = await asyncio.wait_for(start_gateway("127.0.0.1:0", env.target), TEST_TIMEOUT_S)
    try:
        async with client(gateway) as http, sse(http, "trades") as events:
            await subscribed(env, "trades")
            env.publish(*(trade("30000.00", f"sse-d{i}") for i in range(3)))  # at once: buffer overflows
            dropped = await events.until(lambda e: e.name == "error")
        assert dropped.data["error"]["code"] == "RESOURCE_EXHAUSTED"
        assert dropped.data["error"]["reason"] == "SLOW_CONSUMER"
        await wait_until(lambda: env.server.hub.count() == 0)
    finally:
        await gateway.stop()


async def test_stopping_the_gateway_ends_its_streams_at_once(
    start: Callable[..., Coroutine[Any, Any, Env]],
) -> None:
    env = await start()
    gateway = await asyncio.wait_for(start_gateway("127.0.0.1:0", env.target), TEST_TIMEOUT_S)
    try:
        async with client(gateway) as http, sse(http, "orders") as events:
            await subscribed(env, "order_events")
            began = asyncio.get_running_loop().time()
            stopping = asyncio.ensure_future(gateway.stop())
            ended = await events.until(lambda e: e.name == "error")
            await asyncio.wait_for(stopping, CALL_TIMEOUT_S)
            assert asyncio.get_running_loop().time() - began < 2.0  # not uvicorn's grace
        assert ended.data["error"]["reason"] == "STREAM_ENDED"
        await wait_until(lambda: env.server.hub.count() == 0)
    finally:
        await gateway.stop()


@given(ids=st.lists(st.text(alphabet="ABCXYZ.019", min_size=1, max_size=12), max_size=5))
def test_a_repeated_key_is_the_list_in_order(ids: list[str]) -> None:
    query = QueryParams([("instrument_ids", each) for each in ids])
    message = from_query(query, market_data_pb2.StreamQuotesRequest)
    assert list(message.instrument_ids) == ids
