"""The gRPC server: every service of tradeplane.v1, auth, health, reflection, optional TLS.

It runs in the engine's own asyncio loop (grpc.aio), so handlers call the engine directly
between two market events; nothing is shared across threads. ``start`` binds and
returns the port; ``stop`` turns health to NOT_SERVING, ends the streams, and gives
calls in flight ``grace`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from tradeplane.v1 import (
    backtest_pb2,
    backtest_pb2_grpc,
    engine_pb2,
    engine_pb2_grpc,
    market_data_pb2,
    market_data_pb2_grpc,
    ml_pb2,
    ml_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
    portfolio_pb2,
    portfolio_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
    strategies_pb2,
    strategies_pb2_grpc,
)

from adapters.memory.repositories import InMemoryBacktestResults
from entrypoints.backtest.stored_runs import OpenedResults
from entrypoints.config import ConfigError, GrpcSettings, MlSettings
from entrypoints.container import App
from entrypoints.grpc.auth import Authenticator, Role, TokenEntry
from entrypoints.grpc.backtest_service import BacktestService
from entrypoints.grpc.backtest_worker import BacktestProcesses
from entrypoints.grpc.call_counts import CallCounter
from entrypoints.grpc.engine_service import EngineInfo, EngineService
from entrypoints.grpc.market_data_service import MarketDataService
from entrypoints.grpc.method_table import MethodTable
from entrypoints.grpc.ml_service import MlService
from entrypoints.grpc.order_service import OrderService
from entrypoints.grpc.portfolio_service import PortfolioService
from entrypoints.grpc.request_guard import RequestGuard
from entrypoints.grpc.risk_service import RiskService
from entrypoints.grpc.strategy_service import StrategyService
from entrypoints.grpc.streams import StreamHub

log = logging.getLogger("tradeplane.grpc")

SERVICE_DESCRIPTORS = tuple(
    module.DESCRIPTOR.services_by_name[name]
    for module, name in (
        (orders_pb2, "OrderService"),
        (portfolio_pb2, "PortfolioService"),
        (market_data_pb2, "MarketDataService"),
        (risk_pb2, "RiskService"),
        (strategies_pb2, "StrategyService"),
        (engine_pb2, "EngineService"),
        (backtest_pb2, "BacktestService"),
        (ml_pb2, "MlService"),
    )
)
"""Every service of tradeplane.v1 (the services' own servers answer those they do not serve)."""
SERVICES = tuple(descriptor.full_name for descriptor in SERVICE_DESCRIPTORS)
"""Full names of the tradeplane.v1 services, as health and reflection list them."""

MARKET_DATA_SERVICE = market_data_pb2.DESCRIPTOR.services_by_name["MarketDataService"].full_name


def feed_health_service(feed_name: str) -> str:
    """The health-check service name of one market-data feed: SERVING while it is connected."""
    return f"tradeplane.feed.{feed_name}"


HEALTH_INTERVAL_S = 0.25  # cheap: a handful of set() calls; probes see a start or a lost feed at once
MAX_REQUEST_BYTES = 1 << 20
MAX_BACKTESTS = 2
"""Backtests run at once (each a process of its own); more are RESOURCE_EXHAUSTED."""
PORT_HINT = (
    "is another engine on that port? Choose one with --grpc-listen HOST:PORT (port 0 picks a free"
    " one) or [grpc] listen, or turn the control plane off with --no-grpc"
)


def new_server() -> grpc.aio.Server:
    """A control-plane server: a second one on the same port fails rather than share it, and a
    request over ``MAX_REQUEST_BYTES`` is refused before it is decoded."""
    return grpc.aio.server(
        options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", MAX_REQUEST_BYTES)]
    )


def listen_address(settings: GrpcSettings, port: int) -> str:
    """``HOST:PORT`` of a server bound per ``settings.listen`` (port 0 there: ``port``, the one got)."""
    return f"{settings.listen.rpartition(':')[0]}:{port}"


async def keep_health(update: Callable[[], Awaitable[None]]) -> None:
    """Run ``update`` every ``HEALTH_INTERVAL_S`` until cancelled; a failure is logged, and the
    next update tries again (health must never take a server down)."""
    while True:
        await asyncio.sleep(HEALTH_INTERVAL_S)
        try:
            await update()
        except Exception:
            log.exception("health update failed")


async def end_health(watch: asyncio.Task[None] | None, servicer: health.aio.HealthServicer) -> None:
    """Stop updating health and answer NOT_SERVING everywhere: the first step of a stop."""
    if watch is not None:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
    await servicer.enter_graceful_shutdown()


def token_entries(settings: GrpcSettings) -> list[TokenEntry]:
    return [
        TokenEntry(
            name=token.name,
            role=Role.parse(token.role),
            sha256=token.sha256,
            rate_per_second=token.rate_per_second,
            burst=token.burst,
        )
        for token in settings.tokens
    ]


def _served(service: str, table: MethodTable) -> bool:
    return any(method.startswith(f"/{service}/") for method in table.methods)


class GrpcServer:
    """The control plane of one engine."""

    def __init__(
        self,
        app: App,
        settings: GrpcSettings,
        info: EngineInfo,
        *,
        extra_tokens: Iterable[TokenEntry] = (),
        backtests: OpenedResults | None = None,
        components: Callable[[], Mapping[str, bool]] | None = None,
        ml: MlSettings | None = None,
    ) -> None:
        """``components``: more health-check services and whether each is well (the execution
        service's ``tradeplane.bus``), SERVING only while the engine runs and it is well.
        ``ml``: the ``[ml]`` settings (where MlService finds the stored models)."""
        self.app = app
        self._components = components
        self.settings = settings
        self.hub = StreamHub(app.bus, app.portfolio, buffer=settings.stream_buffer)
        tokens = [*token_entries(settings), *extra_tokens]
        if not tokens:
            log.warning("no gRPC tokens configured: every call but health and reflection will be refused")
        self.auth = Authenticator(
            tokens, rate_per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
        )
        self.guard = RequestGuard()
        self.calls = CallCounter()
        self.health = health.aio.HealthServicer()
        self._server: grpc.aio.Server | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._info = info
        self.port = 0
        self.backtests = backtests or OpenedResults(InMemoryBacktestResults())
        self.backtest_processes = BacktestProcesses(MAX_BACKTESTS)
        self.models_dir = Path((ml or MlSettings()).models_dir)

    @property
    def address(self) -> str:
        return listen_address(self.settings, self.port)

    @property
    def tls(self) -> bool:
        return bool(self.settings.tls_cert)

    async def start(self) -> int:
        """Bind and serve; returns the port. Raises ConfigError when it cannot listen."""
        server = new_server()
        # The token check before the guard: a refused body is never decoded; the counter sees
        # every answer (method_table says why this is no interceptor).
        table = MethodTable(self.auth, self.guard, self.calls)
        app, hub = self.app, self.hub
        orders = OrderService(
            commands=app.bus,
            orders=app.orders,
            trades=app.trades,
            instruments=app.instruments,
            clock=app.clock,
            hub=hub,
        )
        table.add(orders_pb2_grpc.add_OrderServiceServicer_to_server, orders)
        portfolio = PortfolioService(app.portfolio, hub, app.risk.equity_history)
        table.add(portfolio_pb2_grpc.add_PortfolioServiceServicer_to_server, portfolio)
        table.add(
            market_data_pb2_grpc.add_MarketDataServiceServicer_to_server,
            MarketDataService(
                app.instruments,
                app.market,
                hub,
                clock=app.clock,
                max_data_age_ns=lambda: app.orders.limits.max_data_age_ns,
            ),
        )
        table.add(
            risk_pb2_grpc.add_RiskServiceServicer_to_server,
            RiskService(commands=app.bus, risk=app.risk, orders=app.orders),
        )
        table.add(
            strategies_pb2_grpc.add_StrategyServiceServicer_to_server, StrategyService(app.strategies, hub)
        )
        table.add(
            engine_pb2_grpc.add_EngineServiceServicer_to_server,
            EngineService(
                app.engine,
                app.clock,
                hub,
                self._info,
                lambda: self.auth.requests,
                auth_refusals=lambda: self.auth.auth_refusals,
                alerts=lambda: app.alerts.active,
            ),
        )
        table.add(
            backtest_pb2_grpc.add_BacktestServiceServicer_to_server,
            BacktestService(
                self.backtests.store, Path(self.settings.backtest_data_dir), self.backtest_processes
            ),
        )
        table.add(ml_pb2_grpc.add_MlServiceServicer_to_server, MlService(self.models_dir))
        table.add(health_pb2_grpc.add_HealthServicer_to_server, self.health)
        health_name = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
        table.add(
            reflection_pb2_grpc.add_ServerReflectionServicer_to_server,
            reflection.aio.ReflectionServicer((*SERVICES, health_name, reflection.SERVICE_NAME)),
        )
        missing = [
            name for name in (*SERVICES, health_name, reflection.SERVICE_NAME) if not _served(name, table)
        ]
        if missing:  # generated code that no longer names its methods would leave them out
            raise RuntimeError(f"gRPC services without methods in the table: {', '.join(missing)}")
        server.add_generic_rpc_handlers((table,))
        listen = self.settings.listen
        try:
            if self.tls:
                self.port = server.add_secure_port(listen, self._credentials())
            else:
                self.port = server.add_insecure_port(listen)
        except RuntimeError:  # grpc's own text adds nothing but "set GRPC_VERBOSITY=debug"
            raise ConfigError(f"gRPC cannot listen on {listen}; {PORT_HINT}") from None
        if not self.port:
            raise ConfigError(f"gRPC cannot listen on {listen}; {PORT_HINT}")
        await server.start()
        self._server = server
        await self._update_health()
        self._health_task = asyncio.create_task(self._watch_health(), name="grpc-health")
        log.info("gRPC control plane on %s%s", self.address, " (TLS)" if self.tls else "")
        return self.port

    def _credentials(self) -> grpc.ServerCredentials:
        try:
            key = Path(self.settings.tls_key).read_bytes()
            cert = Path(self.settings.tls_cert).read_bytes()
        except OSError as error:
            raise ConfigError(f"[grpc] TLS key or certificate cannot be read: {error}") from None
        return grpc.ssl_server_credentials([(key, cert)])

    async def _update_health(self) -> None:
        serving = health_pb2.HealthCheckResponse.SERVING
        not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
        running = self.app.engine.running
        feeds = self.app.ingestion.health()
        # Market data is served when it can be traded on: every feed connected and every
        # instrument's data usable (connected, in sync, no older than the risk limit).
        data_usable = all(feed.connected for feed in feeds) and self.app.engine.data_usable()
        for name in SERVICES:
            status = serving if running else not_serving
            if name == MARKET_DATA_SERVICE and not data_usable:
                status = not_serving
            await self.health.set(name, status)
        for feed in feeds:  # one per venue connection, for probes that watch a venue
            await self.health.set(
                feed_health_service(feed.name), serving if running and feed.connected else not_serving
            )
        if self._components is not None:
            for name, well in self._components().items():
                await self.health.set(name, serving if running and well else not_serving)
        await self.health.set("", serving if running else not_serving)

    async def _watch_health(self) -> None:
        await keep_health(self._update_health)

    async def stop(self, grace: float = 2.0) -> None:
        """NOT_SERVING, end the streams, finish calls in flight within ``grace`` seconds."""
        if self._server is None:
            return
        await end_health(self._health_task, self.health)
        self.hub.close()
        await self._server.stop(grace)  # a backtest still running is cancelled: its process killed
        self._server = None
        self.backtests.close()
        log.info("gRPC control plane stopped")
