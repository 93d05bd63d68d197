"""The trades store's durable write: one append to a journal file; the SQL tables follow behind.

A commit of the trades store (``TradeUnitOfWork``) used to be a SQL transaction on the
committing thread (0.1-0.45 ms on SQLite, milliseconds on PostgreSQL). With a journal it
is one record, the commit's rows serialized, put in the file in one step (a copy into a shared
map of the file, or one ``os.write`` to it opened ``O_APPEND``, see ``JournalFile``): once that
returns the bytes are in the kernel, so a killed process (SIGKILL, a crash) loses nothing it
committed. It is not power-loss safe unless ``fsync`` is set (then each commit also waits for
the disk). A background thread (``Projection``) applies the records
to the SQL tables in order, many records per transaction, and writes the last applied record's
sequence number (``trade_journal.applied_seq``) in the same transaction. At start, before
anything reads the store, the records past that number are applied (``replay``); the file is
emptied whenever every record in it is applied (and at least ``ROTATE_BYTES`` long).

A record on disk is a header ``<QII`` (sequence number, payload length, CRC-32 of both and of
the payload) and the payload, JSON ``[[statement, rows], ...]``: a statement is a key of the
trades store's own statements or, for rows riding from another store, its SQL. A torn or
corrupt last record (a crash during the write, a full disk) fails its length or checksum, and
it and anything after it are ignored and cut off: the commit that wrote it had not returned.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from adapters.persistence import schema as s
from adapters.persistence.raw_sql import Dialect

log = logging.getLogger("tradeplane.persistence.journal")

Statements = list[tuple[str, Sequence[Sequence[Any]]]]
"""A commit's writes: (statement key or SQL, rows), in the order they are to be run."""

HEADER = struct.Struct("<QII")
PAUSE_ENV = "TRADEPLANE_JOURNAL_PROJECTION_PAUSED"
"""Set to 1, the projection applies nothing (a test hook: the crash test kills the process
while its commits are in the journal only)."""
MAX_BATCH = 1_000
"""Records applied per SQL transaction at most."""
POLL_S = 0.02
"""The projection takes what was committed every this long (a commit does not wake it, but the
first after a quiet spell, a reader that waits for the tables, and ``WAKE_RECORDS``): one
thread switch per batch instead of one per commit, which costs the committing thread the GIL."""
WAKE_RECORDS = 256
MAX_PENDING = 20_000
"""Records not yet applied at most: a commit past it waits for the projection (bounded memory)."""
ROTATE_BYTES = 1 << 20
"""The file is cut back to nothing once it is this large and every record in it is applied."""
RETRY_S = (0.05, 5.0)
"""The projection retries a failed transaction after this long, doubling up to the second."""


class JournalBusy(RuntimeError):
    """Another process keeps this journal (one process writes a trades store's journal)."""


class JournalFailing(RuntimeError):
    """The journal or its projection into SQL is failing; commits are refused until it heals."""


@dataclass(frozen=True, slots=True)
class JournalSettings:
    """Where the journal file lives; ``fsync`` makes each commit wait for the disk (survives a
    power loss, costs a disk flush per commit)."""

    path: Path
    fsync: bool = False
    mapped: bool = True
    """Append into a memory map of the file rather than with ``os.write`` (see JournalFile)."""


def _encode_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)  # exact; PostgreSQL casts the text to NUMERIC on replay
    raise TypeError(f"{type(value).__name__} cannot go in the trades journal")


def encode(seq: int, statements: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> bytes:
    """One framed record: header, then the statements as compact JSON."""
    payload = orjson.dumps(statements, default=_encode_default)
    head = struct.pack("<QI", seq, len(payload))
    return head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload


def decode(data: bytes) -> tuple[list[tuple[int, Statements]], int]:
    """The whole records of ``data`` in order, and the length of that valid prefix (a torn or
    corrupt record ends it, as does a sequence number that does not increase)."""
    records: list[tuple[int, Statements]] = []
    offset, last = 0, -1
    while offset + HEADER.size <= len(data):
        seq, length, crc = HEADER.unpack_from(data, offset)
        end = offset + HEADER.size + length
        if end > len(data) or seq <= last:
            break
        payload = data[offset + HEADER.size : end]
        if zlib.crc32(payload, zlib.crc32(data[offset : offset + 12])) != crc:
            break
        try:
            statements = [(key, rows) for key, rows in orjson.loads(payload)]
        except (orjson.JSONDecodeError, TypeError, ValueError):
            break
        records.append((seq, statements))
        offset, last = end, seq
    return records, offset


class JournalFile:
    """The journal file, locked against a second writer for as long as it is open.

    Records are appended either with one ``os.write`` to the file opened ``O_APPEND`` or, when
    ``mapped`` (the default), copied into a shared memory map of the file (space reserved
    with ``posix_fallocate``, so a full disk is an error at reservation, never a SIGBUS).
    Either way the bytes are in the kernel's page cache when ``append`` returns, which a
    killed process does not lose. The map is the cheaper on the order path: ``os.write``
    releases the GIL, and getting it back from a busy writer thread took ~0.1 ms a commit
    on the live-path bench; a copy into the map does not let go of it.
    """

    INITIAL_BYTES = 4 << 20

    def __init__(self, settings: JournalSettings) -> None:
        self.path = settings.path
        self._fsync = settings.fsync
        self._mapped = settings.mapped
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | (0 if self._mapped else os.O_APPEND)
        self._fd = os.open(self.path, flags, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise JournalBusy(f"another process writes the trades journal {self.path}") from None
        self._map: mmap.mmap | None = None
        self._capacity = 0
        self.size = 0
        """Bytes of records in the file (the append position)."""

    def read(self) -> list[tuple[int, Statements]]:
        """Every whole record, in order; a torn or corrupt tail (a write cut short) is left
        out, and said so. Call before the first ``append``."""
        with open(self.path, "rb") as file:
            data = file.read()
        records, valid = decode(data)
        if data[valid:].strip(b"\0"):
            log.warning(
                "the trades journal %s ends with %d byte(s) that are no whole record"
                " (a commit cut short, which had not returned); ignored",
                self.path,
                len(data) - valid,
            )
        return records

    def append(self, record: bytes) -> None:
        """Make ``record`` durable against a killed process (and a power loss with ``fsync``).

        On failure nothing of it is counted, and the file is cut back where a partial write
        would otherwise hide every later record; the error is raised.
        """
        start, end = self.size, self.size + len(record)
        mapped = self._map
        if mapped is not None:
            if end > self._capacity:
                self._grow(end)
                mapped = self._map
                assert mapped is not None
            mapped[start:end] = record
            if self._fsync:
                mapped.flush()
            self.size = end
            return
        try:
            written = os.write(self._fd, record)
            if written != len(record):
                raise OSError(f"short write to {self.path}: {written} of {len(record)} bytes")
            if self._fsync:
                os.fdatasync(self._fd)
        except OSError:
            os.ftruncate(self._fd, start)
            raise
        self.size = end

    def truncate(self) -> None:
        """Empty the journal (every record in it is applied)."""
        mapped = self._map
        if not self._mapped:
            os.ftruncate(self._fd, 0)
        elif mapped is None:  # the first time: a file of zeros, space reserved, mapped
            os.ftruncate(self._fd, 0)
            self._reserve(self.INITIAL_BYTES)
            self._map = mmap.mmap(self._fd, self.INITIAL_BYTES)
            self._capacity = self.INITIAL_BYTES
        elif self.size:
            mapped[: HEADER.size] = bytes(HEADER.size)  # the first header first: a file of no records
            mapped[HEADER.size : self.size] = bytes(self.size - HEADER.size)
        self.size = 0

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
            if self.size == 0:
                os.ftruncate(self._fd, 0)  # nothing pending: leave an empty file
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def _grow(self, needed: int) -> None:
        capacity = max(self._capacity * 2, needed)
        self._reserve(capacity)
        assert self._map is not None
        self._map.resize(capacity)
        self._capacity = capacity

    def _reserve(self, size: int) -> None:
        os.posix_fallocate(self._fd, 0, size)


LAST_WINS = {"position": 0, "balance": 0, "risk": 0, "projection": -1}
"""Statements that set a row's whole state, by the index of the row's key: of several rows
for one key in a batch only the last is written (the table ends the same)."""


def apply(
    connection: Connection,
    sql_of: dict[str, str],
    order: Sequence[str],
    dialect: Dialect,
    records: Sequence[tuple[int, Statements]],
    *,
    bulk_sql_of: dict[str, str] | None = None,
) -> None:
    """Apply ``records`` (in order) and record the last one's number, in the caller's transaction.

    Rows of one statement from successive records run together, in record order; statements run
    riders first, then ``order`` (orders before the rows that refer to them, as within a commit).
    The result is the one record-by-record application gives: a table's rows keep their order,
    no statement reads what a later-ordered statement of an earlier record wrote, and of the
    ``LAST_WINS`` rows for one key the last is the one that stays. ``bulk_sql_of`` gives, for
    a statement key, an insert of all its rows as one JSON parameter (SQLite: the driver's
    ``executemany`` takes the GIL back for every row, from the thread that commits).
    """
    riders: dict[str, list[Sequence[Any]]] = {}
    own: dict[str, list[Sequence[Any]]] = {key: [] for key in order}
    for _, statements in records:
        for key, rows in statements:
            target = own.get(key)
            if target is None:
                target = riders.setdefault(key, [])
            target.extend(rows)
    for key, index in LAST_WINS.items():
        rows = own[key]
        if len(rows) > 1:
            own[key] = list({row[index]: row for row in rows}.values())
    bulk = bulk_sql_of or {}
    batch: list[tuple[str, Sequence[Sequence[Any]]]] = [
        *riders.items(),
        *((key, own[key]) for key in order),
        (dialect.upsert(s.trade_journal, "id"), [(1, records[-1][0])]),
    ]
    cursor = connection.connection.cursor()
    try:
        for key, found in batch:
            if not found:
                continue
            bulk_sql = bulk.get(key)
            if bulk_sql is not None:
                cursor.execute(bulk_sql, (orjson.dumps(found, default=_encode_default).decode(),))
            else:
                cursor.executemany(sql_of.get(key, key), found)
    finally:
        cursor.close()


def applied_seq(connection: Connection) -> int:
    table = s.trade_journal
    found = connection.execute(select(table.c.applied_seq).where(table.c.id == 1)).scalar()
    return int(found) if found is not None else 0


class Projection:
    """The thread that applies journaled commits to SQL, in order, a batch per transaction.

    ``applied`` is the last sequence number in the database. A failed transaction is retried
    (the same batch, with a growing pause) and ``failure`` holds its error meanwhile: the next
    commit raises it (the OMS then counts a failed commit) and reads that must see everything
    committed raise it too, until a retry succeeds.
    """

    def __init__(
        self,
        engine: Engine,
        journal: JournalFile,
        apply_batch: Callable[[Connection, Sequence[tuple[int, Statements]]], None],
        *,
        applied: int,
    ) -> None:
        self._engine = engine
        self._journal = journal
        self._apply = apply_batch
        self.applied = applied
        self.appended = applied
        self.failure: BaseException | None = None
        self.batches = 0
        self._queue: deque[tuple[int, Statements]] = deque()
        self._append_lock = threading.Lock()  # an append and a truncation never overlap
        self._wake = threading.Event()
        self._idle = False  # the thread waits for a commit to wake it (none queued)
        self._progress = threading.Condition()
        self._closing = False
        self._paused = os.environ.get(PAUSE_ENV) == "1"
        if self._paused:
            log.warning("%s=1: the trades journal is not applied to SQL (a test hook)", PAUSE_ENV)
        self._connection: Connection | None = None  # the thread's own
        self._thread = threading.Thread(target=self._run, name="trades-journal-projection", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Records journaled and not yet in SQL."""
        return self.appended - self.applied

    def append(self, statements: Statements) -> int:
        """Journal one commit (durable when this returns) and queue it for SQL; its number."""
        failure = self.failure
        if failure is not None:
            raise JournalFailing(f"the trades store's SQL projection is failing: {failure}") from failure
        if len(self._queue) >= MAX_PENDING:
            self._wait(lambda: len(self._queue) < MAX_PENDING // 2)
        with self._append_lock:
            seq = self.appended + 1
            self._journal.append(encode(seq, statements))
            self.appended = seq
        queue = self._queue
        queue.append((seq, statements))
        if self._idle or len(queue) >= WAKE_RECORDS:
            self._idle = False
            self._wake.set()
        return seq

    def settle(self) -> None:
        """Return once everything journaled so far is in SQL; raises the projection's failure."""
        target = self.appended
        if self.applied >= target:
            return
        self._wake.set()
        self._wait(lambda: self.applied >= target)

    def close(self) -> None:
        """Apply what is queued, stop the thread, and empty the file if it is all applied."""
        self._closing = True
        self._wake.set()
        self._thread.join()
        with self._append_lock:
            if self.applied == self.appended and self._journal.size:
                self._journal.truncate()
        if self.failure is not None and self.pending:
            raise JournalFailing(
                f"{self.pending} journaled commit(s) not in SQL yet (applied at the next start):"
                f" {self.failure}"
            ) from self.failure

    def _wait(self, done: Callable[[], bool]) -> None:
        with self._progress:
            while not done():
                if self.failure is not None:
                    raise JournalFailing(
                        f"the trades store's SQL projection is failing: {self.failure}"
                    ) from self.failure
                if not self._thread.is_alive():
                    raise JournalFailing("the trades store's SQL projection has stopped")
                self._progress.wait(0.5)

    def _run(self) -> None:
        pause = RETRY_S[0]
        batch: list[tuple[int, Statements]] = []
        try:
            while True:
                if not batch:
                    batch = self._next_batch()
                    if not batch:
                        return  # closing, nothing left
                if not self._applied(batch):
                    if self._closing:
                        return  # given up at close: the records stay for the next start
                    time.sleep(pause)
                    pause = min(pause * 2, RETRY_S[1])
                    continue
                pause = RETRY_S[0]
                batch = []
                if self._journal.size >= ROTATE_BYTES and not self._queue:
                    with self._append_lock:
                        if self.applied == self.appended:
                            self._journal.truncate()
        finally:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.close()

    def _next_batch(self) -> list[tuple[int, Statements]]:
        """The next records to apply, waiting for some; empty once closing with none left."""
        queue = self._queue
        self._wake.wait(POLL_S)  # the commits of a while, in one batch
        self._wake.clear()
        while not queue or self._paused:
            if self._closing:
                return []
            if self._paused:
                time.sleep(0.05)
                continue
            self._idle = True  # the next commit wakes the thread
            if queue:  # came before the flag was up
                self._idle = False
                break
            self._wake.wait()
            self._wake.clear()
        batch: list[tuple[int, Statements]] = []
        while queue and len(batch) < MAX_BATCH:
            batch.append(queue.popleft())
        return batch

    def _applied(self, batch: list[tuple[int, Statements]]) -> bool:
        """Apply ``batch`` in one transaction; on failure keep the error (and say so once)."""
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
            with self._connection.begin():
                self._apply(self._connection, batch)
        except Exception as error:  # kept for the next commit; the caller retries
            if self.failure is None:
                log.exception("applying the trades journal to SQL failed; retrying")
            with self._progress:
                self.failure = error
                self._progress.notify_all()
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.close()
                self._connection = None
            return False
        if self.failure is not None:
            log.warning("applying the trades journal to SQL works again")
        with self._progress:
            self.applied = batch[-1][0]
            self.failure = None
            self._progress.notify_all()
        self.batches += 1
        return True


class StoredIds:
    """A Bloom filter of the client order ids in the tables: "not stored" answered in memory.

    Asking the database whether a new client order id is stored cost the order path a query
    per order (on SQLite ~0.35 ms with the writer threads about, most of it waiting for the
    GIL again; a round trip on PostgreSQL). The process that keeps the journal is the one
    writer of the trades tables, so the ids stored at its start and the ones it adds itself
    are all there are: an id the filter has never seen is not stored, one it may have seen
    (about 1 in 1 000 of the others, more once past ``capacity``) is asked of the database.
    """

    HASHES = 5

    def __init__(self, capacity: int) -> None:
        bits = 1 << max(16, (max(capacity, 1) * 16 - 1).bit_length())
        self._mask = bits - 1
        self._bits = bytearray(bits // 8)
        self.count = 0

    def add(self, client_order_id: str) -> None:
        h = hash(client_order_id)
        step = (h >> 32) | 1
        bits, mask = self._bits, self._mask
        for _ in range(self.HASHES):
            index = h & mask
            bits[index >> 3] |= 1 << (index & 7)
            h += step
        self.count += 1

    def __contains__(self, client_order_id: str) -> bool:
        h = hash(client_order_id)
        step = (h >> 32) | 1
        bits, mask = self._bits, self._mask
        for _ in range(self.HASHES):
            index = h & mask
            if not bits[index >> 3] & (1 << (index & 7)):
                return False
            h += step
        return True


def stored_ids(engine: Engine, *, headroom: int = 1_000_000) -> StoredIds:
    """The filter of every client order id in the tables, with room for ``headroom`` more."""
    with engine.connect() as connection:
        ids = connection.execute(select(s.orders.c.client_order_id)).scalars().all()
    known = StoredIds(len(ids) + headroom)
    for client_order_id in ids:
        known.add(client_order_id)
    return known


def pending_records(journal: JournalFile, engine: Engine) -> tuple[list[tuple[int, Statements]], int]:
    """The journal's records the database has not applied, and the last number applied."""
    with engine.connect() as connection:
        done = applied_seq(connection)
    return [(seq, statements) for seq, statements in journal.read() if seq > done], done


def replay(
    engine: Engine,
    journal: JournalFile,
    apply_batch: Callable[[Connection, Sequence[tuple[int, Statements]]], None],
) -> int:
    """Apply the records past the database's applied number, then empty the file; returns the
    last number (where the next commit's numbering continues)."""
    records, done = pending_records(journal, engine)
    if records:
        log.info("applying %d journaled trades commit(s) not yet in SQL", len(records))
        with engine.connect() as connection:
            for chunk in _chunks(records, MAX_BATCH):
                with connection.begin():
                    apply_batch(connection, chunk)
        done = records[-1][0]
    journal.truncate()
    return done


def _chunks(items: Sequence[tuple[int, Statements]], size: int) -> Iterator[Sequence[tuple[int, Statements]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
