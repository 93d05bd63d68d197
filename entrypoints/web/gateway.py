"""The gateway's FastAPI app: the routes over one loopback channel to the gRPC control plane.

It transcodes and nothing more: validation, roles, idempotency and error mapping stay in the
gRPC services, so HTTP and gRPC callers get the same answers. OpenAPI is at /docs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from entrypoints.version import package_version
from entrypoints.web.routes import Stubs, router
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


def build_app(grpc_target: str) -> FastAPI:
    """The app calling the control plane at ``grpc_target`` (``HOST:PORT``, plaintext loopback)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        channel = grpc.aio.insecure_channel(grpc_target)
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
    )
    app.include_router(router)
    app.include_router(stream_router)

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
    return app
