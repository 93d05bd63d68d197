"""The REST/JSON gateway over HTTP against a running engine and its gRPC server.

Every route answers a good request as the gRPC method does; bad input, missing tokens and
refused roles come back with the mapped HTTP status and the field; OpenAPI lists every route;
and no JSON body makes POST /orders answer 500.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute
from tradeplane.v1 import orders_pb2, portfolio_pb2

from entrypoints.web.gateway import build_app
from entrypoints.web.serve import RunningGateway
from tests.integration.grpc.support import (
    ADMIN_TOKEN,
    BTC,
    CALL_TIMEOUT_S,
    STRATEGY,
    TRADER_TOKEN,
    VIEWER,
    VIEWER_TOKEN,
    Env,
)

API = "/api/v1"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


VIEWER_H, TRADER_H, ADMIN_H = auth(VIEWER_TOKEN), auth(TRADER_TOKEN), auth(ADMIN_TOKEN)


def client(gateway: RunningGateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://{gateway.address}", timeout=CALL_TIMEOUT_S)


def limit_buy(client_order_id: str, price: str = "29990.00", quantity: str = "0.01") -> dict[str, Any]:
    """A limit buy below the book: it rests until canceled."""
    return {
        "client_order_id": client_order_id,
        "instrument_id": BTC,
        "side": "SIDE_BUY",
        "type": "ORDER_TYPE_LIMIT",
        "quantity": quantity,
        "price": price,
    }


def market_buy(client_order_id: str) -> dict[str, Any]:
    return {
        "client_order_id": client_order_id,
        "instrument_id": BTC,
        "side": "SIDE_BUY",
        "type": "ORDER_TYPE_MARKET",
        "quantity": "0.01",
    }


def assert_error(response: httpx.Response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"], error
    if field is not None:
        assert error.get("field") == field, error


# -- every route with a good request --------------------------------------------------------------


async def test_status_account_instruments_and_strategies(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        status = await http.get(f"{API}/status", headers=VIEWER_H)
        assert status.status_code == 200, status.text
        assert status.json()["name"] == "grpc-it"
        account = await http.get(f"{API}/account", headers=VIEWER_H)
        assert account.status_code == 200, account.text
        assert "equity" in account.json()["account"]
        instruments = await http.get(f"{API}/instruments", headers=VIEWER_H)
        assert instruments.status_code == 200
        assert BTC in {i["id"] for i in instruments.json()["instruments"]}
        strategies = await http.get(f"{API}/strategies", headers=VIEWER_H)
        assert [s["id"] for s in strategies.json()["strategies"]] == [STRATEGY]


async def test_submit_get_list_cancel_and_fills(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        filled = await http.post(f"{API}/orders", json=market_buy("web-m1"), headers=TRADER_H)
        assert filled.status_code == 200, filled.text
        assert filled.json()["order"]["status"] == "ORDER_STATUS_FILLED"
        resting = await http.post(f"{API}/orders", json=limit_buy("web-l1"), headers=TRADER_H)
        assert resting.json()["order"]["status"] == "ORDER_STATUS_ACCEPTED", resting.text

        one = await http.get(f"{API}/orders/web-l1", headers=VIEWER_H)
        assert one.status_code == 200
        assert one.json()["order"]["client_order_id"] == "web-l1"
        open_only = await http.get(f"{API}/orders", params={"open_only": "true"}, headers=VIEWER_H)
        assert [o["client_order_id"] for o in open_only.json()["orders"]] == ["web-l1"]
        listed = await http.get(f"{API}/orders", params={"instrument_id": BTC}, headers=VIEWER_H)
        assert {o["client_order_id"] for o in listed.json()["orders"]} == {"web-m1", "web-l1"}

        fills = await http.get(f"{API}/fills", params={"client_order_id": "web-m1"}, headers=VIEWER_H)
        assert fills.status_code == 200
        assert [f["client_order_id"] for f in fills.json()["fills"]] == ["web-m1"]
        positions = await http.get(f"{API}/positions", headers=VIEWER_H)
        assert [p["instrument_id"] for p in positions.json()["positions"]] == [BTC]

        canceled = await http.delete(f"{API}/orders/web-l1", headers=TRADER_H)
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["order"]["status"] in {"ORDER_STATUS_CANCELED", "ORDER_STATUS_CANCEL_PENDING"}


async def test_cancel_all(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        for n in range(2):
            await http.post(f"{API}/orders", json=limit_buy(f"web-ca{n}"), headers=TRADER_H)
        canceled = await http.post(f"{API}/orders/cancel-all", json={"instrument_id": BTC}, headers=TRADER_H)
        assert canceled.status_code == 200, canceled.text
        assert {o["client_order_id"] for o in canceled.json()["orders"]} == {"web-ca0", "web-ca1"}


async def test_strategy_start_and_stop(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        started = await http.post(f"{API}/strategies/{STRATEGY}/start", headers=ADMIN_H)
        assert started.status_code == 200, started.text
        assert started.json()["strategy"]["active"] is True
        stopped = await http.post(f"{API}/strategies/{STRATEGY}/stop", headers=ADMIN_H)
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["strategy"].get("active", False) is False
        unknown = await http.post(f"{API}/strategies/nope/start", headers=ADMIN_H)
        assert_error(unknown, 404, "NOT_FOUND")


async def test_risk_halt_and_resume(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        risk = await http.get(f"{API}/risk", headers=VIEWER_H)
        assert risk.status_code == 200, risk.text
        assert risk.json()["limits"]["max_order_quantity"] == "5"
        assert risk.json()["state"]["state"] == "TRADING_STATE_ACTIVE"
        halted = await http.post(f"{API}/risk/halt", json={"reason": "web test"}, headers=ADMIN_H)
        assert halted.status_code == 200, halted.text
        assert halted.json()["state"]["state"] == "TRADING_STATE_HALTED"
        refused = await http.post(f"{API}/orders", json=market_buy("web-h1"), headers=TRADER_H)
        assert_error(refused, 409, "FAILED_PRECONDITION")
        resumed = await http.post(f"{API}/risk/resume", headers=ADMIN_H)
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["state"]["state"] == "TRADING_STATE_ACTIVE"


# -- bad input, tokens and roles ------------------------------------------------------------------


async def test_bad_input_is_400_naming_the_field(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        post = f"{API}/orders"
        malformed = await http.post(post, content=b'{"client_order_id": ', headers=TRADER_H)
        assert_error(malformed, 400, "INVALID_ARGUMENT")
        assert "malformed JSON" in malformed.json()["error"]["message"]
        not_object = await http.post(post, json=[1, 2], headers=TRADER_H)
        assert_error(not_object, 400, "INVALID_ARGUMENT")
        unknown = await http.post(post, json={**limit_buy("web-b1"), "colour": "red"}, headers=TRADER_H)
        assert_error(unknown, 400, "INVALID_ARGUMENT", field="colour")
        bad_enum = await http.post(post, json={**limit_buy("web-b2"), "side": "UP"}, headers=TRADER_H)
        assert_error(bad_enum, 400, "INVALID_ARGUMENT", field="side")
        bad_decimal = await http.post(post, json=limit_buy("web-b3", quantity="1.2.3"), headers=TRADER_H)
        assert_error(bad_decimal, 400, "INVALID_ARGUMENT", field="quantity")
        assert bad_decimal.json()["error"]["reason"] == "BAD_FIELD"
        bad_query = await http.get(f"{API}/orders", params={"page_size": "many"}, headers=VIEWER_H)
        assert_error(bad_query, 400, "INVALID_ARGUMENT", field="page_size")
        unknown_query = await http.get(f"{API}/fills", params={"colour": "red"}, headers=VIEWER_H)
        assert_error(unknown_query, 400, "INVALID_ARGUMENT", field="colour")


async def test_unknown_order_is_404(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        assert_error(await http.get(f"{API}/orders/no-such", headers=VIEWER_H), 404, "NOT_FOUND")
        assert_error(await http.delete(f"{API}/orders/no-such", headers=TRADER_H), 404, "NOT_FOUND")


async def test_no_token_is_401_and_viewer_submitting_is_403(gateway: RunningGateway, env: Env) -> None:
    async with client(gateway) as http:
        assert_error(await http.get(f"{API}/status"), 401, "UNAUTHENTICATED")
        assert_error(
            await http.get(f"{API}/status", headers=auth("wrong-token-0123456789")), 401, "UNAUTHENTICATED"
        )
        denied = await http.post(f"{API}/orders", json=market_buy("web-v1"), headers=VIEWER_H)
        assert_error(denied, 403, "PERMISSION_DENIED")
    assert env.order_count() == 0


# -- the same answers as gRPC, idempotency --------------------------------------------------------


async def test_the_same_answer_as_grpc(gateway: RunningGateway, env: Env) -> None:
    await env.submit("web-g1")
    await env.rest("web-g2")
    async with client(gateway) as http:
        http_orders = (await http.get(f"{API}/orders", headers=VIEWER_H)).json()
        http_positions = (await http.get(f"{API}/positions", headers=VIEWER_H)).json()
    grpc_orders = await env.stub.orders.ListOrders(orders_pb2.ListOrdersRequest(), metadata=VIEWER)
    grpc_positions = await env.stub.portfolio.ListPositions(
        portfolio_pb2.ListPositionsRequest(), metadata=VIEWER
    )
    assert http_orders == json_format.MessageToDict(grpc_orders, preserving_proto_field_name=True)
    assert http_positions == json_format.MessageToDict(grpc_positions, preserving_proto_field_name=True)
    assert len(http_orders["orders"]) == 2


async def test_resubmitting_a_client_order_id_is_idempotent(gateway: RunningGateway, env: Env) -> None:
    async with client(gateway) as http:
        first = await http.post(f"{API}/orders", json=limit_buy("web-i1"), headers=TRADER_H)
        again = await http.post(f"{API}/orders", json=limit_buy("web-i1"), headers=TRADER_H)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json().get("duplicate", False) is False
    assert again.json()["duplicate"] is True
    assert again.json()["order"]["client_order_id"] == "web-i1"
    assert env.order_count() == 1


# -- OpenAPI --------------------------------------------------------------------------------------


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """The app's API routes, those of the routers it includes too."""
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:  # not the console's pages
            yield route
        included = getattr(route, "original_router", None)  # how FastAPI keeps an included router
        if included is not None:
            yield from api_routes(included.routes)


async def test_openapi_lists_every_route(gateway: RunningGateway) -> None:
    routes = {
        (route.path, method.lower())
        for route in api_routes(build_app("127.0.0.1:1").routes)
        for method in route.methods or ()
    }
    assert len(routes) == 32
    async with client(gateway) as http:
        docs = await http.get("/docs")
        spec = (await http.get("/openapi.json")).json()
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    listed = {(path, method) for path, methods in spec["paths"].items() for method in methods}
    assert listed == routes
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"  # /docs's Authorize
    assert spec["security"] == [{"bearer": []}]
    submit = spec["paths"][f"{API}/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert "quantity" in submit["schema"]["properties"]
    names = {p["name"] for p in spec["paths"][f"{API}/orders"]["get"]["parameters"]}
    assert {"instrument_id", "status", "open_only", "page_size"} <= names


# -- fuzz -----------------------------------------------------------------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["SIDE_BUY", "ORDER_TYPE_LIMIT", "0.01", "-1", "1e400", BTC, "NaN"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    ["client_order_id", "instrument_id", "side", "type", "quantity", "price", "stop_price",
     "time_in_force", "reduce_only", "strategy_id", "post_only", "clientOrderId", "extra"]
)  # fmt: skip
_BODIES = st.one_of(
    st.dictionaries(_KEYS, _VALUES, max_size=6).map(lambda body: json.dumps(body).encode()),
    st.binary(max_size=40),
    _VALUES.map(lambda value: json.dumps(value).encode()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=_BODIES)
def test_fuzzed_bodies_never_answer_500(
    loop: asyncio.AbstractEventLoop, gateway: RunningGateway, raw: bytes
) -> None:
    async def post() -> httpx.Response:
        async with client(gateway) as http:
            return await http.post(
                f"{API}/orders", content=raw, headers={**TRADER_H, "Content-Type": "application/json"}
            )

    response = loop.run_until_complete(asyncio.wait_for(post(), CALL_TIMEOUT_S * 2))
    assert response.status_code < 500, (raw, response.text)
    if response.status_code >= 400:
        assert response.json()["error"]["code"], response.text


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/orders/cancel-all", "/api/v1/risk/halt"])
async def test_empty_bodies_are_empty_messages(gateway: RunningGateway, path: str) -> None:
    async with client(gateway) as http:
        response = await http.post(path, headers=VIEWER_H)
    # The viewer is refused by the server, which means the empty body reached it as a message.
    assert_error(response, 403, "PERMISSION_DENIED")
