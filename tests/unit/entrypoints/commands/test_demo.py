"""``tradeplane demo`` says where it keeps its state, as a full path, before it trades."""

from __future__ import annotations

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


def _served(*args: str) -> int:
    return main(["demo", "--memory", "--duration", "0.5", "--status-interval", "10",
                 "--metrics-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0", *args])  # fmt: skip


def test_the_demo_prints_the_consoles_address_and_a_viewer_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert _served("--web-listen", "127.0.0.1:0") == 0
    out = capsys.readouterr().out
    (line,) = (line for line in out.splitlines() if line.startswith("web console on http://127.0.0.1:"))
    assert "log in with the admin token" in line
    viewer = line.rsplit("viewer token: ", 1)[1]
    admin = out.split("admin token: ", 1)[1].split()[0]
    assert viewer.startswith("tp_")
    assert viewer != admin


def test_no_web_and_no_grpc_leave_the_console_off(capsys: pytest.CaptureFixture[str]) -> None:
    assert _served("--no-web") == 0
    assert "web console" not in capsys.readouterr().out
    assert _demo("--memory") == 0  # --no-grpc: the console has nothing to call
    assert "web console" not in capsys.readouterr().out


def test_a_bad_or_busy_console_address_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _served("--web-listen", "nowhere") == 2
    assert "--web-listen" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert _served("--web-listen", f"127.0.0.1:{port}") == 2
    err = capsys.readouterr().err
    assert "the web console" in err
    assert "--no-web" in err
