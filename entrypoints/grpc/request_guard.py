"""The first look at a request body, before any handler: it must decode, and its text be printable.

grpc turns a deserializer that raises into UNKNOWN, naming the exception class, and logs a
traceback at ERROR: any client could fill the log that way. Here the deserializer never
raises: an undecodable body becomes INVALID_ARGUMENT (field ``request``) with one short
warning per peer per minute. Then every string of the request is checked
(``request_text``). Only ``tradeplane.v1`` methods are guarded; each handler is wrapped once,
when the server starts (``wrap``); a call refused by the token check never reaches a
deserializer at all.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import Message

from entrypoints.grpc.errors import ApiError, abort, invalid
from entrypoints.grpc.request_text import check_message
from entrypoints.grpc.throttled_log import ThrottledLog, peer_host

log = logging.getLogger("tradeplane.grpc")
if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
    Ctx = grpc.aio.ServicerContext[Any, Any]
GUARDED_PREFIX = "/tradeplane.v1."


class Undecodable:
    """What the deserializer hands on instead of raising: the body's size, nothing of its content."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


def lenient(deserializer: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """``deserializer`` that returns ``Undecodable`` instead of raising."""

    def decode(body: bytes) -> Any:
        try:
            return deserializer(body)
        except Exception:  # DecodeError, or anything else a parser of hostile bytes raises
            return Undecodable(len(body))

    return decode


class RequestGuard:
    """Wraps each tradeplane.v1 handler: decode leniently, refuse bad bodies and bad text."""

    def __init__(self, warnings: ThrottledLog | None = None) -> None:
        self._warnings = warnings or ThrottledLog(log)
        self.undecodable = 0

    def wrap(self, handler: Handler, method: str) -> Handler:
        """``handler`` guarded, if ``method`` is one of tradeplane.v1 and its body is decoded."""
        if not method.startswith(GUARDED_PREFIX) or handler.request_deserializer is None:
            return handler
        decode = lenient(handler.request_deserializer)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, method), decode, handler.response_serializer
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, method), decode, handler.response_serializer
            )
        return handler  # client streams: tradeplane.v1 has none

    def _refusal(self, request: object, context: Ctx, method: str) -> ApiError | None:
        """INVALID_ARGUMENT unless ``request`` decoded and its text is printable; None if it may run."""
        if isinstance(request, Undecodable):
            self.undecodable += 1
            peer = peer_host(context.peer())
            self._warnings.warning(
                (peer, "undecodable"),
                "undecodable request body for %s from %s (%d bytes); answered INVALID_ARGUMENT",
                method,
                peer,
                request.size,
            )
            message = method.rsplit("/", 1)[-1] + "Request"
            return invalid("request", f"the body is not a valid {message} message")
        try:
            if isinstance(request, Message):
                check_message(request)
        except ApiError as error:
            return error
        return None

    def _unary(self, behavior: Callable[..., Awaitable[Any]], method: str) -> Callable[..., Any]:
        async def guarded(request: object, context: Ctx) -> Any:
            refusal = self._refusal(request, context, method)
            if refusal is not None:
                await abort(context, refusal)
            return await behavior(request, context)

        return guarded

    def _stream(self, behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
        async def guarded(request: object, context: Ctx) -> AsyncIterator[Any]:
            refusal = self._refusal(request, context, method)
            if refusal is not None:
                await abort(context, refusal)
            result = behavior(request, context)
            if inspect.isasyncgen(result):
                async for item in result:
                    yield item
            else:  # a coroutine that writes with context.write
                await result

        return guarded
