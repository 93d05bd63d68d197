"""The gRPC control plane of a service that is not the whole engine: ingestion or a strategy worker.

Probes and operators ask every service the same questions as the engine: ``grpc.health.v1``
(overall, ``tradeplane.v1.EngineService``, and one name per component such as ``redis``,
``feeds`` or ``leases``, plus ``tradeplane.feed.<name>`` per feed), reflection, and
``EngineService/GetStatus`` filled with what the service knows (the rest left empty or zero).
Every other tradeplane.v1 method answers UNIMPLEMENTED naming the execution service, so a
client pointed at the wrong port is told where to go. Tokens, roles, rate limits, the request
guard and the call counts are the engine's own (``MethodTable``); health and reflection stay open.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.duration_pb2 import Duration
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from tradeplane.v1 import engine_pb2, engine_pb2_grpc

from application.ports import FeedHealth
from entrypoints.config import ConfigError, GrpcSettings, Settings
from entrypoints.grpc import mapping
from entrypoints.grpc.auth import Authenticator, Role, TokenEntry, hash_token
from entrypoints.grpc.call_counts import CallCounter
from entrypoints.grpc.engine_service import EngineInfo
from entrypoints.grpc.errors import unary
from entrypoints.grpc.method_table import MethodTable
from entrypoints.grpc.request_guard import RequestGuard
from entrypoints.grpc.server import (
    PORT_HINT,
    SERVICE_DESCRIPTORS,
    end_health,
    feed_health_service,
    keep_health,
    listen_address,
    new_server,
    token_entries,
)
from entrypoints.version import package_version

if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]
    Handler = grpc.RpcMethodHandler[Any, Any]

log = logging.getLogger("tradeplane.grpc")

ENGINE_SERVICE = engine_pb2.DESCRIPTOR.services_by_name["EngineService"].full_name
GET_STATUS = f"/{ENGINE_SERVICE}/GetStatus"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceStatus:
    """What a service says of itself at one moment: health, GetStatus and /readyz read it."""

    service: str
    """``ingestion`` or ``strategy``: GetStatus's ``mode``."""
    running: bool
    components: Mapping[str, str]
    """Component -> "" while it serves, else why not (``{"redis": "", "feeds": "binance down"}``)."""
    feeds: Sequence[FeedHealth] = ()
    events: int = 0
    """Market events handled: appended to the shard streams, or decided on by a worker."""
    signals: int = 0


class Lifetime:
    """When the service started (wall clock for ``start_time``, monotonic for ``uptime``)."""

    def __init__(self) -> None:
        self.running = False
        self.started_ns = 0
        self._started_monotonic_ns = 0

    def start(self) -> None:
        self.started_ns = time.time_ns()
        self._started_monotonic_ns = time.monotonic_ns()
        self.running = True

    def stop(self) -> None:
        self.running = False

    def uptime_ns(self) -> int:
        return time.monotonic_ns() - self._started_monotonic_ns if self.running else 0


def not_ready(status: ServiceStatus) -> dict[str, str]:
    """What ``/readyz`` names: the service not running, and each component that does not serve."""
    problems = {} if status.running else {"service": "not running"}
    problems.update({name: why for name, why in status.components.items() if why})
    return problems


class StatusService(engine_pb2_grpc.EngineServiceServicer):
    """``GetStatus`` from a ``ServiceStatus``: the fields the engine alone knows stay empty."""

    def __init__(
        self,
        info: EngineInfo,
        status: Callable[[], ServiceStatus],
        lifetime: Lifetime,
        auth: Authenticator,
    ) -> None:
        self._info = info
        self._status = status
        self._lifetime = lifetime
        self._auth = auth

    @unary
    async def GetStatus(  # noqa: N802  # the RPC name protoc gives it
        self, request: engine_pb2.GetStatusRequest, context: Ctx
    ) -> engine_pb2.GetStatusResponse:
        status = self._status()
        uptime = self._lifetime.uptime_ns()
        return engine_pb2.GetStatusResponse(
            name=self._info.name,
            version=self._info.version,
            mode=status.service,
            broker=self._info.broker,
            running=status.running,
            start_time=mapping.timestamp(self._lifetime.started_ns) if status.running else None,
            uptime=Duration(seconds=uptime // 1_000_000_000, nanos=uptime % 1_000_000_000),
            feeds=[mapping.feed_to_proto(feed) for feed in status.feeds],
            counters=engine_pb2.Counters(
                trades_seen=status.events,
                signals=status.signals,
                grpc_requests=self._auth.requests,
                auth_refusals=self._auth.auth_refusals,
            ),
        )

    async def StreamAlerts(  # noqa: N802  # the RPC name protoc gives it
        self, request: engine_pb2.StreamAlertsRequest, context: Ctx
    ) -> AsyncIterator[engine_pb2.StreamAlertsResponse]:
        """Alerts are the execution service's (the table serves ``served_elsewhere`` instead)."""
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "StreamAlerts is served by the execution service")
        yield engine_pb2.StreamAlertsResponse()  # type: ignore[unreachable]  # makes it a stream


def served_elsewhere(method: str, service: str, *, streaming: bool) -> Handler:
    """A handler answering UNIMPLEMENTED: ``method`` is the execution service's, not ``service``'s.
    No deserializer: the body is never decoded."""
    name = method.rsplit("/", 1)[-1]
    message = f"{name} is served by the execution service, not by the {service} service"

    async def elsewhere(request: object, context: Ctx) -> None:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, message)

    if streaming:  # a coroutine may answer a stream (grpc.aio): it aborts first
        return grpc.unary_stream_rpc_method_handler(elsewhere)
    return grpc.unary_unary_rpc_method_handler(elsewhere)


def _tradeplane_methods() -> dict[str, tuple[str, bool]]:
    """``/package.Service/Method`` -> (service full name, server streaming) of tradeplane.v1."""
    return {
        f"/{descriptor.full_name}/{method.name}": (descriptor.full_name, method.server_streaming)
        for descriptor in SERVICE_DESCRIPTORS
        for method in descriptor.methods
    }


class ServiceControl:
    """The gRPC server of one ingestion or strategy-worker process (see the module docstring)."""

    def __init__(
        self,
        settings: GrpcSettings,
        info: EngineInfo,
        status: Callable[[], ServiceStatus],
        lifetime: Lifetime,
        *,
        extra_tokens: Iterable[TokenEntry] = (),
    ) -> None:
        self.settings = settings
        self._status = status
        tokens = [*token_entries(settings), *extra_tokens]
        if not tokens:
            log.warning("no gRPC tokens configured: every call but health and reflection will be refused")
        self.auth = Authenticator(
            tokens, rate_per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
        )
        self.calls = CallCounter()
        self.health = health.aio.HealthServicer()
        self._engine = StatusService(info, status, lifetime, self.auth)
        self._server: grpc.aio.Server | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._health_names: set[str] = set()
        self.port = 0

    @property
    def address(self) -> str:
        return listen_address(self.settings, self.port)

    @property
    def tls(self) -> bool:
        return bool(self.settings.tls_cert)

    async def start(self) -> int:
        """Bind and serve; returns the port. Raises ConfigError when it cannot listen."""
        server = new_server()
        table = MethodTable(self.auth, RequestGuard(), self.calls)
        table.add(engine_pb2_grpc.add_EngineServiceServicer_to_server, self._engine)
        service = self._status().service
        elsewhere = {
            method: served_elsewhere(method, service, streaming=streaming)
            for method, (_, streaming) in _tradeplane_methods().items()
            if method != GET_STATUS
        }
        for method, handler in elsewhere.items():  # replaces the generated StreamAlerts, and the rest
            full_name, name = method[1:].split("/")
            table.add_registered_method_handlers(full_name, {name: handler})
        table.add(health_pb2_grpc.add_HealthServicer_to_server, self.health)
        health_name = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
        table.add(
            reflection_pb2_grpc.add_ServerReflectionServicer_to_server,
            reflection.aio.ReflectionServicer((ENGINE_SERVICE, health_name, reflection.SERVICE_NAME)),
        )
        server.add_generic_rpc_handlers((table,))
        listen = self.settings.listen
        try:
            if self.tls:
                self.port = server.add_secure_port(listen, self._credentials())
            else:
                self.port = server.add_insecure_port(listen)
        except RuntimeError:
            raise ConfigError(f"gRPC cannot listen on {listen}; {PORT_HINT}") from None
        if not self.port:
            raise ConfigError(f"gRPC cannot listen on {listen}; {PORT_HINT}")
        await server.start()
        self._server = server
        await self._update_health()
        self._health_task = asyncio.create_task(self._watch_health(), name="grpc-health")
        log.info("gRPC control plane of the %s service on %s", service, self.address)
        return self.port

    def _credentials(self) -> grpc.ServerCredentials:
        try:
            key = Path(self.settings.tls_key).read_bytes()
            cert = Path(self.settings.tls_cert).read_bytes()
        except OSError as error:
            raise ConfigError(f"[grpc] TLS key or certificate cannot be read: {error}") from None
        return grpc.ssl_server_credentials([(key, cert)])

    async def _update_health(self) -> None:
        status = self._status()
        running = status.running
        wanted: dict[str, int] = {"": SERVING if running else NOT_SERVING}
        wanted[ENGINE_SERVICE] = wanted[""]
        for name, why in status.components.items():
            wanted[name] = SERVING if running and not why else NOT_SERVING
        if status.service == "ingestion":
            for feed in status.feeds:  # one per venue connection, as the engine reports them
                wanted[feed_health_service(feed.name)] = (
                    SERVING if running and feed.connected else NOT_SERVING
                )
        for name in self._health_names - set(wanted):  # a component gone is no longer served
            await self.health.set(name, NOT_SERVING)
        for name, value in wanted.items():
            await self.health.set(name, value)
        self._health_names |= set(wanted)

    async def _watch_health(self) -> None:
        await keep_health(self._update_health)

    async def stop(self, grace: float = 1.0) -> None:
        """NOT_SERVING everywhere, then the calls in flight get ``grace`` seconds."""
        if self._server is None:
            return
        await end_health(self._health_task, self.health)
        await self._server.stop(grace)
        self._server = None
        log.info("gRPC control plane stopped")


async def start_service_control(
    settings: Settings,
    grpc_settings: GrpcSettings,
    status: Callable[[], ServiceStatus],
    lifetime: Lifetime,
    *,
    admin_token: str | None,
) -> ServiceControl:
    """Start the control plane of a service; ``admin_token`` (kept only as its hash) is an admin,
    as for the engine's (``TRADEPLANE_ADMIN_TOKEN``)."""
    extra = (
        [TokenEntry(name="live-admin", role=Role.ADMIN, sha256=hash_token(admin_token))]
        if admin_token is not None
        else []
    )
    info = EngineInfo(name=settings.engine.name, version=package_version(), mode="live", broker="")
    control = ServiceControl(grpc_settings, info, status, lifetime, extra_tokens=extra)
    await control.start()
    return control
