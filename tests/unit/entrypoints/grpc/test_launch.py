"""The gRPC command-line switches over the [grpc] section, and the admin token from the environment."""

from __future__ import annotations

import argparse

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
