"""Files only their owner can read, replaced atomically, with one writer at a time.

The keystore is rewritten whole on every change: a temporary file next to it is created with
mode 0600 (``os.open``, so it is never readable by others, not even for an instant), written,
flushed to disk and renamed over the old one; the directory is then flushed so the rename
itself survives a power cut. A crash at any point leaves either the old file or the new one,
never a mix. Writers take an exclusive ``flock`` on the directory for the read-modify-write,
so two ``keys add`` at once cannot lose an entry.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("tradeplane.keystore")

FILE_MODE = 0o600
DIR_MODE = 0o700
_TEMP_SUFFIX = ".tmp"


def read_private(path: Path, limit: int) -> bytes | None:
    """The file's bytes (at most ``limit`` + 1 of them), or None when it does not exist.

    Warns when group or others may read it: the content is encrypted, but a copy could still
    be attacked offline, and the next write puts the mode back to 0600.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if mode & 0o077:
            shown = mode & 0o777
            log.warning("keystore %s has mode %o: others may read it; run chmod 600 on it", path, shown)
        return file.read(limit + 1)


def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` (mode 0700) if it is missing; parents get the usual mode."""
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=DIR_MODE)
    except FileExistsError:
        return
    os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask, which could leave 0000


@contextlib.contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    """One writer at a time in ``directory`` (an advisory lock other tradeplane processes respect)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; the file is mode 0600 from its creation.

    Call it under ``exclusive``: it also clears temporary files a crashed writer left behind.
    """
    _remove_stale_temporaries(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}{_TEMP_SUFFIX}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    try:
        try:
            os.fchmod(fd, FILE_MODE)  # exactly 0600 whatever the umask (which can only remove bits)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _remove_stale_temporaries(path: Path) -> None:
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*{_TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
