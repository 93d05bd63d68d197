"""What runs beside a live engine for its operators: alerts and the Prometheus endpoint.

``run`` and ``demo`` wrap the engine's run in :func:`operations`: the alert service evaluates
its rules and delivers to its webhooks while the engine runs, and ``[metrics] listen`` (or
``--metrics-listen``) serves ``/metrics``, ``/healthz`` and ``/readyz`` in the same loop.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from prometheus_client.registry import Collector

from adapters.metrics.alerts_collector import AlertCollector
from entrypoints.alerts import alerts_running
from entrypoints.config import Settings
from entrypoints.container import App
from entrypoints.grpc.launch import check_port_free
from entrypoints.logs import Console
from entrypoints.metrics import MetricsServer, api_counts, metrics_settings, start_metrics

if TYPE_CHECKING:
    from entrypoints.grpc.server import GrpcServer


def add_arguments(parser: argparse.ArgumentParser, *, default_listen: str | None = None) -> None:
    """``--metrics-listen`` and ``--no-metrics``; ``default_listen`` is the command's own default
    (the demo serves metrics unless told not to; ``run`` follows ``[metrics] listen``)."""
    where = f"default {default_listen}" if default_listen else "default: [metrics] listen, off when absent"
    parser.add_argument(
        "--metrics-listen",
        default=default_listen,
        metavar="HOST:PORT",
        help=f"serve Prometheus metrics, /healthz and /readyz here ({where}; port 0 picks a free one)",
    )
    parser.add_argument("--no-metrics", action="store_true", help="do not serve the metrics endpoint")


def with_metrics_options(settings: Settings, args: argparse.Namespace) -> Settings:
    """``settings`` with the command line's metrics options applied, checked (ConfigError), and
    the port found free before anything starts."""
    metrics = dict(settings.metrics)
    if getattr(args, "no_metrics", False):
        metrics["listen"] = ""
    elif getattr(args, "metrics_listen", None):
        metrics["listen"] = args.metrics_listen
    chosen = replace(settings, metrics=metrics)
    listen = metrics_settings(chosen)
    if listen.host is not None:
        check_port_free(f"{listen.host}:{listen.port}", "metrics", "--metrics-listen", "--no-metrics")
    return chosen


@asynccontextmanager
async def operations(
    app: App,
    settings: Settings,
    console: Console,
    *,
    grpc: GrpcServer | None = None,
    collectors: Iterable[Collector] = (),
) -> AsyncIterator[MetricsServer | None]:
    """Alerts and the metrics endpoint for as long as the block runs (the engine's run);
    ``collectors`` add families of the process's own (execution's bus)."""
    async with alerts_running(app.alerts):
        metrics = await start_metrics(
            app,
            settings,
            api=None if grpc is None else api_counts(grpc),
            collectors=[AlertCollector(app.alerts.metrics), *collectors],
        )
        if metrics is not None:
            console.say(
                f"metrics on {metrics.url}/metrics (health {metrics.url}/healthz)", metrics=metrics.url
            )
        try:
            yield metrics
        finally:
            if metrics is not None:
                await metrics.stop()
