"""The gateway's FastAPI app: the routes over one loopback channel to the gRPC control plane.

It transcodes and nothing more: validation, roles, idempotency and error mapping stay in the
gRPC services, so HTTP and gRPC callers get the same answers. It also serves the console (the
pages under ``static/``, at ``/``) and Swagger UI at ``/docs``, every file from the package:
nothing is fetched from elsewhere, and the Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.version import package_version
from entrypoints.web import backtest_routes, market_routes, ml_routes
from entrypoints.web.api import Stubs
from entrypoints.web.routes import router
from entrypoints.web.sessions import SessionMiddleware, Sessions
from entrypoints.web.sessions import router as session_router
from entrypoints.web.streams import router as stream_router
from entrypoints.web.transcode import (
    BadInput,
    bad_input_response,
    error_body,
    from_dict,
    from_query,
    grpc_error_response,
)

__all__ = ["build_app", "from_dict", "from_query"]

STATIC = Path(__file__).with_name("static")
SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
        b" frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
"""On every answer: only this origin's scripts, styles and connections; never in a frame."""


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _page(name: str) -> Response:
    return FileResponse(STATIC / name, media_type="text/html", headers={"Cache-Control": "no-cache"})


def build_app(
    grpc_target: str,
    sessions: Sessions | None = None,
    tls: tuple[grpc.ChannelCredentials, list[tuple[str, str]]] | None = None,
) -> FastAPI:
    """The app calling the control plane at ``grpc_target`` (``HOST:PORT``, over loopback).

    ``sessions`` enables the console's login (without it, only bearer tokens are accepted);
    ``tls`` (credentials and channel options) makes the loopback calls over TLS.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        channel = (
            grpc.aio.insecure_channel(grpc_target)
            if tls is None
            else grpc.aio.secure_channel(grpc_target, tls[0], options=tls[1])
        )
        app.state.stubs = Stubs(channel)
        try:
            yield
        finally:
            await channel.close()

    app = FastAPI(
        title="tradeplane",
        version=package_version(),
        description="The gRPC control plane (tradeplane.v1) over HTTP/JSON. Send"
        " `Authorization: Bearer <token>`; decimals are strings.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's own pages load Swagger UI and ReDoc from a CDN
        redoc_url=None,
    )
    app.state.sessions = sessions
    describe = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's description plus the bearer scheme, so /docs's "Authorize" sends the token."""
        if app.openapi_schema is None:
            schema = describe()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token"}
            }
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(session_router)
    app.include_router(router)
    app.include_router(market_routes.router)
    app.include_router(backtest_routes.router)
    app.include_router(ml_routes.router)
    app.include_router(stream_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def console() -> Response:
        return _page("index.html")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return _page("docs.html")

    async def on_bad_input(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, BadInput)
        return bad_input_response(error)

    async def on_grpc_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, grpc.aio.AioRpcError)
        return grpc_error_response(error)

    async def on_invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {}
        location = first.get("loc", ())
        field = str(location[-1]) if location else None
        message = f"{field}: {first.get('msg', 'invalid')}" if field else "invalid request"
        return JSONResponse(error_body("INVALID_ARGUMENT", message, field=field), status_code=400)

    app.add_exception_handler(BadInput, on_bad_input)
    app.add_exception_handler(grpc.aio.AioRpcError, on_grpc_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    if sessions is not None:
        app.add_middleware(SessionMiddleware, sessions=sessions)
    app.add_middleware(SecurityHeaders)
    return app
