"""What the venue refuses, with the code and message it refuses with, and that nothing changed after."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from .support import RestClient, WsApiClient, error_of, make_venue, reports, run, serving, settle

BTC = "BTCUSDT"
D = Decimal
LIMIT = {"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}


async def _refused(params: dict[str, Any]) -> tuple[int, int, str]:
    venue = make_venue()
    async with serving(venue), RestClient(venue) as client:
        answer = await client.order(**params)
        assert venue.orders() == []
        assert venue.balances()["USDT"] == (D("100000"), D(0))
        status, code = error_of(answer)
        return status, code, answer.json()["msg"]


@pytest.mark.parametrize(
    ("params", "failure"),
    [
        ({**LIMIT, "quantity": "0.01", "price": "29000.005"}, "PRICE_FILTER"),  # off the tick
        ({**LIMIT, "quantity": "0.01", "price": "0.001"}, "PRICE_FILTER"),  # below minPrice
        ({**LIMIT, "quantity": "0.01", "price": "2000000"}, "PRICE_FILTER"),  # above maxPrice
        ({**LIMIT, "quantity": "0.0105", "price": "29000"}, "LOT_SIZE"),  # off the step
        ({**LIMIT, "quantity": "0.0005", "price": "29000"}, "LOT_SIZE"),  # below minQty
        ({**LIMIT, "quantity": "9001", "price": "1"}, "LOT_SIZE"),  # above maxQty
        ({**LIMIT, "quantity": "0.001", "price": "4000"}, "NOTIONAL"),  # 4 < 5
        ({"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "101"}, "MARKET_LOT_SIZE"),
        ({"symbol": BTC, "side": "BUY", "type": "MARKET", "quoteOrderQty": "4.99"}, "NOTIONAL"),
        (
            {"symbol": BTC, "side": "SELL", "type": "STOP_LOSS", "quantity": "0.01", "stopPrice": "1.001"},
            "PRICE_FILTER",
        ),
    ],
)
def test_filter_failures_are_refused_with_1013(params: dict[str, Any], failure: str) -> None:
    assert run(lambda: _refused(params)) == (400, -1013, f"Filter failure: {failure}")


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"side": "BUY", "type": "MARKET", "quantity": "1"}, -1102, "'symbol'"),
        ({"symbol": "NOPE", "side": "BUY", "type": "MARKET", "quantity": "1"}, -1121, "Invalid symbol."),
        ({"symbol": BTC, "side": "UP", "type": "MARKET", "quantity": "1"}, -1117, "Invalid side."),
        ({"symbol": BTC, "side": "BUY", "type": "MARKETISH", "quantity": "1"}, -1116, "Invalid orderType."),
        ({**LIMIT, "timeInForce": "GTX", "quantity": "1", "price": "1"}, -1115, "Invalid timeInForce."),
        ({**LIMIT, "quantity": "0.01"}, -1102, "'price'"),
        (
            {"symbol": BTC, "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "29000"},
            -1102,
            "'timeInForce'",
        ),
        ({"symbol": BTC, "side": "BUY", "type": "MARKET"}, -1102, "'quantity' or 'quoteOrderQty'"),
        ({"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "1", "price": "1"}, -1106, "'price'"),
        (
            {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "1", "timeInForce": "GTC"},
            -1106,
            "'timeInForce'",
        ),
        ({**LIMIT, "quantity": "0.01", "price": "29000", "stopPrice": "1"}, -1106, "'stopPrice'"),
        ({"symbol": BTC, "side": "BUY", "type": "STOP_LOSS", "quantity": "0.01"}, -1102, "'stopPrice'"),
        (
            {**LIMIT, "quantity": "0.01", "price": "29000", "colour": "blue"},
            -1104,
            "read '8' parameter(s) but was sent '9'",
        ),
        ({**LIMIT, "quantity": "0.01", "price": "29000", "icebergQty": "0.001"}, -1014, "Unsupported"),
        ({**LIMIT, "quantity": "1e-2", "price": "29000"}, -1100, "'quantity'"),
        ({**LIMIT, "quantity": "-1", "price": "29000"}, -1100, "'quantity'"),
        ({**LIMIT, "quantity": "0.000000001", "price": "29000"}, -1111, "Precision"),
        (
            {**LIMIT, "quantity": "0.01", "price": "29000", "newClientOrderId": "has space"},
            -1100,
            "newClientOrderId",
        ),
        ({**LIMIT, "quantity": "0.01", "price": "29000", "newClientOrderId": ""}, -1118, "empty"),
        (
            {**LIMIT, "quantity": "0.01", "price": "29000", "newOrderRespType": "ALL"},
            -1130,
            "newOrderRespType",
        ),
        ({**LIMIT, "quantity": "0.01", "price": "29000", "strategyType": "5"}, -1134, "strategyType"),
    ],
)
def test_malformed_orders_are_refused_with_the_venue_code(
    params: dict[str, Any], code: int, words: str
) -> None:
    status, got, msg = run(lambda: _refused(params))
    assert (status, got) == (400, code), msg
    assert words in msg


def test_a_duplicate_parameter_in_the_query_is_refused() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            query = f"symbol={BTC}&symbol={BTC}&timestamp={venue.now_ms()}"
            signature = client.signer.sign(query)
            answer = await client.http.get(
                f"/api/v3/openOrders?{query}&signature={signature}", headers={"X-MBX-APIKEY": client.api_key}
            )
            assert error_of(answer) == (400, -1101)

    run(scenario)


def test_the_query_string_wins_over_the_body_for_the_same_parameter() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&price=29000"
            body = f"price=1&quantity=0.01&timestamp={venue.now_ms()}"
            signature = client.signer.sign(query + body)
            answer = await client.http.post(
                f"/api/v3/order?{query}",
                content=f"{body}&signature={signature}",
                headers={"X-MBX-APIKEY": client.api_key, "Content-Type": "application/x-www-form-urlencoded"},
            )
            assert answer.status_code == 200, answer.text
            assert venue.orders()[0]["price"] == "29000.00000000"

    run(scenario)


def test_insufficient_balance_is_refused_and_reported_rejected() -> None:
    async def scenario() -> None:
        venue = make_venue(balances={"USDT": D("100"), "BTC": D("0.01")})
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            await ws.subscribe()
            for params in (
                {**LIMIT, "quantity": "0.01", "price": "29000"},  # 290 > 100
                {
                    "symbol": BTC,
                    "side": "SELL",
                    "type": "LIMIT",
                    "timeInForce": "GTC",
                    "quantity": "0.02",
                    "price": "31000",
                },
                {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.01"},
                {"symbol": BTC, "side": "BUY", "type": "MARKET", "quoteOrderQty": "100.01"},
            ):
                answer = await client.order(**params)
                assert error_of(answer) == (400, -2010)
                assert answer.json()["msg"] == "Account has insufficient balance for requested action."
            assert venue.orders() == []
            assert venue.balances() == {"BTC": (D("0.01"), D(0)), "ETH": (0, D(0)), "USDT": (D("100"), D(0))}
            await settle()
            assert [r["r"] for r in reports(ws.events)] == ["INSUFFICIENT_BALANCES"] * 4
            assert venue.stats.orders_rejected == 4

    run(scenario)


def test_a_client_order_id_is_unique_among_open_orders_only() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            first = await client.order(**LIMIT, quantity="0.01", price="29000", newClientOrderId="same")
            assert first.status_code == 200
            again = await client.order(**LIMIT, quantity="0.01", price="29001", newClientOrderId="same")
            assert error_of(again) == (400, -2010)
            assert again.json()["msg"] == "Duplicate order sent."
            await client.signed("DELETE", "/api/v3/order", {"symbol": BTC, "origClientOrderId": "same"})
            reused = await client.order(**LIMIT, quantity="0.01", price="29002", newClientOrderId="same")
            assert reused.status_code == 200, reused.text
            status = await client.signed("GET", "/api/v3/order", {"symbol": BTC, "origClientOrderId": "same"})
            assert status.json()["price"] == "29002.00000000"  # the newest order with that id

    run(scenario)


@pytest.mark.parametrize(
    ("method", "path", "params", "expected"),
    [
        (
            "DELETE",
            "/api/v3/order",
            {"symbol": BTC, "orderId": "424242"},
            (400, -2011, "Unknown order sent."),
        ),
        (
            "DELETE",
            "/api/v3/order",
            {"symbol": BTC, "origClientOrderId": "ghost"},
            (400, -2011, "Unknown order sent."),
        ),
        ("GET", "/api/v3/order", {"symbol": BTC, "orderId": "424242"}, (400, -2013, "Order does not exist.")),
        (
            "GET",
            "/api/v3/order",
            {"symbol": BTC, "origClientOrderId": "ghost"},
            (400, -2013, "Order does not exist."),
        ),
        (
            "GET",
            "/api/v3/order",
            {"symbol": BTC},
            (400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"),
        ),
        (
            "GET",
            "/api/v3/myTrades",
            {"symbol": BTC, "limit": "1001"},
            (400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1 - 1000'."),
        ),
        (
            "GET",
            "/api/v3/allOrders",
            {},
            (400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
        ),
        ("GET", "/api/v3/account/commission", {"symbol": "NOPE"}, (400, -1121, "Invalid symbol.")),
    ],
)
def test_unknown_orders_and_bad_queries_are_refused(
    method: str, path: str, params: dict[str, str], expected: tuple[int, int, str]
) -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            answer = await client.signed(method, path, params)
            assert (*error_of(answer), answer.json()["msg"]) == expected

    run(scenario)


def test_an_unknown_path_or_method_is_answered_not_crashed_on() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            assert (await client.public("GET", "/api/v3/nothing-here")).status_code == 404
            assert (await client.public("PUT", "/api/v3/order")).status_code == 405
            assert (await client.public("GET", "/api/v3/time")).status_code == 200

    run(scenario)
