"""Browser sessions: a token typed once at login, then an HttpOnly cookie and a CSRF header.

A browser must not keep the bearer token where a script could read it, so ``POST
/api/v1/session`` checks the token (``identify``: its name and role, no call is made as it)
and answers a random session id in an HttpOnly, SameSite=Strict cookie (Secure over TLS)
and a CSRF token in the body. The token stays in this process's memory only, never in a
cookie, a log or an answer. On each ``/api/`` request without an ``Authorization`` header,
``SessionMiddleware`` turns the cookie back into the token's header, so the gRPC services
authorize the session exactly as the token; a request that changes anything must also
carry ``X-CSRF-Token``. Sessions end after ``idle_s`` without a request, after
``lifetime_s`` in all, at logout, and when the process stops. Failed logins are logged
(the client's address, never what was typed) and limited per address.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request, cookie_parser
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from entrypoints.grpc.auth import Caller
from entrypoints.web.transcode import error_body

log = logging.getLogger("tradeplane.web.audit")

COOKIE = "tp_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_CHARS = 512
MAX_LOGIN_BYTES = 4096
Identify = Callable[[str], Caller | None]

router = APIRouter(prefix="/api/v1", tags=["session"])


@dataclass(slots=True)
class Session:
    token: str = field(repr=False)
    caller: Caller
    csrf: str = field(repr=False)
    started: float
    seen: float


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions last and how many failed logins an address may make."""

    idle_s: float = 30 * 60.0
    lifetime_s: float = 12 * 3600.0
    max_sessions: int = 1000
    failures_allowed: int = 5
    failure_window_s: float = 300.0
    secure_cookie: bool = False


class Sessions:
    """The live sessions and the failed-login record, in memory (a restart logs everyone out)."""

    def __init__(
        self,
        identify: Identify,
        policy: SessionPolicy | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.identify = identify
        self.policy = policy or SessionPolicy()
        self._monotonic = monotonic
        self._live: OrderedDict[str, Session] = OrderedDict()  # oldest login first
        self._failures: dict[str, deque[float]] = {}
        self.failed_logins = 0

    def retry_after(self, address: str) -> float:
        """Seconds ``address`` must wait before its next login attempt (0: it may try now)."""
        now = self._monotonic()
        window = self.policy.failure_window_s
        failures = self._failures.get(address)
        if not failures:
            return 0.0
        while failures and now - failures[0] >= window:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return 0.0
        if len(failures) < self.policy.failures_allowed:
            return 0.0
        return window - (now - failures[0])

    def failed(self, address: str) -> None:
        self.failed_logins += 1
        if len(self._failures) >= 10 * self.policy.max_sessions and address not in self._failures:
            self._failures.pop(next(iter(self._failures)))  # a spray of addresses cannot grow it
        self._failures.setdefault(address, deque()).append(self._monotonic())

    def open(self, token: str, caller: Caller) -> tuple[str, Session]:
        now = self._monotonic()
        while len(self._live) >= self.policy.max_sessions:
            self._live.popitem(last=False)
        sid = secrets.token_urlsafe(32)
        session = Session(token, caller, secrets.token_urlsafe(32), now, now)
        self._live[sid] = session
        return sid, session

    def find(self, sid: str) -> Session | None:
        """The session of ``sid`` if it is live (its idle clock restarts), else None."""
        session = self._live.get(sid)
        if session is None:
            return None
        now = self._monotonic()
        if now - session.seen >= self.policy.idle_s or now - session.started >= self.policy.lifetime_s:
            del self._live[sid]
            return None
        session.seen = now
        return session

    def close(self, sid: str) -> None:
        self._live.pop(sid, None)

    def __len__(self) -> int:
        return len(self._live)


def sessions_of(request: Request) -> Sessions | None:
    return getattr(request.app.state, "sessions", None)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _described(session: Session, policy: SessionPolicy) -> dict[str, Any]:
    return {
        "name": session.caller.name,
        "role": session.caller.role.name.lower(),
        "csrf_token": session.csrf,
        "idle_timeout_seconds": int(policy.idle_s),
    }


def _refused(status: int, code: str, message: str, reason: str) -> JSONResponse:
    return JSONResponse(error_body(code, message, reason=reason), status_code=status)


_NO_LOGIN = _refused(501, "UNIMPLEMENTED", "this gateway has no browser login", "NO_SESSIONS")


@router.post(
    "/session",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["token"],
                        "properties": {"token": {"type": "string"}},
                    }
                }
            },
        }
    },
)
async def login(request: Request) -> Response:
    """Log in with a token: an HttpOnly session cookie, and the CSRF token in the body."""
    sessions = sessions_of(request)
    if sessions is None:
        return _NO_LOGIN
    address = _client(request.scope)
    wait = sessions.retry_after(address)
    if wait > 0:
        response = _refused(
            429, "RESOURCE_EXHAUSTED", f"too many failed logins; retry in {wait:.0f}s", "LOGIN_THROTTLED"
        )
        response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        return response
    raw = await request.body()
    try:
        payload = json.loads(raw) if len(raw) <= MAX_LOGIN_BYTES else None
    except ValueError:
        payload = None
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN_CHARS:
        return JSONResponse(
            error_body("INVALID_ARGUMENT", 'token: send {"token": "<token>"}', field="token"), status_code=400
        )
    caller = sessions.identify(token)
    if caller is None:
        sessions.failed(address)
        log.warning("failed console login from %s: unknown or revoked token", address)
        return _refused(401, "UNAUTHENTICATED", "unknown or revoked token", "BAD_TOKEN")
    sid, session = sessions.open(token.strip(), caller)
    log.info("console login of %s (%s) from %s", caller.name, caller.role.name.lower(), address)
    response = JSONResponse(_described(session, sessions.policy))
    response.set_cookie(
        COOKIE,
        sid,
        max_age=int(sessions.policy.lifetime_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=sessions.policy.secure_cookie,
    )
    return response


@router.get("/session")
async def current_session(request: Request) -> Response:
    """Who the session cookie belongs to and its CSRF token; 401 when there is none."""
    sessions = sessions_of(request)
    if sessions is None:
        return _NO_LOGIN
    session = sessions.find(request.cookies.get(COOKIE, ""))
    if session is None:
        return _refused(401, "UNAUTHENTICATED", "not logged in, or the session expired", "NO_SESSION")
    return JSONResponse(_described(session, sessions.policy))


@router.delete("/session")
async def logout(request: Request) -> Response:
    """End the session (the CSRF header is required, as for every change)."""
    sessions = sessions_of(request)
    if sessions is not None:
        sessions.close(request.cookies.get(COOKIE, ""))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    return None if raw is None else cookie_parser(raw.decode("latin-1")).get(COOKIE)


class SessionMiddleware:
    """The session cookie as the token's ``Authorization`` header, on ``/api/`` requests only.

    A request with its own ``Authorization`` header is left alone (a program's, not a
    browser session's). A cookie of no live session is 401; a change without the session's
    CSRF token is 403. Logging in needs neither.
    """

    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if _header(scope, b"authorization") is not None:
            await self.app(scope, receive, send)
            return
        sid = _cookie(scope)
        path, method = scope["path"], scope["method"]
        if sid is None or (path == "/api/v1/session" and method in {"POST", "GET"}):
            await self.app(scope, receive, send)
            return
        session = self.sessions.find(sid)
        if session is None:
            refusal = _refused(401, "UNAUTHENTICATED", "the session expired: log in again", "SESSION_EXPIRED")
            await refusal(scope, receive, send)
            return
        if method not in SAFE_METHODS:
            sent = _header(scope, CSRF_HEADER.encode()) or b""
            if not hmac.compare_digest(sent, session.csrf.encode()):
                log.warning("%s %s from %s refused: no or a wrong CSRF token", method, path, _client(scope))
                refusal = _refused(403, "PERMISSION_DENIED", "missing or wrong X-CSRF-Token header", "CSRF")
                await refusal(scope, receive, send)
                return
        headers = list(scope["headers"])
        headers.append((b"authorization", f"Bearer {session.token}".encode()))
        await self.app({**scope, "headers": headers}, receive, send)
