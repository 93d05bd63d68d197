"""``StreamingFeed``: the MarketDataFeed port's lifecycle, shared by the venue feeds built on
:class:`~adapters.exchanges.streaming.connection.SupervisedConnection`.

A venue feed subclasses it, builds its connection(s) in :meth:`StreamingFeed._connections`
and parses frames; this base runs and stops them, passes events to the sink (a sink that
raises is counted, never kills the connection), tells connection watchers when instruments
go down and come back, and reports health for the feed and for each instrument.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from adapters.exchanges.streaming.connection import SupervisedConnection
from adapters.exchanges.streaming.malformed import MalformedLog
from application.ingestion import ConnectionListener
from application.ports import Clock, FeedHealth, InstrumentFeedHealth
from domain.identifiers import InstrumentId
from domain.market_data import BookInvalidated, MarketEvent

_log = logging.getLogger(__name__)


def _discard(_: MarketEvent) -> None:
    return None


class InstrumentCounters:
    """One instrument's health as a feed counts it."""

    __slots__ = ("book_verified", "checksum_failures", "gaps", "last_message_ns", "resubscriptions")

    def __init__(self) -> None:
        self.book_verified = False
        self.last_message_ns: int | None = None
        self.gaps = 0
        self.checksum_failures = 0
        self.resubscriptions = 0


class StreamingFeed:
    """Base of the feeds that stream one venue over supervised connections.

    Subclasses implement :meth:`_connections` (called once per :meth:`run`) and feed events
    to :meth:`_emit`; they call :meth:`_frame_seen` per frame, :meth:`_lost` and
    :meth:`_invalidate` when data stops being current.
    """

    def __init__(self, *, name: str, instrument_ids: Sequence[InstrumentId], clock: Clock) -> None:
        self.name = name
        self._clock = clock
        self._instrument_ids = tuple(instrument_ids)
        self.counters: dict[InstrumentId, InstrumentCounters] = {
            i: InstrumentCounters() for i in instrument_ids
        }
        self._sink: Callable[[MarketEvent], None] = _discard
        self._supervised: list[SupervisedConnection] = []
        self._running = False
        self._stop_requested = False
        self._finished = asyncio.Event()
        self._finished.set()
        self._messages = 0
        self._unknown = 0
        self._sink_errors = 0
        self._last_message_ns: int | None = None
        self._last_error = ""
        self._malformed = MalformedLog(name, logging.getLogger(type(self).__module__))
        self._watchers: list[ConnectionListener] = []
        self._down: dict[InstrumentId, None] = {}
        """Instruments whose connection was lost and has delivered nothing since (ordered)."""

    # -- to implement ---------------------------------------------------------------------

    def _connections(self) -> list[SupervisedConnection]:
        """The connections to run (built afresh for each :meth:`run`)."""
        raise NotImplementedError

    # -- the port ---------------------------------------------------------------------------

    async def run(self, sink: Callable[[MarketEvent], None]) -> None:
        """Stream into ``sink`` until :meth:`stop`; never raises for venue or network trouble."""
        if self._running:
            raise RuntimeError(f"feed {self.name} is already running")
        if self._stop_requested:  # stopped before it ever started
            self._stop_requested = False
            return
        self._running = True
        self._finished.clear()
        self._sink = sink
        try:
            self._supervised = self._connections()
            _log.info(
                "%s: starting: %d instruments, %d connection(s)",
                self.name,
                len(self._instrument_ids),
                len(self._supervised),
            )
            await asyncio.gather(*(connection.run() for connection in self._supervised))
        finally:
            self._running = False
            self._stop_requested = False
            self._sink = _discard
            self._finished.set()
            _log.info("%s: stopped", self.name)

    async def stop(self) -> None:
        """Close every connection and make :meth:`run` return (waits for it, if it is running)."""
        self._stop_requested = True
        for connection in self._supervised:
            await connection.stop()
        if self._running:
            await self._finished.wait()

    def health(self) -> FeedHealth:
        counters = self.counters
        return FeedHealth(
            name=self.name,
            connected=any(connection.connected for connection in self._supervised),
            last_message_ns=self._last_message_ns,
            messages=self._messages,
            reconnects=sum(connection.reconnects for connection in self._supervised),
            gaps=sum(c.gaps for c in counters.values()),
            malformed=self._malformed.count,
            last_error=self._last_error,
            unknown=self._unknown,
            checksum_failures=sum(c.checksum_failures for c in counters.values()),
            instruments=tuple(
                InstrumentFeedHealth(
                    instrument_id=instrument_id,
                    book_verified=c.book_verified,
                    last_message_ns=c.last_message_ns,
                    gaps=c.gaps,
                    checksum_failures=c.checksum_failures,
                    resubscriptions=c.resubscriptions,
                )
                for instrument_id, c in counters.items()
            ),
        )

    def watch_connection(self, listener: ConnectionListener) -> None:
        """``listener`` hears ``(instruments, connected, reason, ts_ns)`` when a connection is
        lost, and when its replacement delivers its first frame, before that frame's events."""
        self._watchers.append(listener)

    @property
    def unknown(self) -> int:
        """Well-formed messages of kinds this feed does not use (ignored)."""
        return self._unknown

    @property
    def malformed(self) -> int:
        return self._malformed.count

    # -- for subclasses ---------------------------------------------------------------------

    def _frame_seen(self, ts_init: int) -> None:
        """Count a frame; instruments that were down are up again (their connection delivers)."""
        self._messages += 1
        self._last_message_ns = ts_init
        if self._down:
            back = tuple(self._down)
            self._down.clear()
            self._tell_watchers(back, True, "reconnected", ts_init)

    def _emit(self, event: MarketEvent) -> None:
        try:
            self._sink(event)
        except Exception:
            self._sink_errors += 1
            self._last_error = f"sink raised on {type(event).__name__}"
            _log.exception(
                "%s: the sink raised on %s (%d so far)", self.name, type(event).__name__, self._sink_errors
            )

    def _invalidate(self, instrument_id: InstrumentId, reason: str) -> None:
        """Tell downstream books they are stale until the next snapshot."""
        counters = self.counters.get(instrument_id)
        if counters is not None:
            counters.book_verified = False
        now = self._clock.now_ns()
        self._emit(BookInvalidated(instrument_id, reason, now, now))

    def _lost(self, instrument_ids: Sequence[InstrumentId], reason: str) -> None:
        """A connection carrying ``instrument_ids`` is gone: watchers hear they are down."""
        lost = tuple(i for i in instrument_ids if i not in self._down)
        self._down.update(dict.fromkeys(lost))
        if lost:
            self._tell_watchers(lost, False, reason or "connection lost", self._clock.now_ns())

    def _error(self, message: str) -> None:
        self._last_error = message

    def _count_malformed(self, reason: str, raw: object) -> None:
        self._malformed.record(reason, raw)
        self._last_error = f"malformed frame: {reason}"

    def _count_unknown(self) -> None:
        self._unknown += 1

    def _tell_watchers(
        self, instruments: tuple[InstrumentId, ...], connected: bool, reason: str, ts_ns: int
    ) -> None:
        for listener in self._watchers:
            try:
                listener(instruments, connected, reason, ts_ns)
            except Exception:
                self._sink_errors += 1
                _log.exception("%s: a connection watcher raised", self.name)
