"""``GET /api/v1/stream/{what}``: a gRPC server stream relayed as Server-Sent Events.

Each message becomes ``event: <what>`` with the message's JSON (as the other routes answer
it) as ``data``; 15 s of silence sends a ``: keep-alive`` comment so proxies keep the
connection. gRPC does not acknowledge a stream before its first message, so a refusal (no
token, a role too low, a bad filter) is awaited for a short grace and answered with the
usual HTTP error; whatever ends the stream later (the hub dropped a slow reader, the engine
stopped) is a final ``event: error`` with the usual error body. A client that leaves cancels
the gRPC call, which frees its place in the server's fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from fastapi import APIRouter
from google.protobuf.message import Message
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from tradeplane.v1 import engine_pb2, market_data_pb2, orders_pb2, portfolio_pb2, strategies_pb2

from entrypoints.web.api import Stubs, stubs
from entrypoints.web.transcode import error_body, from_query, grpc_error, metadata, to_json

KEEP_ALIVE_S = 15.0
"""Silence after which a comment line is sent."""
OPEN_GRACE_S = 0.5
"""How long a new stream may take to be refused before the answer is committed to 200."""
KEEP_ALIVE = b": keep-alive\n\n"

router = APIRouter(prefix="/api/v1")


@dataclass(frozen=True)
class Stream:
    """One relayable server stream: its request message and how to open it."""

    request: type[Message]
    open: Callable[[Stubs], Any]


STREAMS: dict[str, Stream] = {
    "orders": Stream(orders_pb2.StreamOrderEventsRequest, lambda s: s.orders.StreamOrderEvents),
    "positions": Stream(portfolio_pb2.StreamPositionsRequest, lambda s: s.portfolio.StreamPositions),
    "signals": Stream(strategies_pb2.StreamSignalsRequest, lambda s: s.strategies.StreamSignals),
    "alerts": Stream(engine_pb2.StreamAlertsRequest, lambda s: s.engine.StreamAlerts),
    "quotes": Stream(market_data_pb2.StreamQuotesRequest, lambda s: s.market.StreamQuotes),
    "trades": Stream(market_data_pb2.StreamTradesRequest, lambda s: s.market.StreamTrades),
}


def sse_event(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _ended() -> dict[str, Any]:
    return error_body("UNAVAILABLE", "the stream ended: the server closed it", reason="STREAM_ENDED")


def _failure(read: asyncio.Task[Any]) -> dict[str, Any] | None:
    """The error body of a finished read that ended the stream, or None if it read a message."""
    if read.cancelled():  # the gateway is stopping (end_streams) or its channel closed
        return _ended()
    error = read.exception()
    if isinstance(error, grpc.aio.AioRpcError):
        return grpc_error(error)[1]
    if error is not None:
        raise error
    return _ended() if read.result() is grpc.aio.EOF else None


async def _relay(what: str, call: Any, read: asyncio.Task[Any]) -> AsyncIterator[bytes]:
    """The SSE body; ``read`` is the pending (or finished) read of the next message."""
    try:
        while True:
            done, _ = await asyncio.wait({read}, timeout=KEEP_ALIVE_S)
            if not done:
                yield KEEP_ALIVE
                continue
            failure = _failure(read)
            if failure is not None:
                yield sse_event("error", failure)
                return
            yield sse_event(what, to_json(read.result()))
            read = asyncio.ensure_future(call.read())
    finally:
        call.cancel()
        read.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await read


class EventStream(StreamingResponse):
    """An SSE ``body`` relaying ``call``, which it cancels however the response ends (even before
    the first byte) and takes out of the gateway's open ``calls``."""

    def __init__(self, body: AsyncIterator[bytes], call: Any, calls: set[Any]) -> None:
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._call = call
        self._calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            end_call(self._call, self._calls)


def open_calls(app: Any) -> set[Any]:
    """The gateway's open stream calls, which ``end_streams`` cancels when it stops."""
    calls: set[Any] | None = getattr(app.state, "event_streams", None)
    if calls is None:
        calls = app.state.event_streams = set()
    return calls


def end_call(call: Any, calls: set[Any]) -> None:
    call.cancel()
    calls.discard(call)


def end_streams(app: Any) -> int:
    """Cancel every open stream's call (the gateway is stopping): each sends its error event and
    ends, so uvicorn need not wait out its grace for them. How many there were."""
    calls = open_calls(app)
    for call in calls:
        call.cancel()
    return len(calls)


@router.get("/stream/{what}", tags=["streams"], response_class=StreamingResponse)
async def stream(request: Request, what: str) -> Response:
    """Orders, positions, signals, alerts, quotes or trades as ``text/event-stream``.

    The query holds the stream request's fields (repeat a key for a list).
    """
    spec = STREAMS.get(what)
    if spec is None:
        known = ", ".join(STREAMS)
        return JSONResponse(error_body("NOT_FOUND", f"no stream {what!r} (one of {known})"), status_code=404)
    message = from_query(request.query_params, spec.request)
    call = spec.open(stubs(request))(message, metadata=metadata(request))
    calls = open_calls(request.app)
    calls.add(call)
    read = asyncio.ensure_future(call.read())
    try:
        done, _ = await asyncio.wait({read}, timeout=OPEN_GRACE_S)
    except BaseException:  # the client left while the stream was opening
        call.cancel()
        calls.discard(call)
        read.cancel()
        raise
    refusal = read.exception() if done and not read.cancelled() else None
    if isinstance(refusal, grpc.aio.AioRpcError):
        call.cancel()
        calls.discard(call)
        status, body = grpc_error(refusal)
        return JSONResponse(body, status_code=status)
    return EventStream(_relay(what, call, read), call, calls)
