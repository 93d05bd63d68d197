"""The gateway over TLS: HTTPS with the control plane's certificate, loopback calls over TLS,
Secure session cookies; a certificate it cannot read is a clear configuration error."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from entrypoints.config import ConfigError
from entrypoints.web.serve import GatewayTls, start_gateway
from tests.integration.grpc.support import CALL_TIMEOUT_S, VIEWER_TOKEN
from tests.integration.grpc.test_tls import certificate
from tests.integration.web.test_gateway import API

__all__ = ["certificate"]


async def test_the_console_and_the_api_over_https(start, certificate: tuple[Path, Path]) -> None:  # type: ignore[no-untyped-def]
    env = await start(tls=certificate)
    tls = GatewayTls(*certificate)
    gateway = await start_gateway("127.0.0.1:0", env.target, env.server.auth.identify, tls)
    try:
        assert gateway.url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(certificate[0]))
        async with httpx.AsyncClient(base_url=gateway.url, verify=trust, timeout=CALL_TIMEOUT_S) as http:
            page = await http.get("/")
            assert page.status_code == 200
            login = await http.post(f"{API}/session", json={"token": VIEWER_TOKEN})
            assert login.status_code == 200, login.text
            assert "Secure" in login.headers["set-cookie"]
            status = await http.get(f"{API}/status")  # the session's call, over TLS to the engine
            assert status.status_code == 200, status.text
            assert status.json()["running"] is True
        async with httpx.AsyncClient(base_url=f"http://{gateway.address}", timeout=CALL_TIMEOUT_S) as plain:
            with pytest.raises(httpx.HTTPError):
                await plain.get("/")
    finally:
        await gateway.stop()


def localhost_only(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate naming only DNS:localhost (no IP address)."""
    cert, key = directory / "host-cert.pem", directory / "host-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


async def test_a_certificate_naming_only_a_host_name_is_checked_by_that_name(
    start,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    cert, key = localhost_only(tmp_path)
    env = await start(tls=(cert, key))
    _, options = GatewayTls(cert, key).channel(env.target)
    assert options == [("grpc.ssl_target_name_override", "localhost")]
    gateway = await start_gateway("127.0.0.1:0", env.target, None, GatewayTls(cert, key))
    try:
        async with httpx.AsyncClient(
            base_url=gateway.url,
            verify=False,
            timeout=CALL_TIMEOUT_S,  # the browser's side is not under test here
        ) as http:
            status = await http.get(f"{API}/status", headers={"Authorization": f"Bearer {VIEWER_TOKEN}"})
        assert status.status_code == 200, status.text  # the loopback call verified "localhost"
    finally:
        await gateway.stop()


async def test_an_unreadable_certificate_is_a_config_error(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match="TLS certificate"):
        await start_gateway("127.0.0.1:0", env.target, None, GatewayTls(bad, tmp_path / "key.pem"))
    with pytest.raises(ConfigError, match="TLS certificate"):
        await start_gateway("127.0.0.1:0", env.target, None, GatewayTls(tmp_path / "none.pem", bad))
