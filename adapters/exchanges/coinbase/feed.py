"""``CoinbaseMarketDataFeed``: the MarketDataFeed port over Coinbase Advanced Trade public channels.

One connection carries every product: ``level2`` (local books), ``market_trades`` and
``ticker`` with all product ids, and ``heartbeats``, one subscribe message per channel within
the venue's 5 s deadline, paced under its 8 messages per second.

Integrity: ``sequence_num`` counts per connection across every channel. A jump (``> last+1``)
means messages were lost: every book is invalidated (BookInvalidated) and rebuilt by
unsubscribing and subscribing ``level2`` again, which makes the venue send fresh snapshots; if
that fails, or no snapshot follows within ``open_timeout``, the connection is replaced. An
older number is an out-of-order message and is ignored. Heartbeats come every second: when
none came for ``heartbeat_timeout`` seconds the books are stale and the connection is
replaced. Books then resync from the new connection's snapshots.

Emits TradeTick, QuoteTick (ticker best bid/ask), and per book a BookSnapshot on every
(re)sync followed by one BookDelta per applied update (see :mod:`.books`), so a downstream
OrderBook fed only these events equals the feed's own.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterable

from adapters.exchanges.coinbase.books import BookRejected, ProductBook
from adapters.exchanges.coinbase.config import CoinbaseFeedConfig
from adapters.exchanges.coinbase.errors import MalformedFrame
from adapters.exchanges.coinbase.parsing import parse_frame
from adapters.exchanges.coinbase.schemas import (
    HEARTBEATS,
    L2_DATA,
    LEVEL2,
    BookMessage,
    Heartbeat,
    Quotes,
    Subscriptions,
    Trades,
    VenueError,
)
from adapters.exchanges.coinbase.trades import RecentTrades
from adapters.exchanges.streaming.connection import ConnectionOptions, Link, SupervisedConnection
from adapters.exchanges.streaming.feed_base import StreamingFeed
from application.ports import Clock
from domain.identifiers import InstrumentId
from domain.market_data import BookSnapshot, TradeTick
from domain.order_book import OrderBook

_log = logging.getLogger(__name__)
_NOTHING: frozenset[InstrumentId] = frozenset()


class CoinbaseMarketDataFeed(StreamingFeed):
    """Streams Coinbase trades, best quotes and level2 books into a sink until stopped.

    ``clock`` stamps ``ts_init``; ``rng`` draws the reconnect jitter (pass a seeded one in tests).
    ``health()`` reports per instrument whether its book is verified, its last message, the
    sequence gaps seen and the resubscriptions made.
    """

    def __init__(self, config: CoinbaseFeedConfig, clock: Clock, *, rng: random.Random | None = None) -> None:
        super().__init__(name=config.name, instrument_ids=config.instrument_ids, clock=clock)
        self._config = config
        self._rng = rng if rng is not None else random.Random()
        self._side_is_maker = config.trade_side_is_maker
        self._books: dict[InstrumentId, ProductBook] = (
            {i: ProductBook(i) for i in config.instrument_ids} if config.has_book else {}
        )
        self._trades: dict[InstrumentId, RecentTrades] = {i: RecentTrades() for i in config.instrument_ids}
        self._connection: SupervisedConnection | None = None
        # Per connection:
        self._link: Link | None = None
        self._last_sequence: int | None = None
        self._heartbeat_at: float | None = None
        self._heartbeat_counter: int | None = None
        self._resync: asyncio.Task[None] | None = None
        self._resync_wanted: dict[InstrumentId, None] = {}
        self._resync_deadline: float | None = None
        # Counters beyond the base's:
        self.out_of_order = 0
        """Messages dropped for a sequence number at or below the last one."""
        self.duplicates = 0
        """Trades dropped as already passed on (a resubscription's snapshot)."""
        self.skipped_quotes = 0
        """Tickers without a usable best bid and ask."""
        self.venue_errors = 0
        self._unexpected_logged: set[InstrumentId] = set()

    # -- observation ----------------------------------------------------------------------

    def book(self, instrument_id: InstrumentId) -> OrderBook | None:
        """The feed's local book of ``instrument_id`` (read only), None without ``level2``."""
        book = self._books.get(instrument_id)
        return None if book is None else book.book

    @property
    def connection(self) -> SupervisedConnection | None:
        """The supervised connection while running (its ``reconnects`` count replacements)."""
        return self._connection

    # -- StreamingFeed ----------------------------------------------------------------------

    def _connections(self) -> list[SupervisedConnection]:
        config = self._config
        options = ConnectionOptions(
            url=config.ws_url,
            open_timeout=config.open_timeout,
            max_size=config.max_frame_bytes,
            stale_after=config.stale_after,
            reconnect_initial_delay=config.reconnect_initial_delay,
            reconnect_max_delay=config.reconnect_max_delay,
            messages_per_second=config.messages_per_second,
            use_system_proxy=config.use_system_proxy,
        )
        self._connection = SupervisedConnection(
            name=self.name, options=options, protocol=self, clock=self._clock, rng=self._rng
        )
        return [self._connection]

    # -- StreamProtocol ---------------------------------------------------------------------

    async def on_open(self, link: Link) -> None:
        """Subscribe every channel (one message each, paced), then heartbeats."""
        self._forget_connection()
        self._link = link
        self._heartbeat_at = time.monotonic()
        products = list(self._config.product_ids)
        for channel in self._config.channels:
            await link.send({"type": "subscribe", "product_ids": products, "channel": channel})
        await link.send({"type": "subscribe", "channel": HEARTBEATS})
        self._heartbeat_at = time.monotonic()  # heartbeats are due from now on
        channels = ",".join((*self._config.channels, HEARTBEATS))
        _log.info("%s: subscribed %s for %s", self.name, channels, ",".join(products))

    def on_frame(self, raw: bytes, ts_init: int, link: Link) -> None:
        """Parse one frame, check its sequence number, act on its events (the hot path)."""
        self._frame_seen(ts_init)
        try:
            message = parse_frame(raw, ts_init, trade_side_is_maker=self._side_is_maker)
        except MalformedFrame as exc:
            self._count_malformed(exc.reason, raw)
            # A bad level2 frame is a lost update: its number is not taken, so the next frame
            # shows a gap and the books resync. Other channels' numbers still count.
            if exc.sequence is not None and exc.channel != L2_DATA:
                self._follows(exc.sequence)
            return
        sequence = message.sequence
        if sequence is not None and not self._follows(sequence):
            return
        if not message.known:
            self._count_unknown()
            return
        for _ in range(message.ignored):
            self._count_unknown()
        for event in message.events:
            kind = type(event)
            if kind is BookMessage:
                self._on_book(event, ts_init)  # type: ignore[arg-type]
            elif kind is Trades:
                self._on_trades(event)  # type: ignore[arg-type]
            elif kind is Quotes:
                self._on_quotes(event)  # type: ignore[arg-type]
            elif kind is Heartbeat:
                self._on_heartbeat(event)  # type: ignore[arg-type]
            elif kind is Subscriptions:
                subscriptions: Subscriptions = event  # type: ignore[assignment]
                _log.info("%s: subscriptions now %s", self.name, subscriptions.channels)
            elif kind is VenueError:
                error: VenueError = event  # type: ignore[assignment]
                self.venue_errors += 1
                self._error(f"venue error: {error.message}")
                _log.warning("%s: the venue says: %s", self.name, error.message)

    def on_lost(self, reason: str) -> None:
        """The connection is gone: every book is stale until the next connection's snapshots."""
        self._forget_connection()
        self._invalidate_books(self._books, reason)
        self._lost(self._config.instrument_ids, reason)

    def on_error(self, message: str) -> None:
        self._error(message)

    def staleness(self, now: float) -> str | None:
        """Heartbeats stopped, or a resubscription brought no snapshot in time."""
        heartbeat_at = self._heartbeat_at
        timeout = self._config.heartbeat_timeout
        if heartbeat_at is not None and now - heartbeat_at > timeout:
            return f"heartbeats stopped: none for {now - heartbeat_at:.1f}s (heartbeat_timeout {timeout}s)"
        deadline = self._resync_deadline
        if deadline is not None and now > deadline:
            waiting = [i for i, book in self._books.items() if not book.synced]
            if waiting:
                return f"no level2 snapshot within {self._config.open_timeout}s of resubscribing {waiting[0]}"
            self._resync_deadline = None
        return None

    # -- sequence numbers -----------------------------------------------------------------

    def _follows(self, sequence: int) -> bool:
        """Track ``sequence``: False for an old number (drop the message), True otherwise; a
        jump invalidates every book and resubscribes level2."""
        last = self._last_sequence
        if last is not None:
            if sequence <= last:
                self.out_of_order += 1
                return False
            if sequence > last + 1:
                self._last_sequence = sequence
                self._on_gap(last, sequence)
                return True
        self._last_sequence = sequence
        return True

    def _on_gap(self, last: int, sequence: int) -> None:
        message = f"sequence gap on the connection: expected {last + 1}, received {sequence}"
        self._error(message)
        for counters in self.counters.values():
            counters.gaps += 1
        if not self._books:
            _log.warning("%s: %s (messages were lost)", self.name, message)
            return
        _log.warning("%s: %s; resubscribing level2 for fresh snapshots", self.name, message)
        self._invalidate_books(self._books, message)
        self._resubscribe(self._books, message)

    # -- books ----------------------------------------------------------------------------

    def _on_book(self, message: BookMessage, ts_init: int) -> None:
        instrument_id = message.instrument_id
        book = self._books.get(instrument_id)
        if book is None:
            self._count_unexpected(instrument_id)
            return
        counters = self.counters[instrument_id]
        counters.last_message_ns = ts_init
        try:
            event = book.apply(message, ts_init)
        except BookRejected as exc:
            self._error(exc.reason)
            _log.warning("%s: %s; resubscribing level2", self.name, exc.reason)
            self._invalidate(instrument_id, exc.reason)
            self._resubscribe((instrument_id,), exc.reason)
            return
        if event is None:
            return
        if type(event) is BookSnapshot:
            counters.book_verified = True
            self._resync_wanted.pop(instrument_id, None)
            _log.info(
                "%s: %s book synced (%d bids, %d asks)",
                self.name,
                instrument_id,
                book.book.bid_count,
                book.book.ask_count,
            )
        self._emit(event)

    def _invalidate_books(self, instrument_ids: Iterable[InstrumentId], reason: str) -> None:
        for instrument_id in instrument_ids:
            if self._books[instrument_id].invalidate(reason):
                self._invalidate(instrument_id, reason)

    def _resubscribe(self, instrument_ids: Iterable[InstrumentId], reason: str) -> None:
        """Unsubscribe and subscribe level2 for ``instrument_ids`` (fresh snapshots follow)."""
        for instrument_id in instrument_ids:
            if instrument_id not in self._resync_wanted:
                self._resync_wanted[instrument_id] = None
                self.counters[instrument_id].resubscriptions += 1
        self._resync_deadline = time.monotonic() + self._config.open_timeout
        if self._resync is None or self._resync.done():
            link = self._link
            if link is None:
                return  # the next connection subscribes afresh anyway
            self._resync = asyncio.get_running_loop().create_task(
                self._send_resubscription(link, reason), name=f"{self.name}-resubscribe"
            )

    async def _send_resubscription(self, link: Link, reason: str) -> None:
        while self._resync_wanted and link is self._link:
            sent = set(self._resync_wanted)
            products = [instrument_id.symbol for instrument_id in self._resync_wanted]
            try:
                await link.send({"type": "unsubscribe", "product_ids": products, "channel": LEVEL2})
                await link.send({"type": "subscribe", "product_ids": products, "channel": LEVEL2})
            except Exception as exc:  # closed under us, or a bug: a new connection resyncs all
                self._error(f"resubscribing level2 failed: {exc!r}")
                if self._connection is not None:
                    self._connection.reconnect(f"resubscribing level2 failed after {reason}")
                return
            # Books invalidated while these were sent need a round of their own.
            if set(self._resync_wanted) <= sent:
                return

    # -- trades, quotes, heartbeats -------------------------------------------------------

    def _on_trades(self, trades: Trades) -> None:
        ticks = trades.ticks
        if len(ticks) > 1:
            ticks = tuple(sorted(ticks, key=_event_time))
        # A snapshot repeats recent history: for a product with no trade of ours yet it is only
        # remembered (it happened before we listened); later it fills what a reconnection missed.
        history = {i for i, recent in self._trades.items() if not recent} if trades.snapshot else _NOTHING
        for tick in ticks:
            instrument_id = tick.instrument_id
            recent = self._trades.get(instrument_id)
            if recent is None:
                self._count_unexpected(instrument_id)
                continue
            if not recent.add(tick.trade_id):
                self.duplicates += 1
                continue
            self.counters[instrument_id].last_message_ns = tick.ts_init
            if instrument_id not in history:
                self._emit(tick)

    def _on_quotes(self, quotes: Quotes) -> None:
        self.skipped_quotes += quotes.skipped
        counters = self.counters
        for quote in quotes.ticks:
            instrument_counters = counters.get(quote.instrument_id)
            if instrument_counters is None:
                self._count_unexpected(quote.instrument_id)
                continue
            instrument_counters.last_message_ns = quote.ts_init
            self._emit(quote)

    def _on_heartbeat(self, heartbeat: Heartbeat) -> None:
        self._heartbeat_at = time.monotonic()
        last = self._heartbeat_counter
        if last is not None and heartbeat.counter > last + 1:
            _log.info("%s: %d heartbeat(s) missed", self.name, heartbeat.counter - last - 1)
        self._heartbeat_counter = heartbeat.counter

    # -- bookkeeping ----------------------------------------------------------------------

    def _forget_connection(self) -> None:
        self._link = None
        self._last_sequence = None
        self._heartbeat_at = None
        self._heartbeat_counter = None
        self._resync_wanted.clear()
        self._resync_deadline = None
        task, self._resync = self._resync, None
        if task is not None and not task.done():
            task.cancel()

    def _count_unexpected(self, instrument_id: InstrumentId) -> None:
        self._count_unknown()
        if instrument_id not in self._unexpected_logged and len(self._unexpected_logged) < 100:
            self._unexpected_logged.add(instrument_id)
            _log.warning("%s: dropping data of %s, which was not subscribed", self.name, instrument_id)


def _event_time(tick: TradeTick) -> int:
    return tick.ts_event
