"""Each fault switch does exactly what it says, as many times as asked, and then the venue is normal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import orjson
import pytest

from .support import FakeClock, RestClient, WsApiClient, error_of, make_venue, reports, run, serving, settle

BTC = "BTCUSDT"
ORDER = {
    "symbol": BTC,
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.01",
    "price": "29000",
}


def test_a_lost_order_response_still_places_the_order() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            venue.faults.lose_next_order_response()
            with pytest.raises(httpx.TransportError):
                await client.order(**ORDER, newClientOrderId="lost-1")
            assert [order["clientOrderId"] for order in venue.orders()] == ["lost-1"]
            found = await client.signed(
                "GET", "/api/v3/order", {"symbol": BTC, "origClientOrderId": "lost-1"}
            )
            assert found.json()["status"] == "NEW"
            assert (await client.order(**ORDER)).status_code == 200  # one-shot
            assert venue.stats.responses_lost == 1

    run(scenario)


def test_a_held_order_response_outlasts_the_client_timeout() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            venue.faults.lose_next_order_response(1, hold_seconds=0.5)
            client.http.timeout = httpx.Timeout(0.1)
            with pytest.raises(httpx.TimeoutException):
                await client.order(**ORDER)
            assert len(venue.orders()) == 1

    run(scenario)


@pytest.mark.parametrize(("status", "code"), [(503, -1006), (500, -1007), (408, -1007), (502, -1006)])
def test_a_failure_after_placing_answers_an_unknown_outcome(status: int, code: int) -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            venue.faults.fail_next_order_after_placing(2, status=status)
            for _ in range(2):
                answer = await client.order(**ORDER)
                assert error_of(answer) == (status, code)
                assert "unknown" in answer.json()["msg"]
            assert (await client.order(**ORDER)).status_code == 200
            assert [order["status"] for order in venue.orders()] == ["NEW"] * 3
            assert venue.stats.responses_failed == 2

    run(scenario)


def test_duplicated_reports_are_sent_twice_with_the_same_execution_id() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            await ws.subscribe()
            venue.faults.duplicate_next_reports(2)
            await client.order(symbol=BTC, side="BUY", type="MARKET", quantity="0.5")  # NEW, TRADE, TRADE
            await settle()
            sent = reports(ws.events)
            assert [(r["x"], r["I"]) for r in sent] == [
                (sent[0]["x"], sent[0]["I"]),
                (sent[0]["x"], sent[0]["I"]),
                ("TRADE", sent[2]["I"]),
                ("TRADE", sent[2]["I"]),
                ("TRADE", sent[2]["I"] + 1),
            ]
            assert venue.stats.reports_sent == 5

    run(scenario)


def test_delayed_reports_arrive_late_and_in_order() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            await ws.subscribe()
            venue.faults.delay_reports(0.4)
            await client.order(symbol=BTC, side="BUY", type="MARKET", quantity="0.5")
            await client.order(**ORDER)
            await asyncio.sleep(0.2)
            assert ws.events == []
            events = await ws.wait_events(8, timeout=2.0)
            assert [r["x"] for r in reports(events)] == ["NEW", "TRADE", "TRADE", "NEW"]
            executions = [r["I"] for r in reports(events)]
            assert executions == sorted(executions)

    run(scenario)


def test_dropped_user_streams_close_every_session_and_what_happens_meanwhile_is_missed() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            async with WsApiClient.open(venue) as ws:
                await ws.subscribe()
                assert venue.faults.drop_user_streams() == 1
                await asyncio.wait_for(ws.connection.wait_closed(), 2.0)
                assert ws.connection.close_code != 1000  # cut, not closed cleanly
            assert venue.stats.ws_connections == 0
            filled = (await client.order(symbol=BTC, side="BUY", type="MARKET", quantity="0.1")).json()
            async with WsApiClient.open(venue) as again:
                await again.subscribe()
                await settle()
                assert again.events == []  # the fill happened while no one listened
                trades = await client.signed("GET", "/api/v3/myTrades", {"symbol": BTC})
                assert [t["orderId"] for t in trades.json()] == [filled["orderId"]]  # recovered by query
                await client.order(**ORDER)
                events = await again.wait_events(1)
                assert events[0]["event"]["x"] == "NEW"

    run(scenario)


def test_a_skewed_clock_refuses_timestamps_until_the_client_resyncs() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        venue = make_venue(clock=clock)
        async with serving(venue), RestClient(venue) as client:
            venue.faults.skew_clock(6_000)  # the venue runs ahead: the client's time looks stale
            stale = await client.signed("GET", "/api/v3/account", {}, timestamp=clock())
            assert error_of(stale) == (400, -1021)
            server_time = (await client.public("GET", "/api/v3/time")).json()["serverTime"]
            assert server_time == clock() + 6_000
            resynced = await client.signed("GET", "/api/v3/account", {}, timestamp=server_time)
            assert resynced.status_code == 200
            venue.faults.skew_clock(-2_000)  # behind: the client's time looks ahead
            ahead = await client.signed("GET", "/api/v3/account", {}, timestamp=clock())
            assert error_of(ahead) == (400, -1021)
            assert "ahead" in ahead.json()["msg"]

    run(scenario)


def test_forced_429s_answer_the_next_requests_with_the_retry_after_asked() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        venue = make_venue(clock=clock)
        async with serving(venue), RestClient(venue) as client:
            venue.faults.rate_limit_next(2, retry_after=3)
            for _ in range(2):
                refused = await client.public("GET", "/api/v3/time")
                assert error_of(refused) == (429, -1003)
                assert refused.headers["Retry-After"] == "3"
                clock.advance(3_000)
            assert (await client.public("GET", "/api/v3/time")).status_code == 200
            assert venue.stats.rate_limited == 2

    run(scenario)


def test_order_faults_apply_to_the_websocket_api_too() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), WsApiClient.open(venue) as ws:
            venue.faults.lose_next_order_response()
            request = ws.sign(ORDER)
            await ws.send_raw('{"id":"lost","method":"order.place","params":' + _json(request) + "}")
            with pytest.raises(TimeoutError):
                await ws.response("lost", timeout=0.3)
            assert len(venue.orders()) == 1
            venue.faults.fail_next_order_after_placing(status=500)
            answer = await ws.signed("order.place", ORDER)
            assert (answer["status"], answer["error"]["code"]) == (500, -1007)
            assert len(venue.orders()) == 2

    run(scenario)


def test_fault_switches_refuse_nonsense() -> None:
    venue = make_venue()
    switches: list[Callable[[], object]] = [
        lambda: venue.faults.lose_next_order_response(0),
        lambda: venue.faults.fail_next_order_after_placing(1, status=404),
        lambda: venue.faults.duplicate_next_reports(-1),
        lambda: venue.faults.delay_reports(-1),
        lambda: venue.faults.rate_limit_next(1, retry_after=0),
    ]
    for switch in switches:
        with pytest.raises(ValueError, match="must"):
            switch()


def _json(value: object) -> str:
    return orjson.dumps(value).decode()
