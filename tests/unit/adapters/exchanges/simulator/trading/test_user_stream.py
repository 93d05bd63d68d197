"""The WebSocket API: subscribing to the user data stream, events in order, orders over the socket."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.client import connect

from adapters.exchanges.simulator.trading import SymbolFilters, TradingVenue

from .support import (
    API_KEY,
    FakeClock,
    RestClient,
    WsApiClient,
    make_venue,
    reports,
    run,
    scripted_market,
    serving,
    settle,
)

BTC = "BTCUSDT"
D = Decimal

# The venue's published WebSocket API example: an order.place signed with its example key.
VECTOR_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
VECTOR_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
VECTOR_REQUEST = (
    '{"id":"4885f793-e5ad-4c3b-8f6c-55d891472b71","method":"order.place","params":{"symbol":"BTCUSDT",'
    '"side":"SELL","type":"LIMIT","timeInForce":"GTC","quantity":"0.01000000","price":"52000.00",'
    '"recvWindow":100,"timestamp":1645423376532,"apiKey":"' + VECTOR_KEY + '",'
    '"signature":"aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"}}'
)


def test_the_published_websocket_api_example_is_accepted_as_sent() -> None:
    async def scenario() -> None:
        venue = TradingVenue(
            scripted_market(),
            api_key=VECTOR_KEY,
            api_secret=VECTOR_SECRET,
            balances={"BTC": D("1")},
            filters={symbol: SymbolFilters() for symbol in ("BTCUSDT", "ETHUSDT")},
            clock=FakeClock(1645423376532 + 50),
            ping_interval=None,
        )
        async with serving(venue), WsApiClient.open(venue, VECTOR_SECRET) as ws:
            await ws.send_raw(VECTOR_REQUEST)
            answer = await ws.response("4885f793-e5ad-4c3b-8f6c-55d891472b71")
            assert answer["status"] == 200, answer
            assert answer["result"]["status"] == "NEW"
            assert {limit["rateLimitType"] for limit in answer["rateLimits"]} == {"REQUEST_WEIGHT", "ORDERS"}

    run(scenario)


def test_subscribing_with_a_good_signature_gives_subscription_ids_from_zero() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), WsApiClient.open(venue) as ws:
            assert await ws.subscribe() == 0
            assert await ws.subscribe() == 1
            status = await ws.request("session.status")
            assert status["result"]["userDataStream"] is True
            assert venue.stats.subscriptions == 2

    run(scenario)


def test_subscribing_with_a_bad_signature_key_or_timestamp_is_refused() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), WsApiClient.open(venue) as ws:
            method = "userDataStream.subscribe.signature"
            forged = {**ws.sign({}), "signature": "0" * 64}
            answer = await ws.request(method, forged)
            assert (answer["status"], answer["error"]["code"]) == (400, -1022)
            answer = await ws.request(method, ws.sign({}, api_key="someoneElse"))
            assert (answer["status"], answer["error"]["code"]) == (401, -2015)
            stale = {"apiKey": API_KEY, "timestamp": venue.now_ms() - 10_000}
            stale["signature"] = ws.signer.sign("&".join(f"{k}={v}" for k, v in sorted(stale.items())))
            answer = await ws.request(method, stale)
            assert (answer["status"], answer["error"]["code"]) == (400, -1021)
            answer = await ws.request(method, {"timestamp": venue.now_ms()})
            assert (answer["status"], answer["error"]["code"]) == (401, -2015)
            assert venue.stats.subscriptions == 0
            assert "rateLimits" in answer

    run(scenario)


def _pairs(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for wrapped in events:
        event = wrapped["event"]
        out.append(("report", event["x"]) if event["e"] == "executionReport" else ("position", ""))
    return out


def test_reports_arrive_in_order_each_fill_followed_by_the_account_position() -> None:
    async def scenario() -> None:
        market = scripted_market()
        venue = make_venue(market)
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            subscription = await ws.subscribe()
            await client.order(
                symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="1", price="29999.95"
            )
            for _ in range(3):
                market.print_trade(BTC, "29999.95", "0.3")
                venue.market.step(venue.now_ms())
            await client.signed(
                "DELETE", "/api/v3/order", {"symbol": BTC, "orderId": venue.orders()[0]["orderId"]}
            )
            events = await ws.wait_events(10)
            await settle()
            assert len(ws.events) == 10
            assert {event["subscriptionId"] for event in events} == {subscription}
            assert _pairs(events) == [
                ("report", "NEW"), ("position", ""),
                ("report", "TRADE"), ("position", ""),
                ("report", "TRADE"), ("position", ""),
                ("report", "TRADE"), ("position", ""),
                ("report", "CANCELED"), ("position", ""),
            ]  # fmt: skip
            trades = [r for r in reports(events) if r["x"] == "TRADE"]
            assert [r["z"] for r in trades] == ["0.30000000", "0.60000000", "0.90000000"]
            assert [r["t"] for r in trades] == [trades[0]["t"] + i for i in range(3)]
            executions = [r["I"] for r in reports(events)]
            assert executions == sorted(set(executions))
            after_fill = events[3]["event"]
            assert {b["a"] for b in after_fill["B"]} == {"BTC", "USDT"}
            assert after_fill["u"] == venue.now_ms()
            final = {b["a"]: (D(b["f"]), D(b["l"])) for b in events[9]["event"]["B"]}
            assert final["USDT"] == venue.balances()["USDT"]

    run(scenario)


def test_unsubscribing_ends_the_stream_with_a_termination_notice() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            subscription = await ws.subscribe()
            answer = await ws.request("userDataStream.unsubscribe", {"subscriptionId": subscription})
            assert answer["status"] == 200
            await client.order(symbol=BTC, side="BUY", type="MARKET", quantity="0.01")
            await settle()
            assert [event["event"]["e"] for event in ws.events] == ["eventStreamTerminated"]
            again = await ws.request("userDataStream.unsubscribe", {"subscriptionId": subscription})
            assert (again["status"], again["error"]["code"]) == (400, -1130)

    run(scenario)


def test_orders_can_be_placed_queried_and_canceled_over_the_websocket_api() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), WsApiClient.open(venue) as ws:
            placed = await ws.signed(
                "order.place",
                {"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                 "quantity": "0.010", "price": "29000.00", "newClientOrderId": "ws-1"},
            )  # fmt: skip
            assert placed["status"] == 200, placed
            status = await ws.signed("order.status", {"symbol": BTC, "origClientOrderId": "ws-1"})
            assert status["result"]["status"] == "NEW"
            listed = await ws.signed("openOrders.status", {"symbol": BTC})
            assert [order["clientOrderId"] for order in listed["result"]] == ["ws-1"]
            canceled = await ws.signed(
                "order.cancel", {"symbol": BTC, "orderId": placed["result"]["orderId"]}
            )
            assert canceled["result"]["status"] == "CANCELED"
            missing = await ws.signed("order.status", {"symbol": BTC, "orderId": 1})
            assert (missing["status"], missing["error"]["code"]) == (400, -2013)
            account = await ws.signed("account.status")
            assert account["result"]["accountType"] == "SPOT"
            assert (await ws.request("time"))["result"] == {"serverTime": venue.now_ms()}
            assert (await ws.request("ping"))["result"] == {}

    run(scenario)


def test_a_session_opened_by_a_plain_websocket_client_gets_answers_in_the_venue_shape() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), connect(venue.ws_api_url, open_timeout=5) as raw:
            await raw.send('{"id":7,"method":"time"}')
            answer = orjson.loads(await raw.recv())
            assert set(answer) == {"id", "status", "result", "rateLimits"}
            assert (answer["id"], answer["status"]) == (7, 200)
            assert answer["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
            assert answer["rateLimits"][0]["count"] >= 1

    run(scenario)
