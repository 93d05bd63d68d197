"""The web gateway's configuration: ``[web] listen``, ``--web-listen``, and what they refuse."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from entrypoints.cli import main
from entrypoints.config import ConfigError, Settings, parse_settings
from entrypoints.web.serve import loopback_target, web_listen
from tests.integration.grpc.support import settings_dict
from tests.unit.entrypoints.commands.test_run import _offline_example


def settings(**web: Any) -> Settings:
    return parse_settings({**settings_dict(), "web": web}, source="<web>")


def args(web_listen: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(web_listen=web_listen)


def test_the_gateway_is_off_by_default() -> None:
    config = settings()
    assert config.web.listen == ""
    assert web_listen(config, args(), config.grpc) is None


def test_listen_from_the_file_and_the_command_line_over_it() -> None:
    config = settings(listen="127.0.0.1:8080")
    assert web_listen(config, args(), config.grpc) == "127.0.0.1:8080"
    assert web_listen(config, args("127.0.0.1:0"), config.grpc) == "127.0.0.1:0"


@pytest.mark.parametrize("value", ["8080", "127.0.0.1:http", "127.0.0.1:70000", 8080])
def test_a_bad_listen_is_refused(value: object) -> None:
    with pytest.raises(ConfigError, match=r"\[web\] listen"):
        settings(listen=value)


def test_an_unknown_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="port"):
        settings(port=8080)


def test_a_bad_command_line_listen_is_refused() -> None:
    config = settings()
    with pytest.raises(ConfigError, match="--web-listen"):
        web_listen(config, args("nowhere"), config.grpc)


def test_the_gateway_needs_the_control_plane() -> None:
    config = settings(listen="127.0.0.1:0")
    with pytest.raises(ConfigError, match="--no-grpc"):
        web_listen(config, args(), None)
    tls = replace(config.grpc, tls_cert="cert.pem", tls_key="key.pem")
    assert web_listen(config, args(), tls) == "127.0.0.1:0"  # it then serves HTTPS with that certificate


@pytest.mark.parametrize(
    ("address", "target"),
    [
        ("127.0.0.1:50051", "127.0.0.1:50051"),
        ("0.0.0.0:50051", "127.0.0.1:50051"),
        ("[::]:50051", "[::1]:50051"),
        ("[::1]:7", "[::1]:7"),
        ("localhost:9", "localhost:9"),
    ],
)
def test_the_gateway_calls_the_server_over_loopback(address: str, target: str) -> None:
    assert loopback_target(address) == target


def test_run_refuses_web_listen_with_no_grpc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--config", str(tmp_path / "none.toml"), "--no-grpc", "--web-listen", "127.0.0.1:0"]
    # The missing file is reported first; with the example configuration, the combination is.
    assert main(argv) == 2
    assert main(["run", "--no-grpc", "--web-listen", "127.0.0.1:0"]) == 2
    out, err = capsys.readouterr()
    assert "--no-grpc" in out + err


def test_run_serves_the_gateway_beside_the_control_plane(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(_offline_example(f'data_dir = "{tmp_path / "data"}"'))
    argv = ["run", "--config", str(config), "--grpc-listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"]
    assert main([*argv, "--duration", "0.5"]) == 0
    out, _ = capsys.readouterr()
    (line,) = (line for line in out.splitlines() if line.startswith("web console on http://127.0.0.1:"))
    assert line.endswith("OpenAPI at /docs)")
