"""Starting the control plane from ``tradeplane run`` and ``tradeplane demo``."""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Protocol

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
    app: App,
    settings: Settings,
    grpc: GrpcSettings,
    *,
    mode: str,
    admin_token: str | None,
    viewer_token: str | None = None,
    components: Callable[[], Mapping[str, bool]] | None = None,
) -> GrpcServer:
    """Start the gRPC server; ``admin_token`` and ``viewer_token`` (kept only as their hashes)
    are added with those roles; ``components`` adds health-check services (see ``GrpcServer``)."""
    extra = [
        TokenEntry(name=f"{mode}-{role.name.lower()}", role=role, sha256=hash_token(token))
        for token, role in ((admin_token, Role.ADMIN), (viewer_token, Role.VIEWER))
        if token is not None
    ]
    info = EngineInfo(
        name=settings.engine.name, version=package_version(), mode=mode, broker=settings.broker.kind
    )
    backtests = open_results(settings.storage)  # the trades database keeps the backtest runs
    assert backtests is not None
    server = GrpcServer(
        app, grpc, info, extra_tokens=extra, backtests=backtests, components=components, ml=settings.ml
    )
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


class Served(Protocol):
    """What the usage lines need of a running control plane."""

    @property
    def address(self) -> str: ...

    @property
    def tls(self) -> bool: ...


def usage_lines(server: Served, token: str, *, from_env: bool = False) -> list[str]:
    """How to call the control plane. A token the user chose (``from_env``) is never printed
    (captured output would keep it): the variable stands in for it; a generated one is shown,
    being the only way the user learns it."""
    plaintext = "" if server.tls else "-plaintext "
    grpcurl = grpcurl_command()
    shown = f"from {ADMIN_TOKEN_ENV}" if from_env else token
    bearer = f'"authorization: Bearer ${ADMIN_TOKEN_ENV}"' if from_env else f"'authorization: Bearer {token}'"
    return [
        f"gRPC control plane on {server.address}; admin token: {shown}",
        "  try in another terminal:",
        f"  {grpcurl} {plaintext}-H {bearer} {server.address} tradeplane.v1.EngineService/GetStatus",
    ]


def check_port_free(
    listen: str, what: str = "gRPC", option: str = "--grpc-listen", off: str = "--no-grpc"
) -> None:
    """Refuse, before anything starts, a ``HOST:PORT`` another process listens on already.

    Port 0 (any free port) always passes. A race with a process binding it in the meantime is
    still caught when the server binds; this check makes the common case say what to do.
    ``what``, ``option`` and ``off`` name the server and the command-line options that move
    it or turn it off (the control plane's by default, the metrics endpoint's too)."""
    host, _, port_text = listen.rpartition(":")
    port = int(port_text)
    if port == 0:
        return
    host = host.strip("[]")
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ConfigError(f"{what} cannot listen on {listen}: the host {host} cannot be resolved") from None
    failures: list[OSError] = []
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise ConfigError(
                        f"{what} cannot listen on {listen}: the port is in use by another process"
                        f" (another tradeplane?). Stop that process, or pass {option}"
                        f" {host if ':' not in host else f'[{host}]'}:0 for any free port"
                        f" (or {off} to run without it)"
                    ) from None
                failures.append(error)
    if failures and len(failures) == len(addresses):
        reason = failures[0].strerror or str(failures[0])
        raise ConfigError(f"{what} cannot listen on {listen}: {reason}")
