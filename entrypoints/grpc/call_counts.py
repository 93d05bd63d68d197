"""Calls of the tradeplane.v1 methods counted by method and final status code (for metrics).

The outermost wrapper of every handler: it sees the answer of every call, refusals of the
token check and of the request guard included. Only methods the server serves are counted (an unknown
method's name comes from the client and would make the label set unbounded); health and
reflection are not, as probes call them several times a second.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
    Ctx = grpc.aio.ServicerContext[Any, Any]

COUNTED_PREFIX = "/tradeplane.v1."


class CallCounter:
    """``counts[(method, code name)]``: calls finished, e.g.
    ``("tradeplane.v1.OrderService/SubmitOrder", "OK")``."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def wrap(self, handler: Handler, method: str) -> Handler:
        """``handler`` counted, if ``method`` is one of tradeplane.v1."""
        if not method.startswith(COUNTED_PREFIX):
            return handler
        name = method.removeprefix("/")
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, name),
                handler.request_deserializer,
                handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, name),
                handler.request_deserializer,
                handler.response_serializer,
            )
        return handler  # client streams: tradeplane.v1 has none

    def _count(self, method: str, code: grpc.StatusCode) -> None:
        key = (method, code.name)
        self.counts[key] = self.counts.get(key, 0) + 1

    def _unary(self, behavior: Callable[..., Awaitable[Any]], method: str) -> Callable[..., Any]:
        async def counted(request: object, context: Ctx) -> Any:
            try:
                result = await behavior(request, context)
            except BaseException as error:
                self._count(method, _failed(context, error))
                raise
            self._count(method, _code(context, grpc.StatusCode.OK))
            return result

        return counted

    def _stream(self, behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
        async def counted(request: object, context: Ctx) -> AsyncIterator[Any]:
            try:
                result = behavior(request, context)
                if inspect.isasyncgen(result):
                    async for item in result:
                        yield item
                else:  # a coroutine that writes with context.write (or aborts)
                    await result
            except BaseException as error:
                self._count(method, _failed(context, error))
                raise
            self._count(method, _code(context, grpc.StatusCode.OK))

        return counted


def _code(context: Ctx, default: grpc.StatusCode) -> grpc.StatusCode:
    """The code the handler set or aborted with (None, whatever the stubs say, when it did not)."""
    code: object = context.code()
    return code if isinstance(code, grpc.StatusCode) else default


def _failed(context: Ctx, error: BaseException) -> grpc.StatusCode:
    """The code a call that raised ends with: the one it aborted with, else what grpc answers."""
    cancelled = isinstance(error, asyncio.CancelledError | GeneratorExit)
    return _code(context, grpc.StatusCode.CANCELLED if cancelled else grpc.StatusCode.UNKNOWN)
