"""Running the gateway with uvicorn as a task of the engine's own asyncio loop.

The socket is bound here (a port in use is a ConfigError, not uvicorn's ``sys.exit``), and
uvicorn's signal capture is off: the engine's foreground loop owns Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc as grpc_module

from entrypoints.config import ConfigError, GrpcSettings, Settings, check_listen

if TYPE_CHECKING:
    import uvicorn

    from entrypoints.web.sessions import Identify

log = logging.getLogger("tradeplane.web")

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
OPTION = "--web-listen"


def add_arguments(parser: argparse.ArgumentParser, default_listen: str | None = None) -> None:
    """``--web-listen``; with ``default_listen`` (the demo's), the console is on unless ``--no-web``."""
    default = f"default: {default_listen}" if default_listen else "default: [web] listen, off"
    parser.add_argument(
        OPTION,
        default=default_listen,
        metavar="HOST:PORT",
        help="serve the web console (at /) and the REST/JSON gateway (OpenAPI at /docs) in front of"
        f" the gRPC control plane ({default}; port 0 picks a free one)",
    )
    if default_listen:
        parser.add_argument("--no-web", action="store_true", help="do not serve the web console")


def web_listen(settings: Settings, args: argparse.Namespace, grpc: GrpcSettings | None) -> str | None:
    """Where the gateway listens (the command line over ``[web] listen``); None when it is off."""
    option = getattr(args, "web_listen", None)
    listen = check_listen(option, OPTION) if option is not None else settings.web.listen
    if not listen:
        return None
    if grpc is None:
        raise ConfigError(
            f"the web gateway ({OPTION} / [web] listen) calls the gRPC control plane:"
            " it cannot run with --no-grpc or [grpc] enabled = false"
        )
    return listen


@dataclass(frozen=True)
class GatewayTls:
    """HTTPS with the control plane's certificate and key, and how the gateway trusts that
    same server when it calls it over loopback."""

    cert: Path
    key: Path

    @classmethod
    def of(cls, grpc: GrpcSettings) -> GatewayTls | None:
        return cls(Path(grpc.tls_cert), Path(grpc.tls_key)) if grpc.tls_cert else None

    def channel(self, target: str) -> tuple[grpc_module.ChannelCredentials, list[tuple[str, str]]]:
        """Credentials and options to reach ``target`` (a loopback address) as this certificate's server.

        A self-signed certificate is trusted as itself; one a CA issued, through the system's
        trusted roots. The name checked is the loopback address when the certificate lists it,
        else the certificate's first DNS name (the server answers the loopback address with it).
        """
        from cryptography import x509

        pem = self.cert.read_bytes()
        certificate = x509.load_pem_x509_certificate(pem)
        roots = pem if certificate.issuer == certificate.subject else None
        try:
            names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns = names.get_values_for_type(x509.DNSName)
            ips = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
        except x509.ExtensionNotFound:
            dns, ips = [], set()
        host = target.rpartition(":")[0].strip("[]")
        options: list[tuple[str, str]] = []
        if host not in ips:
            common = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
            name = dns[0] if dns else (str(common[0].value) if common else "")
            if name:
                options.append(("grpc.ssl_target_name_override", name))
        return grpc_module.ssl_channel_credentials(root_certificates=roots), options


def loopback_target(address: str) -> str:
    """The gRPC server's ``HOST:PORT`` as a local client reaches it (a wildcard host: loopback)."""
    host, _, port = address.rpartition(":")
    if host in {"", "0.0.0.0"}:
        host = "127.0.0.1"
    elif host in {"::", "[::]"}:
        host = "[::1]"
    return f"{host}:{port}"


def _server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn without its signal handlers (the engine's own stay in place)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


def _bind(listen: str) -> socket.socket:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        raise ConfigError(f"the web gateway cannot listen on {listen}: the host cannot be resolved") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        raise ConfigError(f"the web gateway cannot listen on {listen}: {error.strerror or error}") from None
    return sock


@dataclass
class RunningGateway:
    """A gateway serving on ``address`` until ``stop()``."""

    server: uvicorn.Server
    task: asyncio.Task[None]
    host: str
    port: int
    tls: bool = False

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}/"

    async def stop(self) -> None:
        """Stop accepting, end the event streams, let the requests in flight finish (briefly)."""
        from entrypoints.web.streams import end_streams

        end_streams(self.server.config.app)
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("the web gateway did not stop within %.0f s; cancelled", STOP_TIMEOUT_S)
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def start_gateway(
    listen: str, grpc_target: str, identify: Identify | None = None, tls: GatewayTls | None = None
) -> RunningGateway:
    """Serve the gateway on ``listen`` (``HOST:PORT``, port 0: a free one) calling ``grpc_target``.

    ``identify`` (the control plane's ``Authenticator.identify``) enables the console's login;
    ``tls`` serves HTTPS (session cookies are then Secure) and calls the control plane over TLS.
    """
    import uvicorn  # here, not at import: the command line loads this module for its options

    from entrypoints.web.gateway import build_app
    from entrypoints.web.sessions import SessionPolicy, Sessions

    check_listen(listen, OPTION)
    try:
        channel = None if tls is None else tls.channel(grpc_target)
        ssl = {} if tls is None else {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)}
    except (OSError, ValueError) as error:
        where = tls.cert if tls is not None else ""
        raise ConfigError(f"the web gateway cannot use the TLS certificate {where}: {error}") from None
    sessions = None if identify is None else Sessions(identify, SessionPolicy(secure_cookie=tls is not None))
    sock = _bind(listen)
    config = uvicorn.Config(
        build_app(grpc_target, sessions, channel),
        **ssl,  # type: ignore[arg-type]
        lifespan="on",
        log_config=None,  # the engine configured logging already
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=int(STOP_TIMEOUT_S) - 1,
    )
    server = _server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="web-gateway")
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
    while not server.started:
        if task.done() or asyncio.get_running_loop().time() > deadline:
            task.cancel()
            sock.close()
            raise ConfigError(f"the web gateway on {listen} did not start")
        await asyncio.sleep(0.01)
    host, port = sock.getsockname()[:2]
    return RunningGateway(server, task, str(host), int(port), tls is not None)
