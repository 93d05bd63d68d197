"""The console's login against a running engine: cookies, CSRF, roles, expiry, throttling.

A session acts exactly as its token does at the gRPC services (the same roles and answers);
the token itself never leaves the server after login; a change without the CSRF header is
refused before it reaches the engine; failed logins are logged without what was typed.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entrypoints.web.serve import RunningGateway
from entrypoints.web.sessions import COOKIE
from tests.integration.grpc.support import ADMIN_TOKEN, CALL_TIMEOUT_S, TRADER_TOKEN, VIEWER_TOKEN, Env
from tests.integration.web.test_gateway import API, assert_error, client, limit_buy


async def login(http: httpx.AsyncClient, token: str) -> dict[str, str]:
    """Log in; the answer's body (the cookie stays in ``http``'s jar)."""
    response = await http.post(f"{API}/session", json={"token": token})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def test_login_sets_a_strict_httponly_cookie_and_never_returns_the_token(
    console: RunningGateway,
) -> None:
    async with client(console) as http:
        response = await http.post(f"{API}/session", json={"token": TRADER_TOKEN})
        assert response.status_code == 200, response.text
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # plaintext HTTP: a Secure cookie would never come back
        body = response.json()
        assert body["name"] == "trader"
        assert body["role"] == "trader"
        assert len(body["csrf_token"]) >= 32
        assert TRADER_TOKEN not in response.text
        assert TRADER_TOKEN not in cookie
        me = await http.get(f"{API}/session")
        assert me.status_code == 200
        assert me.json()["csrf_token"] == body["csrf_token"]
        assert TRADER_TOKEN not in me.text


async def test_a_session_reads_as_its_token(console: RunningGateway, env: Env) -> None:
    async with client(console) as http:
        await login(http, VIEWER_TOKEN)
        status = await http.get(f"{API}/status")
        assert status.status_code == 200, status.text
        assert status.json()["name"]
        stream = await http.get(f"{API}/session")
        assert stream.json()["role"] == "viewer"


async def test_a_change_without_the_csrf_header_is_refused_before_the_engine(
    console: RunningGateway, env: Env
) -> None:
    async with client(console) as http:
        await login(http, TRADER_TOKEN)
        refused = await http.post(f"{API}/orders", json=limit_buy("csrf-none"))
        assert_error(refused, 403, "PERMISSION_DENIED")
        assert refused.json()["error"]["reason"] == "CSRF"
        wrong = await http.post(
            f"{API}/orders", json=limit_buy("csrf-wrong"), headers={"X-CSRF-Token": "x" * 43}
        )
        assert wrong.json()["error"]["reason"] == "CSRF"
        orders = await http.get(f"{API}/orders")
        ids = {order["client_order_id"] for order in orders.json().get("orders", [])}
        assert not ids & {"csrf-none", "csrf-wrong"}


async def test_a_change_with_the_csrf_header_runs_with_the_sessions_role(console: RunningGateway) -> None:
    async with client(console) as http:
        session = await login(http, TRADER_TOKEN)
        csrf = {"X-CSRF-Token": session["csrf_token"]}
        placed = await http.post(f"{API}/orders", json=limit_buy("session-order-1"), headers=csrf)
        assert placed.status_code == 200, placed.text
        canceled = await http.delete(f"{API}/orders/session-order-1", headers=csrf)
        assert canceled.status_code == 200, canceled.text
        halt = await http.post(f"{API}/risk/halt", json={"reason": "test"}, headers=csrf)
        assert_error(halt, 403, "PERMISSION_DENIED")  # a trader may not halt: the gRPC service says so


async def test_a_viewer_session_is_refused_every_change(console: RunningGateway) -> None:
    async with client(console) as http:
        session = await login(http, VIEWER_TOKEN)
        csrf = {"X-CSRF-Token": session["csrf_token"]}
        order = await http.post(f"{API}/orders", json=limit_buy("viewer-order"), headers=csrf)
        assert_error(order, 403, "PERMISSION_DENIED")
        assert "viewer" in order.json()["error"]["message"]
        halt = await http.post(f"{API}/risk/halt", json={"reason": "test"}, headers=csrf)
        assert_error(halt, 403, "PERMISSION_DENIED")


async def test_an_admin_session_halts_and_resumes(console: RunningGateway) -> None:
    async with client(console) as http:
        session = await login(http, ADMIN_TOKEN)
        csrf = {"X-CSRF-Token": session["csrf_token"]}
        halted = await http.post(f"{API}/risk/halt", json={"reason": "from the console"}, headers=csrf)
        assert halted.status_code == 200, halted.text
        assert halted.json()["state"]["state"] == "TRADING_STATE_HALTED"
        resumed = await http.post(f"{API}/risk/resume", json={}, headers=csrf)
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["state"]["state"] == "TRADING_STATE_ACTIVE"


async def test_a_bearer_header_wins_over_a_cookie_and_needs_no_csrf(console: RunningGateway) -> None:
    async with client(console) as http:
        await login(http, VIEWER_TOKEN)
        placed = await http.post(
            f"{API}/orders",
            json=limit_buy("bearer-over-cookie"),
            headers={"Authorization": f"Bearer {TRADER_TOKEN}"},
        )
        assert placed.status_code == 200, placed.text


async def test_logout_ends_the_session(console: RunningGateway) -> None:
    async with client(console) as http:
        session = await login(http, VIEWER_TOKEN)
        cookie = http.cookies[COOKIE]
        no_csrf = await http.delete(f"{API}/session")
        assert no_csrf.status_code == 403
        out = await http.delete(f"{API}/session", headers={"X-CSRF-Token": session["csrf_token"]})
        assert out.status_code == 204
        assert COOKIE not in http.cookies
        http.cookies.set(COOKIE, cookie)  # a copy kept by an attacker is worth nothing now
        after = await http.get(f"{API}/status")
        assert_error(after, 401, "UNAUTHENTICATED")
        assert after.json()["error"]["reason"] == "SESSION_EXPIRED"


async def test_an_unknown_cookie_is_401_and_no_cookie_is_the_usual_401(console: RunningGateway) -> None:
    async with client(console) as http:
        http.cookies.set(COOKIE, "forged-" + "a" * 40)
        forged = await http.get(f"{API}/account")
        assert_error(forged, 401, "UNAUTHENTICATED")
        http.cookies.clear()
        none = await http.get(f"{API}/account")
        assert_error(none, 401, "UNAUTHENTICATED")
        me = await http.get(f"{API}/session")
        assert_error(me, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"token": 12}',
        b'{"token": ""}',
        b'{"token": "   "}',
        b'{"tokens": "x"}',
        b'{"token": "' + b"a" * 5000 + b'"}',
        '{"token": "\u00e9\u0000\u202e"}'.encode(),
    ],
)
async def test_malformed_logins_are_400_naming_the_token(console: RunningGateway, body: bytes) -> None:
    async with client(console) as http:
        response = await http.post(
            f"{API}/session", content=body, headers={"Content-Type": "application/json"}
        )
        if response.status_code == 401:  # a well-formed string that is no token
            assert response.json()["error"]["reason"] == "BAD_TOKEN"
        else:
            assert_error(response, 400, "INVALID_ARGUMENT", field="token")


async def test_failed_logins_are_logged_without_the_token_and_throttled(
    console: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    guess = "guess-token-that-must-not-be-logged"
    with caplog.at_level(logging.WARNING, logger="tradeplane.web.audit"):
        async with client(console) as http:
            answers = [(await http.post(f"{API}/session", json={"token": f"{guess}{i}"})) for i in range(7)]
            good = await http.post(f"{API}/session", json={"token": ADMIN_TOKEN})
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 2
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert answers[-1].json()["error"]["reason"] == "LOGIN_THROTTLED"
    assert good.status_code == 429  # even the right token waits: guessing must not pay
    failures = [r for r in caplog.records if "failed console login" in r.getMessage()]
    assert len(failures) == 5
    assert all("127.0.0.1" in r.getMessage() for r in failures)
    assert guess not in caplog.text


async def test_the_gateway_without_sessions_refuses_login(gateway: RunningGateway) -> None:
    async with client(gateway) as http:
        response = await http.post(f"{API}/session", json={"token": VIEWER_TOKEN})
        assert_error(response, 501, "UNIMPLEMENTED")


async def test_the_order_stream_runs_on_a_session(console: RunningGateway) -> None:
    async with client(console) as http:
        await login(http, VIEWER_TOKEN)
        async with http.stream("GET", f"{API}/stream/orders") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")


# -- fuzz -----------------------------------------------------------------------------------------

_HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(
    str.strip
)  # what an HTTP client can send in a header (no space at either end)
_ROUTES = st.sampled_from(
    [("GET", "/status"), ("POST", "/orders"), ("DELETE", "/orders/x"), ("POST", "/risk/halt"),
     ("GET", "/session"), ("POST", "/session"), ("DELETE", "/session"), ("GET", "/stream/alerts"),
     ("PATCH", "/risk/limits"), ("GET", "/nowhere")]
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=_ROUTES, cookie=_HEADER_TEXT, csrf=st.none() | _HEADER_TEXT, body=st.binary(max_size=60))
def test_fuzzed_cookies_csrf_headers_and_bodies_never_answer_500(
    loop: asyncio.AbstractEventLoop,
    console: RunningGateway,
    *,
    route: tuple[str, str],
    cookie: str,
    csrf: str | None,
    body: bytes,
) -> None:
    method, path = route

    async def send() -> httpx.Response:
        headers = {"Cookie": f"{COOKIE}={cookie}", "Content-Type": "application/json"}
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf
        async with client(console) as http:
            return await http.request(method, f"{API}{path}", content=body, headers=headers)

    response = loop.run_until_complete(asyncio.wait_for(send(), CALL_TIMEOUT_S * 2))
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.headers.get("content-type") == "application/json":
        assert response.json().get("error", {}).get("code") or response.json().get("detail"), response.text
    assert "Traceback" not in response.text
