"""The gRPC command-line switches over the [grpc] section, and the admin token from the environment."""

from __future__ import annotations

import argparse
import socket
from dataclasses import dataclass

import pytest

from entrypoints.config import ConfigError, load_settings
from entrypoints.grpc import launch


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    launch.add_arguments(parser)
    return parser.parse_args(argv)


def test_the_command_line_overrides_the_listener_or_turns_the_plane_off() -> None:
    settings = load_settings(environ={})
    assert launch.grpc_settings(settings, _args()) == settings.grpc
    override = launch.grpc_settings(settings, _args("--grpc-listen", "127.0.0.1:0"))
    assert override is not None
    assert override.listen == "127.0.0.1:0"
    assert launch.grpc_settings(settings, _args("--no-grpc")) is None
    with pytest.raises(ConfigError, match="--grpc-listen"):
        launch.grpc_settings(settings, _args("--grpc-listen", "localhost"))


def test_the_admin_token_from_the_environment_must_be_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(launch.ADMIN_TOKEN_ENV, raising=False)
    assert launch.admin_token_from_env() is None
    monkeypatch.setenv(launch.ADMIN_TOKEN_ENV, "short")
    with pytest.raises(ConfigError, match="at least 16"):
        launch.admin_token_from_env()
    monkeypatch.setenv(launch.ADMIN_TOKEN_ENV, "  a-token-of-sixteen+ ")
    assert launch.admin_token_from_env() == "a-token-of-sixteen+"


@dataclass(frozen=True)
class _Served:
    address: str = "127.0.0.1:50999"
    tls: bool = False


def test_a_token_the_user_chose_is_never_printed_only_where_it_comes_from() -> None:
    token = "a-secret-token-of-the-user-0123"
    lines = "\n".join(launch.usage_lines(_Served(), token, from_env=True))
    assert token not in lines
    assert "admin token: from TRADEPLANE_ADMIN_TOKEN" in lines
    assert '-H "authorization: Bearer $TRADEPLANE_ADMIN_TOKEN" 127.0.0.1:50999' in lines


def test_a_generated_token_is_printed_once_for_the_user_to_use() -> None:
    lines = launch.usage_lines(_Served(), "generated-token-0123456789")
    assert lines[0] == "gRPC control plane on 127.0.0.1:50999; admin token: generated-token-0123456789"
    assert "-plaintext -H 'authorization: Bearer generated-token-0123456789'" in lines[2]


def test_a_port_in_use_is_refused_before_anything_starts_saying_what_to_do() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            launch.check_port_free(f"127.0.0.1:{port}")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "in use" in message
    assert "--grpc-listen 127.0.0.1:0" in message
    assert "Stop that process" in message


def test_a_free_port_and_port_zero_pass() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    launch.check_port_free(f"127.0.0.1:{port}")
    launch.check_port_free("127.0.0.1:0")
