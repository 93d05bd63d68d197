"""Backtest routes under ``/api/v1``: stored runs listed and read back, and a run.

``POST /backtests`` relays BacktestService/RunBacktest, a server stream. Asked for
``Accept: text/event-stream`` it answers Server-Sent Events as ``streams`` does: ``event:
progress`` per progress message and one ``event: result``, each with the message's JSON as
``data``; a refusal before the first message is the usual HTTP error, a failure after it a
final ``event: error``. Otherwise it waits for the run and answers ``{"result": ...}``. A
client that leaves, either way, cancels the call, which stops the run; so does stopping the
gateway (``streams.end_streams``), the call being among the gateway's open streams.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tradeplane.v1 import backtest_pb2

# The module, not its names: ``streams`` imports ``routes``, which imports this module.
from entrypoints.web import streams
from entrypoints.web.api import answer, stubs
from entrypoints.web.transcode import (
    body,
    body_schema,
    error_body,
    from_query,
    grpc_error,
    metadata,
    query_parameters,
    to_json,
)

FIRST_MESSAGE_S = 10.0
"""How long a run may take to send its first message (checking the request, starting its
process) before a Server-Sent Events answer is committed to 200 regardless."""
CLIENT_LEFT = 499
"""The status of the answer nobody reads: the client left before the run ended."""
EVENT_STREAM = "text/event-stream"


router = APIRouter(prefix="/api/v1")


@router.get(
    "/backtests", tags=["backtests"], openapi_extra=query_parameters(backtest_pb2.ListBacktestsRequest)
)
async def list_backtests(request: Request) -> JSONResponse:
    """BacktestService/ListBacktests, newest first; the query may give ``strategy`` and ``limit``."""
    message = from_query(request.query_params, backtest_pb2.ListBacktestsRequest)
    return await answer(request, stubs(request).backtests.ListBacktests, message)


@router.get("/backtests/{run_id}", tags=["backtests"])
async def get_backtest(request: Request, run_id: str) -> JSONResponse:
    """BacktestService/GetBacktest: a stored run, its metrics and trades."""
    message = backtest_pb2.GetBacktestRequest(run_id=run_id)
    return await answer(request, stubs(request).backtests.GetBacktest, message)


@router.post(
    "/backtests",
    tags=["backtests"],
    openapi_extra=body_schema(backtest_pb2.RunBacktestRequest),
    responses={200: {"content": {EVENT_STREAM: {}}}},
)
async def run_backtest(request: Request) -> Response:
    """BacktestService/RunBacktest (trader); the body is a RunBacktestRequest.

    With ``Accept: text/event-stream``: ``event: progress`` messages, then one ``event:
    result``. Otherwise the answer, once the run ends, is ``{"result": ...}``.
    """
    message = await body(request, backtest_pb2.RunBacktestRequest)
    call = stubs(request).backtests.RunBacktest(message, metadata=metadata(request))
    calls = streams.open_calls(request.app)
    calls.add(call)
    try:
        if EVENT_STREAM in request.headers.get("accept", ""):
            return await _events(request, call, calls)
        return await _result(request, call)
    except BaseException:
        streams.end_call(call, calls)
        raise


# -- the run, answered as JSON ----------------------------------------------------------------------


async def _result(request: Request, call: Any) -> Response:
    """The run's result as ``{"result": ...}`` or its failure as an error, once the call ends."""
    run = asyncio.ensure_future(_last(call))
    left = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({run, left}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        streams.end_call(call, streams.open_calls(request.app))
        left.cancel()
        if not run.done():
            run.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await run
    if left.done() and not left.cancelled():
        return JSONResponse(error_body("CANCELLED", "the client left"), status_code=CLIENT_LEFT)
    if run.cancelled():  # the gateway is stopping (end_streams)
        return JSONResponse(_stopped(), status_code=503)
    error = run.exception()
    if isinstance(error, grpc.aio.AioRpcError):
        status, error_json = grpc_error(error)
        return JSONResponse(error_json, status_code=status)
    if error is not None:
        raise error
    last = run.result()
    if last is None or last.WhichOneof("event") != "result":
        return JSONResponse(_no_result(), status_code=503)
    return JSONResponse(to_json(last))


async def _last(call: Any) -> Any:
    """The stream's last message (None if it sent none); its failure raises."""
    last = None
    async for message in call:
        last = message
    return last


async def _disconnected(request: Request) -> None:
    """Return when the client has gone (the body was read: ``receive`` waits for that alone)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


# -- the run, answered as Server-Sent Events ---------------------------------------------------------


async def _events(request: Request, call: Any, calls: set[Any]) -> Response:
    """The event stream, or the HTTP error of a run refused before its first message."""
    read = asyncio.ensure_future(call.read())
    left = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({read, left}, timeout=FIRST_MESSAGE_S, return_when=asyncio.FIRST_COMPLETED)
    finally:
        left.cancel()
    if left.done() and not left.cancelled():
        streams.end_call(call, calls)
        read.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await read
        return JSONResponse(error_body("CANCELLED", "the client left"), status_code=CLIENT_LEFT)
    refusal = read.exception() if read.done() and not read.cancelled() else None
    if isinstance(refusal, grpc.aio.AioRpcError):
        streams.end_call(call, calls)
        status, error_json = grpc_error(refusal)
        return JSONResponse(error_json, status_code=status)
    return streams.EventStream(_relay(call, read), call, calls)


def _event_failure(read: asyncio.Task[Any]) -> dict[str, Any] | None:
    """The error body of a finished read that ends the run's events, or None if it read a message."""
    if read.cancelled():
        return _stopped()
    error = read.exception()
    if isinstance(error, grpc.aio.AioRpcError):
        return grpc_error(error)[1]
    if error is not None:
        raise error
    return _no_result() if read.result() is grpc.aio.EOF else None


async def _relay(call: Any, read: asyncio.Task[Any]) -> AsyncIterator[bytes]:
    """Progress events until the result event (or an error event); keep-alive comments between."""
    try:
        while True:
            done, _ = await asyncio.wait({read}, timeout=streams.KEEP_ALIVE_S)
            if not done:
                yield streams.KEEP_ALIVE
                continue
            failure = _event_failure(read)
            if failure is not None:
                yield streams.sse_event("error", failure)
                return
            message = read.result()
            kind = message.WhichOneof("event") or "progress"
            yield streams.sse_event(kind, to_json(message))
            if kind == "result":
                return
            read = asyncio.ensure_future(call.read())
    finally:
        call.cancel()  # after the result the run is over: this only closes the call
        read.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await read


# -- shared ---------------------------------------------------------------------------------------


def _stopped() -> dict[str, Any]:
    return error_body("UNAVAILABLE", "the run ended: the gateway is stopping", reason="STREAM_ENDED")


def _no_result() -> dict[str, Any]:
    return error_body("UNAVAILABLE", "the run ended without a result", reason="STREAM_ENDED")
