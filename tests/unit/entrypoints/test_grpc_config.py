"""The [grpc] section, the gRPC command-line switches and `tradeplane token`."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from entrypoints.cli import main
from entrypoints.config import ConfigError, load_settings
from entrypoints.grpc import launch
from entrypoints.grpc.auth import hash_token

EXAMPLE = Path(__file__).resolve().parents[3] / "entrypoints" / "example.toml"
DIGEST = hash_token("a-token-of-sixteen+")


def _load(tmp_path: Path, grpc: str) -> object:
    example = EXAMPLE.read_text()
    start, end = example.index("[grpc]\n"), example.index("[logging]")
    text = example[:start] + example[end:] + f"\n[grpc]\n{grpc}\n"
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_settings(path, environ={})


def test_the_example_serves_on_loopback_with_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.grpc.enabled
    assert settings.grpc.listen == "127.0.0.1:50051"
    assert settings.grpc.tokens == ()
    assert settings.grpc.stream_buffer == 10_000
    assert settings.grpc.backtest_data_dir == "data/history"


def test_the_backtest_data_directory_is_configurable(tmp_path: Path) -> None:
    settings = _load(tmp_path, 'backtest_data_dir = "/srv/history"')
    assert settings.grpc.backtest_data_dir == "/srv/history"  # type: ignore[attr-defined]


def test_tokens_are_read_with_their_role_and_never_shown(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        f'[[grpc.tokens]]\nname = "alice"\nrole = "trader"\nsha256 = "{DIGEST.upper()}"\n'
        "rate_per_second = 5\n",
    )
    (token,) = settings.grpc.tokens  # type: ignore[attr-defined]
    assert (token.name, token.role, token.sha256, token.rate_per_second) == ("alice", "trader", DIGEST, 5.0)
    assert DIGEST not in repr(token)


@pytest.mark.parametrize(
    ("grpc", "message"),
    [
        ('listen = "50051"', "HOST:PORT"),
        ('listen = "127.0.0.1:99999"', "port of 0-65535"),
        ("listen = 50051", "HOST:PORT"),
        ('tls_cert = "/x.crt"', "set together"),
        ("stream_buffer = 0", "stream_buffer must be a positive integer"),
        ("rate_limit_per_second = -1", "rate_limit_per_second must be a positive number"),
        ('rate_limit_per_second = "nan"', "rate_limit_per_second must be a positive number"),
        ('enabled = "yes"', "enabled must be true or false"),
        ('backtest_data_dir = ""', "backtest_data_dir must be a directory path"),
        ("backtest_data_dir = 3", "backtest_data_dir must be a directory path"),
        ("colour = 1", "unknown key.*colour"),
        ('tokens = "x"', "array of tables"),
        ('[[grpc.tokens]]\nname = "a"\nrole = "root"\nsha256 = "' + DIGEST + '"', "role must be one of"),
        ('[[grpc.tokens]]\nname = "a"\nrole = "admin"\nsha256 = "secret"', "64-hex-digit SHA-256"),
        ('[[grpc.tokens]]\nrole = "admin"\nsha256 = "' + DIGEST + '"', "name must be"),
        ('[[grpc.tokens]]\nname = "a"\nrole = "admin"\nsha256 = "' + DIGEST + '"\nextra = 1', "unknown key"),
        (
            '[[grpc.tokens]]\nname = "a"\nrole = "admin"\nsha256 = "'
            + DIGEST
            + '"\n[[grpc.tokens]]\nname = "a"\nrole = "viewer"\nsha256 = "'
            + DIGEST
            + '"',
            "unique",
        ),
    ],
)
def test_a_bad_grpc_section_is_refused_naming_the_key(tmp_path: Path, grpc: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, grpc)


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


def test_the_token_command_prints_a_token_and_the_block_with_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "--name", "alice", "--role", "viewer"]) == 0
    out = capsys.readouterr().out
    token = re.search(r"shown once; give it to alice\): (\S+)", out).group(1)  # type: ignore[union-attr]
    block = out[out.index("[[grpc.tokens]]") :]
    assert f'sha256 = "{hash_token(token)}"' in block
    assert token not in block
    settings = _load(tmp_path, block)
    assert settings.grpc.tokens[0].role == "viewer"  # type: ignore[attr-defined]


@pytest.mark.parametrize("argv", [["token", "--name", "x"], ["token", "--name", "x", "--role", "root"]])
def test_the_token_command_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2


def test_a_bad_token_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--name", "a b", "--role", "admin"]) == 2
    assert "--name" in capsys.readouterr().err
