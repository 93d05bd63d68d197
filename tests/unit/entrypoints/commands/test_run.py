"""``tradeplane run`` as an operator first sees it: its own lines, not its libraries'."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrypoints.cli import main
from entrypoints.config import example_config_path


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


def test_a_first_run_prints_no_migration_chatter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()  # the feed finds no one there: nothing leaves the machine
    text = (
        example_config_path()
        .read_text()
        .replace('data_dir = "data"', f'data_dir = "{tmp_path / "data"}"')
        .replace('"wss://stream.binance.com:9443"', f'"ws://127.0.0.1:{port}"')
        .replace('"https://api.binance.com"', f'"http://127.0.0.1:{port}"')
    )
    config = tmp_path / "config.toml"
    config.write_text(text)
    assert main(["run", "--config", str(config), "--no-grpc", "--duration", "0.2"]) == 0
    err = capsys.readouterr().err
    assert (tmp_path / "data" / "tradeplane.db").exists()  # the stores were migrated, quietly
    assert "alembic" not in err, err
    assert "sqlalchemy" not in err, err
