"""``tradeplane run`` as an operator first sees it: its own lines, not its libraries'."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# Imported at collection, not first inside a test: run_engine prints its status lines to the
# sys.stdout of import time, which must outlive any one test's captured stream.
import entrypoints.foreground  # noqa: F401
from entrypoints.cli import main
from entrypoints.config import default_data_dir, example_config_path
from tests.unit.entrypoints.example_config import EXAMPLE_DATA_DIR_LINE


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("TRADEPLANE_"):
            monkeypatch.delenv(name)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _offline_example(data_dir_line: str) -> str:
    """The shipped example with ``data_dir_line`` for its data_dir, its feed pointed at a closed
    local port (the feed finds no one there: nothing leaves the machine)."""
    port = _closed_port()
    return (
        example_config_path()
        .read_text()
        .replace(EXAMPLE_DATA_DIR_LINE, data_dir_line)
        .replace('"wss://stream.binance.com:9443"', f'"ws://127.0.0.1:{port}"')
        .replace('"https://api.binance.com"', f'"http://127.0.0.1:{port}"')
    )


def test_a_first_run_prints_no_migration_chatter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(_offline_example(f'data_dir = "{tmp_path / "data"}"'))
    assert main(["run", "--config", str(config), "--no-grpc", "--duration", "0.2"]) == 0
    out, err = capsys.readouterr()
    assert (tmp_path / "data" / "tradeplane.db").exists()  # the stores were migrated, quietly
    assert "alembic" not in err, err
    assert "sqlalchemy" not in err, err
    assert out.splitlines()[0] == f"storage: state kept in {tmp_path / 'data'}/"


def test_state_lives_beside_the_config_not_where_run_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "config.toml").write_text(_offline_example('data_dir = "state"'))
    started_in = tmp_path / "somewhere"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    assert main(["run", "--config", "../etc/config.toml", "--no-grpc", "--duration", "0.2"]) == 0
    assert (folder / "state" / "tradeplane.db").exists()
    assert list(started_in.iterdir()) == []
    assert f"storage: state kept in {folder / 'state'}/" in capsys.readouterr().out.splitlines()


def test_without_data_dir_state_lives_in_the_per_user_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    config = tmp_path / "config.toml"
    config.write_text(_offline_example(""))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", str(config), "--no-grpc", "--duration", "0.2"]) == 0
    assert (Path(default_data_dir()) / "tradeplane.db").exists()
    assert not (tmp_path / "data").exists()
    assert f"storage: state kept in {default_data_dir()}/" in capsys.readouterr().out.splitlines()


def test_with_log_format_json_every_line_printed_is_a_json_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(_offline_example(f'data_dir = "{tmp_path / "data"}"'))
    argv = ["run", "--config", str(config), "--no-grpc", "--duration", "0.2", "--log-format", "json"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    records = [json.loads(line) for line in out.splitlines()]
    messages = [r["msg"] for r in records]
    assert messages[0] == f"storage: state kept in {tmp_path / 'data'}/"
    assert records[0]["data_dir"] == f"{tmp_path / 'data'}/"
    assert any(m.startswith("broker: ") for m in messages)
    assert messages[-1] == "summary"
    assert "status" in messages


def test_the_log_format_option_overrides_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    text = _offline_example(f'data_dir = "{tmp_path / "data"}"')
    config.write_text(text.replace('format = "text"', 'format = "json"'))
    assert 'format = "json"' in config.read_text()
    assert (
        main(["run", "--config", str(config), "--no-grpc", "--duration", "0.2", "--log-format", "text"]) == 0
    )
    out, _ = capsys.readouterr()
    assert out.splitlines()[0] == f"storage: state kept in {tmp_path / 'data'}/"
    assert "summary:" in out.splitlines()


def test_with_log_format_json_a_configuration_error_is_a_json_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--config", str(tmp_path / "missing.toml"), "--log-format", "json"]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    (record,) = (json.loads(line) for line in out.splitlines())
    assert record["level"] == "ERROR"
    assert "missing.toml" in record["msg"]
