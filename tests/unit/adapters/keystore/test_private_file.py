"""The keystore file is private from its first byte and replaced atomically, even across a crash."""

from __future__ import annotations

import errno
import logging
import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.keystore.errors import KeystoreError
from adapters.keystore.keystore import Keystore
from tests.unit.adapters.keystore.samples import (
    API_KEY,
    OTHER_KEY,
    OTHER_SECRET,
    PASSPHRASE,
    SECRET,
    fast_keystore,
)

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable and writable, to prove it does not matter."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
def test_the_file_is_0600_and_a_created_directory_0700(tmp_path: Path) -> None:
    keystore = fast_keystore(tmp_path / "a" / "tradeplane" / "keys.json")
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    assert _mode(keystore.path) == 0o600
    assert _mode(keystore.path.parent) == 0o700
    keystore.remove("binance")
    assert _mode(keystore.path) == 0o600


@pytest.mark.usefixtures("permissive_umask")
def test_the_new_file_is_never_readable_by_others_even_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    rename = os.replace

    def watching_rename(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        seen.append(stat.S_IMODE(os.stat(source).st_mode))
        rename(source, target)

    monkeypatch.setattr(os, "replace", watching_rename)
    fast_keystore(tmp_path / "keys.json").add("binance", API_KEY, SECRET, PASSPHRASE)
    assert seen == [0o600]


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    fast_keystore(tmp_path / "keys.json").add("binance", API_KEY, SECRET, PASSPHRASE)
    assert _mode(tmp_path) == 0o755


def test_a_file_others_can_read_is_reported_and_put_back_to_0600(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keystore = fast_keystore(tmp_path / "keys.json")
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    keystore.path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="tradeplane.keystore"):
        assert keystore.venues() == ["binance"]
    assert "mode 644" in caplog.text
    assert "chmod 600" in caplog.text
    keystore.add("binance:testnet", OTHER_KEY, OTHER_SECRET, PASSPHRASE)
    assert _mode(keystore.path) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore = fast_keystore(tmp_path / "keys.json")
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    before = keystore.path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(KeystoreError, match=r"cannot write the keystore .*No space left"):
        keystore.add("binance:testnet", OTHER_KEY, OTHER_SECRET, PASSPHRASE)
    monkeypatch.undo()
    assert keystore.path.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keys.json"]
    assert keystore.get("binance", PASSPHRASE)[0] == API_KEY


_DIE_MID_WRITE = textwrap.dedent(
    """
    import os, sys
    from adapters.keystore.keystore import Keystore

    real_write = os.write

    def write_half_then_die(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        os._exit(9)

    os.write = write_half_then_die
    Keystore(sys.argv[1], scrypt_n=1024).add("binance:testnet", sys.argv[2], sys.argv[3], sys.argv[4])
    """
)


def test_a_crash_in_the_middle_of_a_write_leaves_the_old_file(tmp_path: Path) -> None:
    keystore = fast_keystore(tmp_path / "keys.json")
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    before = keystore.path.read_bytes()
    crashed = subprocess.run(
        [sys.executable, "-c", _DIE_MID_WRITE, str(keystore.path), OTHER_KEY, OTHER_SECRET, PASSPHRASE],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert crashed.returncode == 9, crashed.stderr.decode()
    assert keystore.path.read_bytes() == before
    assert keystore.venues() == ["binance"]
    assert keystore.get("binance", PASSPHRASE)[0] == API_KEY
    leftovers = [path for path in tmp_path.iterdir() if path.name != "keys.json"]
    assert len(leftovers) == 1  # the half-written temporary the crash left
    assert _mode(leftovers[0]) == 0o600
    keystore.add("binance:testnet", OTHER_KEY, OTHER_SECRET, PASSPHRASE)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keys.json"]  # the next writer cleans up
    assert keystore.venues() == ["binance", "binance:testnet"]


def test_writers_take_turns(tmp_path: Path) -> None:
    """Two processes adding at once both keep their entry (the read-modify-write is locked)."""
    path = tmp_path / "keys.json"
    script = textwrap.dedent(
        """
        import sys
        from adapters.keystore.keystore import Keystore

        keystore = Keystore(sys.argv[1], scrypt_n=1024)
        for index in range(15):
            keystore.add(f"{sys.argv[2]}-{index}", sys.argv[3], sys.argv[4], sys.argv[5])
        """
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), name, API_KEY, SECRET, PASSPHRASE],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for name in ("alpha", "beta")
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=60)
        assert writer.returncode == 0, errors.decode()
    assert len(Keystore(path).venues()) == 30
