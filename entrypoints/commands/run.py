"""``tradeplane run --config FILE``: the engine against the feeds the configuration names."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from application.engine import EngineStatus
from entrypoints import brokers
from entrypoints.config import ConfigError, GrpcSettings, Settings, example_config_path
from entrypoints.container import App, bootstrap
from entrypoints.foreground import run_engine
from entrypoints.gc_tuning import tune_gc
from entrypoints.grpc import launch
from entrypoints.logs import configure_logging
from entrypoints.storage import where_state_lives
from entrypoints.validation import load_validated

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
        "--reset-state",
        action="store_true",
        help="with SQL stores: delete the stored orders, fills, positions, balances and trading state"
        " before starting (a fresh paper account); market data and signals are kept",
    )
    launch.add_arguments(parser)
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        settings = load_validated(args.config)  # everything offline first: nothing is created yet
        grpc = launch.grpc_settings(settings, args)
        admin_token = launch.admin_token_from_env()
        if grpc is not None:
            launch.check_port_free(grpc.listen)
    except ConfigError as error:
        print(f"tradeplane: {error}", file=sys.stderr)
        return 2
    configure_logging(args.log_level or settings.logging.level, settings.logging.format)
    print(f"storage: {where_state_lives(settings.storage)}", flush=True)
    try:
        app = bootstrap(settings, reset_state=args.reset_state)
    except ConfigError as error:
        print(f"tradeplane: {error}", file=sys.stderr)
        return 2
    tune_gc()
    log.info("configuration %s loaded", settings.source)
    print(brokers.describe(settings, app.broker), flush=True)
    banner = brokers.live_banner(settings, app.broker)
    if banner is not None:
        print(banner, flush=True)
    try:
        final = asyncio.run(_serve(app, settings, grpc, admin_token, args.duration))
    except ConfigError as error:
        print(f"tradeplane: {error}", file=sys.stderr)
        return 2
    return 0 if final.handler_errors == 0 else 1


async def _serve(
    app: App,
    settings: Settings,
    grpc: GrpcSettings | None,
    admin_token: str | None,
    duration: float | None,
) -> EngineStatus:
    server = None
    if grpc is not None:
        server = await launch.start_control_plane(app, settings, grpc, mode="live", admin_token=admin_token)
        print(f"gRPC control plane on {server.address}", flush=True)
    try:
        return await run_engine(
            app.engine,
            duration=duration,
            status_interval=settings.engine.status_interval_s,
            cancel_open_orders=settings.engine.cancel_open_orders_on_stop,
        )
    finally:
        if server is not None:
            await server.stop()
        app.close()
