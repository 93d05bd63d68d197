"""``BinanceMarketDataFeed``: the MarketDataFeed port over Binance spot public streams.

Emits TradeTick, QuoteTick, and for each instrument's book a BookSnapshot whenever it
(re)synchronises followed by one BookDelta per applied diff, so that a downstream OrderBook
fed only these events always equals the feed's own. The documented local-book procedure
is the domain's BookSync; this class feeds it, fetches the REST snapshots it asks for, and
passes on what it applied. Frames that repeat during a connection overlap are dropped:
trades by trade id, quotes by bookTicker ``u``, diffs by update id.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence

from adapters.exchanges.binance.books import InstrumentState, SnapshotFetcher
from adapters.exchanges.binance.client import BinanceHttpClient
from adapters.exchanges.binance.config import BinanceFeedConfig
from adapters.exchanges.binance.errors import MalformedFrame
from adapters.exchanges.binance.parsing import parse_frame
from adapters.exchanges.binance.schemas import (
    BookTicker,
    ControlResponse,
    ParsedFrame,
    ServerShutdown,
    stream_name,
)
from adapters.exchanges.binance.session import Link, StreamSession
from adapters.exchanges.streaming.malformed import MalformedLog
from adapters.pacing import Backoff, TokenBucket
from application.ingestion import ConnectionListener
from application.ports import Clock, FeedHealth, InstrumentFeedHealth
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookInvalidated, BookSnapshot, MarketEvent, TradeTick
from domain.order_book import BookSync, OrderBook, SyncStatus

_log = logging.getLogger(__name__)

_APPLIED = SyncStatus.APPLIED
_BUFFERED = SyncStatus.BUFFERED
_IGNORED = SyncStatus.IGNORED
_RESYNC = SyncStatus.RESYNC
_SYNCED = SyncStatus.SYNCED


def _discard(_: MarketEvent) -> None:
    return None


class BinanceMarketDataFeed:
    """Streams Binance spot trades, best quotes and L2 books into a sink until stopped.

    ``run(sink)`` connects (one combined-stream connection per 1024 streams), keeps every
    connection alive (replaced before the 24 h cut and on ``serverShutdown`` with an
    overlap, so nothing is missed; reconnected with backoff and jitter when lost or stale)
    and resynchronises books after gaps. ``health()`` and :attr:`stale` report on it.
    ``clock`` stamps ``ts_init``; ``rng`` draws the backoff jitter (pass a seeded one in tests).
    """

    def __init__(self, config: BinanceFeedConfig, clock: Clock, *, rng: random.Random | None = None) -> None:
        self.name = config.name
        self._config = config
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._states: dict[InstrumentId, InstrumentState] = {}
        for instrument_id in config.instrument_ids:
            sync = (
                BookSync(instrument_id, max_buffer=config.max_buffered_deltas) if config.has_depth else None
            )
            retry = Backoff(
                max(config.snapshot_min_interval, config.reconnect_initial_delay),
                max(config.reconnect_max_delay, config.snapshot_min_interval),
                self._rng,
            )
            self._states[instrument_id] = InstrumentState(instrument_id, sync, retry)
        self._sink: Callable[[MarketEvent], None] = _discard
        self._sessions: list[StreamSession] = []
        self._fetcher: SnapshotFetcher | None = None
        self._running = False
        self._stop_requested = False
        self._finished = asyncio.Event()
        self._finished.set()
        self._messages = 0
        self._malformed = MalformedLog(self.name, _log)
        self._duplicates = 0
        self._unexpected_logged: set[InstrumentId] = set()
        self._sink_errors = 0
        self._last_message_ns: int | None = None
        self._last_error = ""
        self._watchers: list[ConnectionListener] = []
        self._down: dict[InstrumentId, None] = {}
        """Instruments whose connection was lost and has delivered nothing since (ordered)."""

    # -- the port -----------------------------------------------------------------------

    async def run(self, sink: Callable[[MarketEvent], None]) -> None:
        """Stream into ``sink`` until :meth:`stop`; never raises for venue or network trouble."""
        if self._running:
            raise RuntimeError(f"feed {self.name} is already running")
        if self._stop_requested:  # stopped before it ever started
            self._stop_requested = False
            return
        config = self._config
        self._running = True
        self._finished.clear()
        self._sink = sink
        http = BinanceHttpClient(
            config.rest_url, timeout=config.snapshot_timeout, trust_env=config.use_system_proxy
        )
        self._fetcher = SnapshotFetcher(
            http,
            self._clock,
            name=self.name,
            limit=config.depth_limit,
            min_interval=config.snapshot_min_interval,
            weight_per_minute=config.rest_weight_per_minute,
            on_snapshot=self._on_snapshot,
            on_error=self.on_error,
        )
        self._sessions = self._build_sessions()
        _log.info(
            "%s: starting: %d instruments, streams %s, %d connection(s)",
            self.name,
            len(self._states),
            ",".join(config.streams),
            len(self._sessions),
        )
        try:
            await asyncio.gather(*(session.run() for session in self._sessions))
        finally:
            for state in self._states.values():
                self._fetcher.cancel(state)
            await http.aclose()
            self._running = False
            self._stop_requested = False
            self._sink = _discard
            self._finished.set()
            _log.info("%s: stopped", self.name)

    async def stop(self) -> None:
        """Close every connection and make :meth:`run` return (waits for it, if it is running)."""
        self._stop_requested = True
        for session in self._sessions:
            await session.stop()
        if self._running:
            await self._finished.wait()

    def health(self) -> FeedHealth:
        return FeedHealth(
            name=self.name,
            connected=any(session.connected for session in self._sessions),
            last_message_ns=self._last_message_ns,
            messages=self._messages,
            reconnects=sum(session.reconnects for session in self._sessions),
            gaps=sum(state.sync.gaps_detected for state in self._states.values() if state.sync is not None),
            malformed=self._malformed.count,
            last_error=self._last_error,
            instruments=tuple(
                InstrumentFeedHealth(
                    instrument_id=state.instrument_id,
                    book_verified=state.sync is not None and state.sync.book.synced,
                    last_message_ns=None if state.sync is None else state.sync.book.ts_init or None,
                    gaps=0 if state.sync is None else state.sync.gaps_detected,
                )
                for state in self._states.values()
                if state.sync is not None
            ),
        )

    def watch_connection(self, listener: ConnectionListener) -> None:
        """``listener`` hears ``(instruments, connected, reason, ts_ns)`` when a connection is
        lost, and when the replacing one delivers its first frame, before that frame's events."""
        self._watchers.append(listener)

    # -- more to observe ----------------------------------------------------------------

    @property
    def stale(self) -> bool:
        """True while running when a connection has delivered nothing for ``stale_after`` seconds."""
        if not self._running:
            return False
        now = time.monotonic()
        limit = self._config.stale_after
        return any(session.silence(now) > limit for session in self._sessions)

    @property
    def rotations(self) -> int:
        """Planned connection handovers (serverShutdown, connection age) done without a gap."""
        return sum(session.rotations for session in self._sessions)

    @property
    def duplicates(self) -> int:
        """Trades, quotes and diffs dropped as already passed on (connection overlaps)."""
        return self._duplicates

    def book(self, instrument_id: InstrumentId) -> OrderBook | None:
        """The feed's local book of ``instrument_id`` (read only), None without a depth stream."""
        state = self._states.get(instrument_id)
        return None if state is None or state.sync is None else state.sync.book

    # -- frames (called by the sessions' readers) ---------------------------------------

    def on_frame(self, raw: bytes, ts_init: int, link: Link) -> None:
        """Parse one frame of a live connection and pass its event on (the hot path)."""
        if self._down:
            self._back_up(ts_init)
        self._messages += 1
        self._last_message_ns = ts_init
        try:
            event = parse_frame(raw, ts_init)
        except MalformedFrame as exc:
            self._count_malformed(exc, raw)
            return
        if type(event) is TradeTick:
            state = self._states.get(event.instrument_id)
            if state is not None:
                trade_id = int(event.trade_id)
                if trade_id > state.last_trade_id:
                    state.last_trade_id = trade_id
                    try:
                        self._sink(event)
                    except Exception:
                        self._sink_failed(event)
                else:
                    self._duplicates += 1
                return
        self.dispatch(event, link)

    def on_warming_frame(self, raw: bytes, ts_init: int, link: Link) -> None:
        """A frame of a connection not yet handed over: hold its events, act on control at once."""
        self._messages += 1
        self._last_message_ns = ts_init
        try:
            event = parse_frame(raw, ts_init)
        except MalformedFrame as exc:
            self._count_malformed(exc, raw)
            return
        if type(event) is ServerShutdown or type(event) is ControlResponse:
            self.dispatch(event, link)
        else:
            link.buffer.append(event)
            if link.overflowing:
                link.wake()

    def dispatch(self, event: ParsedFrame, link: Link) -> None:
        """Act on one parsed frame: de-duplicate, feed the book, emit."""
        kind = type(event)
        if kind is BookDelta:
            self._on_delta(event)  # type: ignore[arg-type]
        elif kind is TradeTick:
            trade: TradeTick = event  # type: ignore[assignment]
            state = self._states.get(trade.instrument_id)
            if state is None:
                self._count_unexpected(trade.instrument_id)
            elif (trade_id := int(trade.trade_id)) > state.last_trade_id:
                state.last_trade_id = trade_id
                self._emit(trade)
            else:
                self._duplicates += 1
        elif kind is BookTicker:
            ticker: BookTicker = event  # type: ignore[assignment]
            state = self._states.get(ticker.quote.instrument_id)
            if state is None:
                self._count_unexpected(ticker.quote.instrument_id)
            elif ticker.update_id > state.last_quote_id:
                state.last_quote_id = ticker.update_id
                self._emit(ticker.quote)
            else:
                self._duplicates += 1
        elif kind is ServerShutdown:
            _log.warning("%s: serverShutdown received on %s", self.name, link.connection.url[:120])
            link.notify_shutdown()
        elif kind is ControlResponse:
            response: ControlResponse = event  # type: ignore[assignment]
            if response.error_code is not None:
                self.on_error(f"control request {response.request_id} refused: {response.error_message}")
                _log.warning("%s: %s", self.name, self._last_error)
            link.connection.resolve(response)

    def overlaps(self, events: Iterable[ParsedFrame]) -> bool:
        """True if any of ``events`` was already passed on (proof two connections overlap)."""
        states = self._states
        for event in events:
            kind = type(event)
            if kind is TradeTick:
                trade: TradeTick = event  # type: ignore[assignment]
                state = states.get(trade.instrument_id)
                if state is not None and int(trade.trade_id) <= state.last_trade_id:
                    return True
            elif kind is BookTicker:
                ticker: BookTicker = event  # type: ignore[assignment]
                state = states.get(ticker.quote.instrument_id)
                if state is not None and ticker.update_id <= state.last_quote_id:
                    return True
            elif kind is BookDelta:
                delta: BookDelta = event  # type: ignore[assignment]
                state = states.get(delta.instrument_id)
                if state is not None and state.sync is not None:
                    book = state.sync.book
                    if book.synced and delta.last_sequence <= book.sequence:
                        return True
        return False

    def on_connection_lost(self, instrument_ids: Sequence[InstrumentId], reason: str) -> None:
        """An unplanned loss: what came before cannot be bridged, so books restart from a snapshot."""
        for instrument_id in instrument_ids:
            state = self._states[instrument_id]
            state.forget_marks()
            if state.sync is not None:
                if self._fetcher is not None:
                    self._fetcher.cancel(state)
                was_synced = state.sync.book.synced
                state.sync.reset(reason or "connection lost")
                if was_synced:
                    self._invalidate(instrument_id, reason or "connection lost")
        lost = tuple(i for i in instrument_ids if i not in self._down)
        self._down.update(dict.fromkeys(lost))
        if lost:
            self._tell_watchers(lost, False, reason or "connection lost", self._clock.now_ns())

    def on_error(self, message: str) -> None:
        self._last_error = message

    def _back_up(self, ts_ns: int) -> None:
        """The lost instruments whose session is connected again are up (their first frame came)."""
        down = self._down
        back: list[InstrumentId] = []
        for session in self._sessions:
            if session.connected:
                back += (i for i in session.instrument_ids if i in down)
        if back:
            for instrument_id in back:
                del down[instrument_id]
            self._tell_watchers(tuple(back), True, "reconnected", ts_ns)

    def _tell_watchers(
        self, instruments: tuple[InstrumentId, ...], connected: bool, reason: str, ts_ns: int
    ) -> None:
        for listener in self._watchers:
            try:
                listener(instruments, connected, reason, ts_ns)
            except Exception:
                self._sink_errors += 1
                _log.exception("%s: a connection watcher raised", self.name)

    # -- books --------------------------------------------------------------------------

    def _on_delta(self, delta: BookDelta) -> None:
        state = self._states.get(delta.instrument_id)
        if state is None or state.sync is None:
            self._count_unexpected(delta.instrument_id)
            return
        status = state.sync.on_delta(delta)
        if status is _APPLIED:
            self._emit(delta)
        elif status is _IGNORED:
            self._duplicates += 1  # at or below the book's update id: delivered already
        elif status is _BUFFERED:
            return
        else:  # NEEDS_SNAPSHOT or RESYNC
            if status is _RESYNC:
                ids = f"{delta.first_sequence}..{delta.last_sequence}"
                message = f"{state.symbol} book out of sync at update ids {ids}"
                self.on_error(message)
                _log.warning("%s: %s; fetching a new snapshot", self.name, message)
                self._invalidate(delta.instrument_id, message)
            if self._fetcher is not None:
                self._fetcher.request(state)

    def _on_snapshot(self, state: InstrumentState, snapshot: BookSnapshot) -> None:
        sync = state.sync
        if sync is None:
            return
        status = sync.on_snapshot(snapshot)
        if status is _SYNCED:
            book = sync.book
            _log.info(
                "%s: %s book synced at update id %d (snapshot %d, %d bids, %d asks)",
                self.name,
                state.symbol,
                book.sequence,
                snapshot.sequence,
                book.bid_count,
                book.ask_count,
            )
            self._emit(book.snapshot(ts_init=self._clock.now_ns()))
        elif status is not _IGNORED and self._fetcher is not None:
            _log.info(
                "%s: %s snapshot %d did not bridge the stream (%s)",
                self.name,
                state.symbol,
                snapshot.sequence,
                status.value,
            )
            self._fetcher.request(state)

    # -- bookkeeping --------------------------------------------------------------------

    def _invalidate(self, instrument_id: InstrumentId, reason: str) -> None:
        """Tell downstream books they are stale until the resync snapshot arrives."""
        now = self._clock.now_ns()
        self._emit(BookInvalidated(instrument_id, reason, now, now))

    def _emit(self, event: MarketEvent) -> None:
        try:
            self._sink(event)
        except Exception:
            self._sink_failed(event)

    def _sink_failed(self, event: MarketEvent) -> None:
        self._sink_errors += 1
        self._last_error = f"sink raised on {type(event).__name__}"
        _log.exception(
            "%s: the sink raised on %s (%d so far)", self.name, type(event).__name__, self._sink_errors
        )

    def _count_malformed(self, exc: MalformedFrame, raw: bytes) -> None:
        self._malformed.record(exc.reason, raw)
        self._last_error = f"malformed frame: {exc.reason}"

    def _count_unexpected(self, instrument_id: InstrumentId) -> None:
        if instrument_id not in self._unexpected_logged and len(self._unexpected_logged) < 100:
            self._unexpected_logged.add(instrument_id)
            _log.warning("%s: dropping events of %s, which was not subscribed", self.name, instrument_id)

    def _build_sessions(self) -> list[StreamSession]:
        config = self._config
        per_connection = config.max_streams_per_connection // len(config.streams)
        ids = list(self._states)
        attempts = TokenBucket(
            config.connection_attempts_per_5min / 300.0, min(10.0, config.connection_attempts_per_5min)
        )
        sessions = []
        for number, start in enumerate(range(0, len(ids), per_connection), start=1):
            chunk = ids[start : start + per_connection]
            streams = [
                stream_name(instrument_id.symbol, kind) for instrument_id in chunk for kind in config.streams
            ]
            sessions.append(
                StreamSession(
                    name=self.name if len(ids) <= per_connection else f"{self.name}#{number}",
                    streams=streams,
                    instrument_ids=chunk,
                    config=config,
                    handler=self,
                    clock=self._clock,
                    rng=self._rng,
                    connection_attempts=attempts,
                )
            )
        return sessions
