"""Starting the control plane from ``tradeplane run`` and ``tradeplane demo``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from entrypoints.backtest.stored_runs import open_results
from entrypoints.config import ConfigError, GrpcSettings, Settings, check_listen
from entrypoints.container import App
from entrypoints.grpc.auth import Role, TokenEntry, hash_token
from entrypoints.grpc.engine_service import EngineInfo
from entrypoints.grpc.server import GrpcServer
from entrypoints.version import package_version

ADMIN_TOKEN_ENV = "TRADEPLANE_ADMIN_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grpc-listen",
        default=None,
        metavar="HOST:PORT",
        help="gRPC control plane address (default: [grpc] listen, 127.0.0.1:50051; port 0 picks a free one)",
    )
    parser.add_argument("--no-grpc", action="store_true", help="run without the gRPC control plane")


def grpc_settings(settings: Settings, args: argparse.Namespace) -> GrpcSettings | None:
    """The [grpc] settings with the command line applied; None when the control plane is off."""
    grpc = settings.grpc
    if args.no_grpc or not grpc.enabled:
        return None
    if args.grpc_listen is not None:
        grpc = replace(grpc, listen=check_listen(args.grpc_listen, "--grpc-listen"))
    return grpc


def admin_token_from_env() -> str | None:
    token = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
    if not token:
        return None
    if len(token) < 16:
        raise ConfigError(f"{ADMIN_TOKEN_ENV} must be at least 16 characters (was {len(token)})")
    return token


async def start_control_plane(
    app: App, settings: Settings, grpc: GrpcSettings, *, mode: str, admin_token: str | None
) -> GrpcServer:
    """Start the gRPC server; ``admin_token`` (kept only as its hash) is added as an admin."""
    extra = (
        [TokenEntry(name=f"{mode}-admin", role=Role.ADMIN, sha256=hash_token(admin_token))]
        if admin_token is not None
        else []
    )
    info = EngineInfo(
        name=settings.engine.name, version=package_version(), mode=mode, broker=settings.broker.kind
    )
    backtests = open_results(settings.storage)  # the trades database keeps the backtest runs
    assert backtests is not None
    server = GrpcServer(app, grpc, info, extra_tokens=extra, backtests=backtests)
    try:
        await server.start()
    except BaseException:
        backtests.close()
        raise
    return server


def grpcurl_command() -> str:
    """The grpcurl to print: the one installed beside this Python (make venv), else PATH's."""
    beside = Path(sys.executable).with_name("grpcurl")
    if beside.exists():
        return str(beside)
    return shutil.which("grpcurl") or "grpcurl"


def usage_lines(server: GrpcServer, token: str) -> list[str]:
    plaintext = "" if server.tls else "-plaintext "
    grpcurl = grpcurl_command()
    return [
        f"gRPC control plane on {server.address}; admin token: {token}",
        "  try in another terminal:",
        f"  {grpcurl} {plaintext}-H 'authorization: Bearer {token}' {server.address}"
        " tradeplane.v1.EngineService/GetStatus",
    ]
