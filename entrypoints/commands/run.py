"""``tradeplane run --config FILE``: the engine against the feeds the configuration names."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.metrics.bus import ExecutionBusCollector
from application.engine import EngineStatus
from entrypoints import brokers, operations
from entrypoints.config import (
    SERVICES,
    ConfigError,
    GrpcSettings,
    LoggingSettings,
    Settings,
    example_config_path,
    require_redis_bus,
)
from entrypoints.container import App, bootstrap
from entrypoints.foreground import run_engine
from entrypoints.gc_tuning import tune_gc
from entrypoints.grpc import launch
from entrypoints.logs import Console, configure_logging
from entrypoints.storage import where_state_lives
from entrypoints.validation import load_validated
from entrypoints.web import serve as web_gateway

if TYPE_CHECKING:
    from entrypoints.services.execution import ExecutionShards

log = logging.getLogger("tradeplane.run")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``run`` on the ``tradeplane`` command line."""
    parser = commands.add_parser("run", help="run the engine with a configuration file")
    parser.add_argument(
        "--config", type=Path, default=None, help=f"TOML configuration (default: {example_config_path()})"
    )
    parser.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    parser.add_argument(
        "--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR (default: [logging] level, INFO)"
    )
    parser.add_argument(
        "--log-format",
        choices=LoggingSettings.FORMATS,
        default=None,
        help="text for a terminal; json for one JSON object per line on stdout, status lines and"
        " start lines included (default: [logging] format, text)",
    )
    parser.add_argument(
        "--reset-state",
        action="store_true",
        help="with SQL stores: delete the stored orders, fills, positions, balances and trading state"
        " before starting (a fresh paper account); market data and signals are kept",
    )
    parser.add_argument(
        "--service",
        choices=SERVICES,
        default="all",
        help="all: the whole engine in one process (default); ingestion, strategy or execution: one of"
        ' three services joined by Redis Streams ([bus] kind = "redis"); see docs/architecture.md',
    )
    launch.add_arguments(parser)
    web_gateway.add_arguments(parser)
    operations.add_arguments(parser)
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    console = Console(args.log_format or "text")  # until the configuration says otherwise
    if console.json:  # even a configuration error is a JSON record
        configure_logging("INFO", "json")
    try:
        settings = load_validated(args.config)  # everything offline first: nothing is created yet
        require_redis_bus(settings, args.service)
        settings = operations.with_metrics_options(settings, args)
        grpc = launch.grpc_settings(settings, args)
        admin_token = launch.admin_token_from_env()
        web = web_gateway.web_listen(settings, args, grpc)
        if web is not None and args.service in ("strategy", "ingestion"):
            raise ConfigError(
                f"{web_gateway.OPTION} serves the engine's control plane: run --service all or execution"
            )
        if grpc is not None:
            launch.check_port_free(grpc.listen)
        if web is not None:
            launch.check_port_free(web, "the web gateway", web_gateway.OPTION, "no --web-listen")
    except ConfigError as error:
        return _fail(console, error)
    fmt = args.log_format or settings.logging.format
    configure_logging(args.log_level or settings.logging.level, fmt)
    console = Console(fmt)
    if args.service in ("strategy", "ingestion"):
        from entrypoints.services.processes import run_ingestion, run_strategy_worker

        run_service = run_strategy_worker if args.service == "strategy" else run_ingestion
        try:  # with their control plane and metrics, which may fail to bind
            return asyncio.run(
                run_service(
                    settings, duration=args.duration, console=console, grpc=grpc, admin_token=admin_token
                )
            )
        except ConfigError as error:
            return _fail(console, error)
    storage = settings.storage
    data_dir = {} if storage.kind == "memory" else {"data_dir": os.path.join(storage.data_dir, "")}
    console.say(f"storage: {where_state_lives(storage)}", storage=storage.kind, **data_dir)
    execution = args.service == "execution"
    try:
        app = bootstrap(
            settings,
            reset_state=args.reset_state,
            feeds=[] if execution else None,
            record_market_data=not execution,
        )
    except ConfigError as error:
        return _fail(console, error)
    try:
        shards = _execution_shards(app, settings, console) if execution else None
    except ConfigError as error:
        app.close()
        return _fail(console, error)
    tune_gc()
    log.info("configuration %s loaded", settings.source)
    console.say(brokers.describe(settings, app.broker), broker=app.broker.name)
    banner = brokers.live_banner(settings, app.broker)
    if banner is not None:
        console.say(banner, live=True)
    try:
        final = asyncio.run(
            _serve(
                app,
                settings,
                grpc,
                admin_token,
                duration=args.duration,
                console=console,
                shards=shards,
                web=web,
            )
        )
    except ConfigError as error:
        return _fail(console, error)
    return 0 if final.handler_errors == 0 else 1


def _execution_shards(app: App, settings: Settings, console: Console) -> ExecutionShards:
    """The execution service's side of the bus: its strategies detached, its shard readers built."""
    from entrypoints.services.execution import ExecutionShards, detach_strategies
    from entrypoints.services.topology import redact_url

    detach_strategies(app)
    shards = ExecutionShards(app, settings)
    console.say(
        f"execution: reading {shards.layout.shards} shard(s) from {redact_url(settings.redis.url)}",
        service="execution",
        shards=shards.layout.shards,
    )
    return shards


def _fail(console: Console, error: ConfigError) -> int:
    console.error(f"tradeplane: {error}")
    return 2


async def _serve(
    app: App,
    settings: Settings,
    grpc: GrpcSettings | None,
    admin_token: str | None,
    *,
    duration: float | None,
    console: Console,
    shards: ExecutionShards | None = None,
    web: str | None = None,
) -> EngineStatus:
    server = None
    gateway = None
    if grpc is not None:
        server = await launch.start_control_plane(
            app,
            settings,
            grpc,
            mode="live",
            admin_token=admin_token,
            components=None if shards is None else shards.health,
        )
        console.say(f"gRPC control plane on {server.address}", grpc=server.address)
    bus = [] if shards is None else [ExecutionBusCollector(shards.status)]
    try:
        if server is not None and web is not None:
            target = web_gateway.loopback_target(server.address)
            tls = web_gateway.GatewayTls.of(server.settings)
            gateway = await web_gateway.start_gateway(web, target, server.auth.identify, tls)
            console.say(
                f"web console on {gateway.url} (REST API under /api/v1, OpenAPI at /docs)",
                web=gateway.address,
            )
        async with operations.operations(app, settings, console, grpc=server, collectors=bus):
            if shards is not None:
                shards.start()
            return await run_engine(
                app.engine,
                duration=duration,
                status_interval=settings.engine.status_interval_s,
                cancel_open_orders=settings.engine.cancel_open_orders_on_stop,
                console=console,
                before_stop=None if shards is None else shards.stop,
            )
    finally:
        if gateway is not None:
            await gateway.stop()
        if server is not None:
            await server.stop()
        app.close()
