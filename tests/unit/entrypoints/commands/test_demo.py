"""``tradeplane demo`` says where it keeps its state, as a full path, before it trades."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Imported at collection, not first inside a test: run_engine prints its status lines to the
# sys.stdout of import time, which must outlive any one test's captured stream.
import entrypoints.foreground  # noqa: F401
from entrypoints.cli import main


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("TRADEPLANE_"):
            monkeypatch.delenv(name)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def _demo(*args: str) -> int:
    # Metrics on any free port, never the fixed default: other tests run demos side by side.
    return main(["demo", "--no-grpc", "--duration", "0.3", "--status-interval", "10",
                 "--metrics-listen", "127.0.0.1:0", *args])  # fmt: skip


def test_the_demo_prints_the_full_path_of_its_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _demo("--data-dir", "kept") == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"storage: state kept in {tmp_path / 'kept'}/ (--reset-state starts afresh)" in lines
    assert (tmp_path / "kept" / "tradeplane.db").exists()


def test_the_demo_in_memory_says_nothing_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _demo("--memory") == 0
    assert "storage: nothing is kept (--memory)" in capsys.readouterr().out.splitlines()
    assert list(tmp_path.iterdir()) == []
