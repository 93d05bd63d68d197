"""Every method the server answers, in one table looked up once per call.

grpc.aio keeps one pending request per *registered* method and, after every call, waits on
all of them again (``asyncio.wait`` over some 35 futures, tens of µs of the engine's loop per
call); it also runs each interceptor as a coroutine of its own on every call. So nothing is
registered with grpc: the generated ``add_*_to_server`` functions fill this table instead,
the server serves it as its one generic handler (one pending request), and a call finds its
handler with one dict lookup. Each tradeplane.v1 handler is wrapped once, here, by the
request guard and then the call counter; the token check runs in the lookup, synchronously
(``Authenticator.admit``), and the refusal it may return is counted as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from entrypoints.grpc.auth import Authenticator
from entrypoints.grpc.call_counts import CallCounter
from entrypoints.grpc.request_guard import RequestGuard

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]

S = TypeVar("S")


class MethodTable(grpc.GenericRpcHandler):
    """``add(add_X_to_server, servicer)`` at start; grpc then asks ``service`` on every call."""

    def __init__(self, auth: Authenticator, guard: RequestGuard, calls: CallCounter) -> None:
        self._auth = auth
        self._guard = guard
        self._calls = calls
        self._handlers: dict[str, Handler] = {}

    def add(self, add_to_server: Callable[[S, Any], None], servicer: S) -> None:
        """Put the methods of ``servicer`` in the table with a generated ``add_*_to_server``."""
        add_to_server(servicer, self)

    @property
    def methods(self) -> frozenset[str]:
        """Full names (``/package.Service/Method``) of the methods in the table."""
        return frozenset(self._handlers)

    # -- the two methods of grpc.aio.Server that the generated code calls ----------------------

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        """Ignored: the generated code passes the same handlers, by name, to the method below."""

    def add_registered_method_handlers(self, service_name: str, method_handlers: dict[str, Handler]) -> None:
        for name, handler in method_handlers.items():
            method = f"/{service_name}/{name}"
            self._handlers[method] = self._calls.wrap(self._guard.wrap(handler, method), method)

    # -- grpc.GenericRpcHandler ----------------------------------------------------------------

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        method: str = handler_call_details.method
        handler = self._handlers.get(method)
        admitted = self._auth.admit(handler, handler_call_details)
        if admitted is handler or admitted is None:
            return admitted
        return self._calls.wrap(admitted, method)  # a refusal
