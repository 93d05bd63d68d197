"""`tradeplane migrate`: upgrades the configured SQLite stores, says so, and fails with a sentence."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from entrypoints.cli import main
from entrypoints.config import example_config_path
from tests.unit.entrypoints.example_config import EXAMPLE_DATA_DIR_LINE


def _config(tmp_path: Path, kind: str = "sql") -> Path:
    text = example_config_path().read_text().replace('kind = "sql"', f'kind = "{kind}"', 1)
    text = text.replace(EXAMPLE_DATA_DIR_LINE, f'data_dir = "{tmp_path / "data"}"', 1)
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_migrate_creates_then_finds_the_stores_at_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert main(["migrate", "--config", str(config)]) == 0
    assert "empty -> " in capsys.readouterr().out
    assert main(["migrate", "--config", str(config)]) == 0
    assert "already at" in capsys.readouterr().out


def test_memory_storage_has_nothing_to_migrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--config", str(_config(tmp_path, "memory"))]) == 0
    assert "nothing to migrate" in capsys.readouterr().out


def test_a_foreign_table_in_the_way_is_a_sentence_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    connection = sqlite3.connect(tmp_path / "data" / "market_data.db")
    connection.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, note TEXT)")
    connection.commit()
    connection.close()
    assert main(["migrate", "--config", str(_config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "migrating the market_data database" in err
    assert "table trades already exists" in err
    assert "Traceback" not in err
