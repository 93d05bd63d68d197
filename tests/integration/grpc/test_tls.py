"""The server with TLS: a self-signed certificate made by the openssl CLI, trusted by the client."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tradeplane.v1 import engine_pb2, engine_pb2_grpc

from tests.integration.grpc.support import CALL_TIMEOUT_S, VIEWER, Env, refused

Starter = Callable[..., Coroutine[Any, Any, Env]]
OPENSSL_TIMEOUT_S = 30.0


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed P-256 certificate for localhost and 127.0.0.1, and its key, in ``directory``."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "the openssl command line tool is needed for the TLS tests"
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=OPENSSL_TIMEOUT_S,
    )
    return cert, key


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


async def test_get_status_over_tls(start: Starter, certificate: tuple[Path, Path]) -> None:
    env = await start(tls=certificate)
    assert env.server.tls

    status = await env.stub.engine.GetStatus(
        engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=CALL_TIMEOUT_S
    )
    assert status.running
    assert status.name == "grpc-it"
    health = await health_pb2_grpc.HealthStub(env.stub.channel).Check(
        health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT_S
    )
    assert health.status == health_pb2.HealthCheckResponse.SERVING

    # By host name too (the certificate names both).
    credentials = grpc.ssl_channel_credentials(root_certificates=certificate[0].read_bytes())
    async with grpc.aio.secure_channel(f"localhost:{env.port}", credentials) as channel:
        by_name = engine_pb2_grpc.EngineServiceStub(channel)
        status = await by_name.GetStatus(
            engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=CALL_TIMEOUT_S
        )
        assert status.running


async def test_a_plaintext_client_cannot_talk_to_a_tls_server(
    start: Starter, certificate: tuple[Path, Path]
) -> None:
    env = await start(tls=certificate)

    async with grpc.aio.insecure_channel(env.target) as channel:
        refusal = await refused(
            engine_pb2_grpc.EngineServiceStub(channel).GetStatus(
                engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=CALL_TIMEOUT_S
            )
        )
    assert refusal.code == grpc.StatusCode.UNAVAILABLE


async def test_a_client_that_does_not_trust_the_certificate_is_refused(
    start: Starter, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    env = await start(tls=certificate)
    other = tmp_path / "other"
    other.mkdir()
    stranger, _ = self_signed(other)  # the same names, another key

    credentials = grpc.ssl_channel_credentials(root_certificates=stranger.read_bytes())
    async with grpc.aio.secure_channel(env.target, credentials) as channel:
        refusal = await refused(
            engine_pb2_grpc.EngineServiceStub(channel).GetStatus(
                engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=CALL_TIMEOUT_S
            )
        )
    assert refusal.code == grpc.StatusCode.UNAVAILABLE
