"""The Prometheus endpoint wired to a running application: ``start_metrics(app, settings)``.

``instrument`` attaches the cheap counting hooks (a sample of the feeds' events, the order
manager, the trades store's commits, the market-data writer, the broker reports; the market
events are counted by the market state, always) and builds a registry of
its own (never the process-global one: several engines, or tests, in one process never
collide) holding the engine's collector and the process, platform and GC collectors.
``start_metrics`` adds the HTTP server on ``[metrics] listen``, in the running event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.registry import Collector

from adapters.metrics.collector import EngineCollector
from adapters.metrics.http import MetricsHttpServer
from adapters.metrics.readiness import not_ready
from adapters.metrics.recorder import MetricsRecorder
from adapters.metrics.settings import MetricsSettings, MetricsSettingsError
from adapters.metrics.view import ApiCounts, EngineView
from adapters.persistence.market_data_store import SqlMarketDataRepository
from adapters.system_clock import LiveClock
from application.ports import ConnectedBroker
from entrypoints.config import ConfigError, Settings
from entrypoints.container import App
from entrypoints.version import package_version

if TYPE_CHECKING:  # the gRPC stack is imported only by what serves it
    from entrypoints.grpc.server import GrpcServer


def metrics_settings(settings: Settings) -> MetricsSettings:
    """``[metrics]`` checked; raises ConfigError naming an unknown key or a bad ``listen``."""
    try:
        return MetricsSettings.from_mapping(settings.metrics)
    except MetricsSettingsError as error:
        raise ConfigError(str(error)) from None


def api_counts(server: GrpcServer) -> ApiCounts:
    """The gRPC control plane's counts: streams open and dropped per topic, calls per method
    and code. Pass it to ``start_metrics`` as ``api`` when the engine serves gRPC."""
    hub = server.hub
    return ApiCounts(
        stream_subscribers=lambda: {topic: hub.count(topic) for topic in hub.topics},
        stream_drops=lambda: {topic: hub.stats.dropped_by_topic.get(topic, 0) for topic in hub.topics},
        requests=lambda: dict(server.calls.counts),
    )


@dataclass(slots=True)
class Instrumentation:
    """The counting hooks attached to one application, and the registry that exports them."""

    app: App
    recorder: MetricsRecorder
    view: EngineView
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def detach(self) -> None:
        """Take the hooks off: the engine runs as it did without metrics."""
        app = self.app
        app.ingestion.unobserve()
        app.orders.on_sent = None
        app.risk.on_commit = None
        if isinstance(app.market_data, SqlMarketDataRepository):
            app.market_data.on_written = None
        self.recorder.unsubscribe(app.bus)


def instrument(
    app: App,
    *,
    api: ApiCounts | None = None,
    process: bool = True,
    now_ns: Callable[[], int] | None = None,
) -> Instrumentation:
    """Attach the counting hooks to ``app`` and build its registry (``process``: add the
    process, platform and GC collectors). ``api`` adds the gRPC server's counts. ``now_ns``
    is the clock the feeds stamp ``ts_init`` with (default: the engine's)."""
    from entrypoints.grpc.order_service import MANUAL_STRATEGY  # the API's orders "by hand"

    if now_ns is None:
        # The live clock is time.time_ns behind a never-backwards guard a duration does not need.
        now_ns = time.time_ns if isinstance(app.clock, LiveClock) else app.clock.now_ns
    recorder = MetricsRecorder(
        now_ns=now_ns,
        instruments=app.portfolio.instruments,
        orders=app.orders.orders,
        fills_booked=lambda: app.reports.stats.fills,
        market_events=app.market.events,
        handling_since=lambda: app.ingestion.handling_since,
        manual_strategies=(MANUAL_STRATEGY,),
    )
    broker = app.broker
    view = EngineView(
        engine=app.engine,
        bus=app.bus,
        portfolio=app.portfolio,
        risk=app.risk,
        orders=app.orders,
        reports=app.reports,
        strategies=app.strategies,
        ingestion=app.ingestion,
        market_data=app.market_data,
        broker_name=broker.name,
        broker_health=broker.health if isinstance(broker, ConnectedBroker) else None,
        recorder=recorder,
        version=package_version(),
        api=api,
    )
    instrumentation = Instrumentation(app, recorder, view)
    registry = instrumentation.registry
    registry.register(EngineCollector(view))
    if process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    app.ingestion.observe(recorder.wrap, every=recorder.sample_every)
    app.orders.on_sent = recorder.order_sent
    app.risk.on_commit = recorder.trades_commit.observe
    if isinstance(app.market_data, SqlMarketDataRepository):
        app.market_data.on_written = recorder.market_data_write.observe
    recorder.subscribe(app.bus)
    return instrumentation


FOLD_INTERVAL_S = 0.5
"""How often the per-tick durations are folded into the counts and the histogram between two
scrapes: keeps their arrays small (a few MB at most) when Prometheus scrapes rarely or not at all."""


class MetricsServer:
    """The endpoint of one engine: ``url``, and ``await stop()`` (hooks detached, port closed)."""

    def __init__(self, instrumentation: Instrumentation, http: MetricsHttpServer) -> None:
        self.instrumentation = instrumentation
        self._http = http
        self._folding = asyncio.create_task(self._fold(), name="metrics-fold")

    async def _fold(self) -> None:
        recorder = self.instrumentation.recorder
        while True:
            await asyncio.sleep(FOLD_INTERVAL_S)
            recorder.fold()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:9464``; ``/metrics``, ``/healthz``, ``/readyz`` under it."""
        return self._http.url

    @property
    def registry(self) -> CollectorRegistry:
        return self.instrumentation.registry

    async def stop(self) -> None:
        self._folding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._folding
        await self._http.stop()
        self.instrumentation.detach()


async def start_metrics(
    app: App,
    settings: Settings,
    *,
    api: ApiCounts | None = None,
    collectors: Iterable[Collector] = (),
) -> MetricsServer | None:
    """Serve ``app``'s metrics on ``[metrics] listen`` in the running loop; None when it is off.

    ``api``: the gRPC server's counts (``api_counts(server)``); ``collectors``: more families
    for the same registry (the alerts'). Raises ConfigError for a bad ``[metrics]`` table or
    an address that cannot be bound.
    """
    chosen = metrics_settings(settings)
    if chosen.host is None:
        return None
    instrumentation = instrument(app, api=api)
    for collector in collectors:
        instrumentation.registry.register(collector)
    http = MetricsHttpServer(
        instrumentation.registry,
        lambda: not_ready(instrumentation.view),
        host=chosen.host,
        port=chosen.port,
    )
    try:
        await http.start()
    except OSError as error:
        instrumentation.detach()
        raise ConfigError(
            f"[metrics] cannot listen on {chosen.host}:{chosen.port}: {error.strerror or error};"
            " is another engine on that port? Choose another [metrics] listen (port 0 picks a free one)"
        ) from None
    return MetricsServer(instrumentation, http)
