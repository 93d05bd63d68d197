"""What runs beside an ingestion or strategy-worker process for its operators: the gRPC control
plane (``control``) on ``[grpc] listen`` / ``--grpc-listen``, and its Prometheus endpoint
(``/metrics``, ``/healthz``, ``/readyz``) on ``[metrics] listen`` / ``--metrics-listen``.

Both start before the service and stop after it, so probes see it come and go; ``/readyz``
names the components that do not serve, as health does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.registry import Collector

from adapters.metrics.http import MetricsHttpServer
from entrypoints.config import ConfigError, GrpcSettings, Settings
from entrypoints.logs import Console
from entrypoints.metrics import metrics_settings
from entrypoints.services.control import (
    Lifetime,
    ServiceControl,
    ServiceStatus,
    not_ready,
    start_service_control,
)


async def start_service_metrics(
    settings: Settings, collector: Collector, problems: Callable[[], dict[str, str]]
) -> MetricsHttpServer | None:
    """Serve ``collector`` (and the process and Python families) on ``[metrics] listen``, in a
    registry of its own; None when the endpoint is off. ConfigError when it cannot bind."""
    chosen = metrics_settings(settings)
    if chosen.host is None:
        return None
    registry = CollectorRegistry()
    registry.register(collector)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    http = MetricsHttpServer(registry, problems, host=chosen.host, port=chosen.port)
    try:
        await http.start()
    except OSError as error:
        raise ConfigError(
            f"[metrics] cannot listen on {chosen.host}:{chosen.port}: {error.strerror or error};"
            " choose another [metrics] listen (port 0 picks a free one)"
        ) from None
    return http


@asynccontextmanager
async def operated(
    settings: Settings,
    grpc: GrpcSettings | None,
    console: Console,
    *,
    status: Callable[[], ServiceStatus],
    collector: Collector,
    lifetime: Lifetime,
    admin_token: str | None = None,
) -> AsyncIterator[tuple[ServiceControl | None, MetricsHttpServer | None]]:
    """The control plane (``grpc``: None when off) and the metrics endpoint for the block's run."""
    control: ServiceControl | None = None
    metrics: MetricsHttpServer | None = None
    try:
        if grpc is not None:
            control = await start_service_control(settings, grpc, status, lifetime, admin_token=admin_token)
            console.say(f"gRPC control plane on {control.address}", grpc=control.address)
        metrics = await start_service_metrics(settings, collector, lambda: not_ready(status()))
        if metrics is not None:
            console.say(
                f"metrics on {metrics.url}/metrics (health {metrics.url}/healthz)", metrics=metrics.url
            )
        yield control, metrics
    finally:
        if metrics is not None:
            await metrics.stop()
        if control is not None:
            await control.stop()
