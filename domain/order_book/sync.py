"""The venue's local-book procedure (a snapshot bridging buffered deltas) as a pure state machine."""

from __future__ import annotations

from collections import deque
from enum import Enum

from domain.errors import CrossedBook, InvalidValue, SequenceGap
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookSnapshot
from domain.order_book.book import OrderBook, check_instrument


class BookSyncState(Enum):
    """Where a :class:`BookSync` stands."""

    WAITING_FOR_SNAPSHOT = "waiting_for_snapshot"
    """Deltas are buffered; the book is not usable until a snapshot bridges them."""
    SYNCED = "synced"
    """The book is synced; deltas are applied as they come."""


class SyncStatus(Enum):
    """What :meth:`BookSync.on_delta` / :meth:`BookSync.on_snapshot` did, and what the caller must do."""

    BUFFERED = "buffered"
    """The delta is held until a snapshot arrives (a snapshot is already asked for)."""
    NEEDS_SNAPSHOT = "needs_snapshot"
    """Fetch a (fresh) snapshot now: first delta buffered, snapshot too old, or buffer overflow."""
    RESYNC = "resync"
    """A gap or a crossed book was detected: the book is discarded; fetch a snapshot now."""
    APPLIED = "applied"
    """The delta was applied to the synced book."""
    IGNORED = "ignored"
    """The delta (or snapshot) was older than the book and ignored."""
    SYNCED = "synced"
    """The snapshot was applied and the buffered deltas replayed: the book is usable."""

    @property
    def fetch_snapshot(self) -> bool:
        """True when the caller must request a snapshot (NEEDS_SNAPSHOT or RESYNC)."""
        return self is SyncStatus.NEEDS_SNAPSHOT or self is SyncStatus.RESYNC


class BookSync:
    """Pure state machine for the documented local-book procedure (Binance spot diff depth).

    1. While waiting, deltas are buffered; the first one returns NEEDS_SNAPSHOT (go and
       fetch the REST snapshot: this object does no I/O).
    2. :meth:`on_snapshot` drops buffered deltas with ``last_sequence <= snapshot.sequence``.
       If the first remaining one starts after ``snapshot.sequence + 1`` the snapshot is too
       old (Binance: "lastUpdateId < first U, go back to step 3"): NEEDS_SNAPSHOT again,
       the buffer is kept. Otherwise the snapshot is applied, the buffer replayed and the
       state becomes SYNCED.
    3. Once synced, deltas go straight to the book. A gap (or a crossed book) discards the
       book, counts it, returns RESYNC and starts buffering again, keeping the delta that
       revealed the gap since a newer snapshot may still bridge to it.

    A snapshot may also come first (venues that push one on subscribe): with nothing
    buffered it is applied at once. While synced, a newer snapshot replaces the book and an
    older one is ignored.

    The buffer is bounded by ``max_buffer`` deltas. On overflow the oldest delta is dropped
    and counted in :attr:`deltas_dropped`; the first overflow while waiting returns
    NEEDS_SNAPSHOT, since a snapshot requested earlier is now likely to be too old to bridge
    the trimmed buffer (if it still bridges it is accepted; if not it is refused as too old).

    Stream problems are reported as statuses and counters, never raised. InvalidValue is
    raised for a delta or snapshot of another instrument (a routing bug, nothing changes)
    and for a malformed snapshot or delta (one built without ``create``); a malformed delta
    that the book refused half way leaves the sync waiting, and the next delta returns
    NEEDS_SNAPSHOT.
    """

    __slots__ = (
        "_book",
        "_buffer",
        "_max_buffer",
        "_overflow_reported",
        "_snapshot_requested",
        "_state",
        "crossed_detected",
        "deltas_dropped",
        "gaps_detected",
        "snapshots_too_old",
    )

    def __init__(self, instrument_id: InstrumentId | str, *, max_buffer: int = 10_000) -> None:
        """A sync waiting for its first delta; raises InvalidValue for a bad id or max_buffer < 1."""
        if isinstance(max_buffer, bool) or not isinstance(max_buffer, int) or max_buffer < 1:
            raise InvalidValue("max_buffer", max_buffer, "must be a whole number of deltas, 1 or more")
        self._book = OrderBook(instrument_id)
        self._max_buffer = max_buffer
        self._buffer: deque[BookDelta] = deque(maxlen=max_buffer)
        self._state = BookSyncState.WAITING_FOR_SNAPSHOT
        self._snapshot_requested = False
        self._overflow_reported = False
        self.gaps_detected = 0
        """Sequence gaps seen (while synced or when replaying the buffer)."""
        self.crossed_detected = 0
        """Updates or snapshots that left the book crossed."""
        self.snapshots_too_old = 0
        """Snapshots refused because they did not reach the first buffered delta."""
        self.deltas_dropped = 0
        """Buffered deltas dropped because the buffer was full."""

    @property
    def book(self) -> OrderBook:
        """The book this sync maintains (read it; feed it only through this object)."""
        return self._book

    @property
    def state(self) -> BookSyncState:
        return self._state

    @property
    def buffered(self) -> int:
        """Number of deltas waiting for a snapshot."""
        return len(self._buffer)

    @property
    def max_buffer(self) -> int:
        return self._max_buffer

    def on_delta(self, delta: BookDelta) -> SyncStatus:
        """Feed one delta from the stream; see :class:`SyncStatus` for what to do next."""
        book = self._book
        if self._state is BookSyncState.SYNCED:
            try:
                applied = book.apply_delta(delta)
            except SequenceGap:
                self.gaps_detected += 1
                self._restart()
                self._buffer.append(delta)
                return SyncStatus.RESYNC
            except CrossedBook:
                self.crossed_detected += 1
                self._restart()
                return SyncStatus.RESYNC
            except InvalidValue:
                self._after_invalid_delta()
                raise
            return SyncStatus.APPLIED if applied else SyncStatus.IGNORED
        if delta.instrument_id != book.instrument_id:
            check_instrument(book.instrument_id, delta.instrument_id)
        buffer = self._buffer
        if len(buffer) == self._max_buffer:
            self.deltas_dropped += 1  # deque(maxlen) drops the oldest on append
            buffer.append(delta)
            if not self._overflow_reported:
                self._overflow_reported = True
                self._snapshot_requested = True
                return SyncStatus.NEEDS_SNAPSHOT
            return SyncStatus.BUFFERED
        buffer.append(delta)
        if not self._snapshot_requested:
            self._snapshot_requested = True
            return SyncStatus.NEEDS_SNAPSHOT
        return SyncStatus.BUFFERED

    def on_snapshot(self, snapshot: BookSnapshot) -> SyncStatus:
        """Feed a snapshot (normally the one fetched after NEEDS_SNAPSHOT or RESYNC).

        Returns SYNCED, NEEDS_SNAPSHOT (too old; buffer kept), RESYNC (the buffered deltas
        had a gap or crossed the book) or IGNORED (synced book already newer). Raises
        InvalidValue for another instrument or a malformed level.
        """
        book = self._book
        check_instrument(book.instrument_id, snapshot.instrument_id)
        if self._state is BookSyncState.SYNCED:
            if snapshot.sequence <= book.sequence:
                return SyncStatus.IGNORED
            return self._load(snapshot)
        self._snapshot_requested = False
        self._overflow_reported = False
        buffer = self._buffer
        while buffer and buffer[0].last_sequence <= snapshot.sequence:
            buffer.popleft()
        if buffer and buffer[0].first_sequence > snapshot.sequence + 1:
            self.snapshots_too_old += 1
            self._snapshot_requested = True
            return SyncStatus.NEEDS_SNAPSHOT
        status = self._load(snapshot)
        if status is not SyncStatus.SYNCED:
            return status
        while buffer:
            delta = buffer.popleft()
            try:
                book.apply_delta(delta)
            except SequenceGap:
                self.gaps_detected += 1
                self._state = BookSyncState.WAITING_FOR_SNAPSHOT
                buffer.appendleft(delta)
                self._snapshot_requested = True
                return SyncStatus.RESYNC
            except CrossedBook:
                self.crossed_detected += 1
                self._state = BookSyncState.WAITING_FOR_SNAPSHOT
                self._snapshot_requested = True
                return SyncStatus.RESYNC
            except InvalidValue:
                self._after_invalid_delta()
                raise
        return SyncStatus.SYNCED

    def reset(self, reason: str) -> None:
        """Discard the book and the buffer (e.g. on disconnect) and wait for a new snapshot.

        Raises InvalidValue for an empty reason.
        """
        self._book.invalidate(reason)
        self._buffer.clear()
        self._state = BookSyncState.WAITING_FOR_SNAPSHOT
        self._snapshot_requested = False
        self._overflow_reported = False

    def __repr__(self) -> str:
        return (
            f"BookSync({self._book.instrument_id}, {self._state.value}, buffered={len(self._buffer)}, "
            f"gaps={self.gaps_detected}, crossed={self.crossed_detected}, "
            f"too_old={self.snapshots_too_old}, dropped={self.deltas_dropped})"
        )

    def _load(self, snapshot: BookSnapshot) -> SyncStatus:
        try:
            self._book.apply_snapshot(snapshot)
        except CrossedBook:
            # A bad snapshot says nothing about the buffered deltas: keep them for the next one.
            self.crossed_detected += 1
            self._state = BookSyncState.WAITING_FOR_SNAPSHOT
            self._snapshot_requested = True
            return SyncStatus.RESYNC
        self._state = BookSyncState.SYNCED
        return SyncStatus.SYNCED

    def _after_invalid_delta(self) -> None:
        # A malformed delta (built without BookDelta.create) that the book refused half way:
        # the error propagates, and the next delta asks for a snapshot (NEEDS_SNAPSHOT).
        if not self._book.synced:
            self._restart()
            self._snapshot_requested = False

    def _restart(self) -> None:
        self._buffer.clear()
        self._state = BookSyncState.WAITING_FOR_SNAPSHOT
        self._snapshot_requested = True
        self._overflow_reported = False
