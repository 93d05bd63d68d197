"""``KrakenMarketDataFeed``: the MarketDataFeed port over Kraken's public WebSocket v2.

Emits TradeTick (the taker's side is the aggressor), QuoteTick (``ticker`` best bid/offer)
and, per pair, a BookSnapshot whenever its book (re)synchronises followed by one BookDelta
per update, numbered by the feed, so that a downstream OrderBook fed only these events
equals the feed's own. The v2 book has no sequence numbers: each snapshot and update
carries a CRC32 checksum of the top ten levels, computed at the pair's fixed precision,
which is why every connection first subscribes to ``instrument`` (precisions) and only
then to ``book``, ``trade`` and ``ticker``. A failed checksum invalidates the book
downstream (BookInvalidated) and rebuilds it: unsubscribe + subscribe with a snapshot,
or, if that snapshot does not come, a new connection.

The connection is kept by the shared SupervisedConnection: backoff of at least 5 s between
reconnects (the venue asks for it), replaced when nothing arrived for ``stale_after``, or
when neither a heartbeat nor channel data came for ``heartbeat_timeout`` (the venue sends
heartbeats only while it has nothing else to send, so data counts as a sign of life too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

from adapters.exchanges.kraken.books import BookCrossed, KrakenBook
from adapters.exchanges.kraken.config import KrakenFeedConfig
from adapters.exchanges.kraken.errors import MalformedMessage, UnknownMessage
from adapters.exchanges.kraken.parsing import (
    Ack,
    BookMessage,
    Heartbeat,
    Instruments,
    PairInfo,
    Pong,
    Status,
    Tickers,
    Trades,
    parse_message,
)
from adapters.exchanges.streaming.connection import ConnectionOptions, Link, SupervisedConnection
from adapters.exchanges.streaming.feed_base import StreamingFeed
from application.ports import Clock
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent

_log = logging.getLogger(__name__)

INSTRUMENT_WAIT_SHARE = 0.5
"""Share of ``open_timeout`` a new connection waits for the instrument list before it
subscribes anyway (with the configured precisions)."""
_REQUESTS_REMEMBERED = 10_000
"""Bound of the request -> channel memory of one connection (resubscriptions add to it)."""


class KrakenMarketDataFeed(StreamingFeed):
    """Streams Kraken v2 trades, best quotes and checksum-verified L2 books into a sink.

    ``run(sink)`` connects, subscribes, keeps the connection alive and rebuilds books whose
    checksum fails; ``health()`` reports the feed and, per instrument, whether its book is
    verified, its last message, checksum failures and resubscriptions. ``clock`` stamps
    ``ts_init``; ``rng`` draws the backoff jitter (pass a seeded one in tests).
    """

    def __init__(self, config: KrakenFeedConfig, clock: Clock, *, rng: random.Random | None = None) -> None:
        super().__init__(name=config.name, instrument_ids=config.instrument_ids, clock=clock)
        self._config = config
        self._rng = rng if rng is not None else random.Random()
        self._pairs = config.pairs
        self._precisions: dict[str, tuple[int, int]] = dict(config.precisions or {})
        self._books = {
            instrument_id: KrakenBook(instrument_id, config.book_depth, self._precisions.get(pair))
            for pair, instrument_id in self._pairs.items()
        }
        self._pair_info: dict[str, PairInfo] = {}
        self._connection: SupervisedConnection | None = None
        self._instruments_ready = asyncio.Event()
        self._instrument_req_id = 0
        self._req_ids = 0
        self._channels_by_req_id: dict[int, str] = {}
        """Channel of each request of this connection: an error ack may not name it."""
        self._last_alive = time.monotonic()
        self._last_ping = time.monotonic()
        self._resyncing: dict[str, float] = {}
        """Pairs whose book was resubscribed -> monotonic time of the request."""
        self._last_trade_id: dict[InstrumentId, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unknown_precision_logged: set[str] = set()
        self.acks = 0
        self.refusals = 0
        self.pongs = 0
        self.ignored_updates = 0
        """Book updates dropped because the book was waiting for its snapshot."""
        self.duplicates = 0
        self.system_status = ""

    # -- the port -------------------------------------------------------------------------

    async def run(self, sink: Callable[[MarketEvent], None]) -> None:
        """Stream into ``sink`` until :meth:`stop`; never raises for venue or network trouble."""
        try:
            await super().run(sink)
        finally:
            for task in tuple(self._tasks):
                task.cancel()
            for book in self._books.values():
                book.reset()

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

    # -- more to observe ------------------------------------------------------------------

    def book(self, instrument_id: InstrumentId) -> KrakenBook | None:
        """The feed's local book of ``instrument_id`` (read only), None if not subscribed."""
        return self._books.get(instrument_id)

    def precision(self, pair: str) -> tuple[int, int] | None:
        """(price places, quantity places) the checksum of ``pair`` is computed at, if known."""
        return self._precisions.get(pair)

    def pair_info(self, pair: str) -> PairInfo | None:
        """What the ``instrument`` channel said about ``pair`` on the current connection."""
        return self._pair_info.get(pair)

    @property
    def connected(self) -> bool:
        connection = self._connection
        return connection is not None and connection.connected

    # -- the stream protocol ----------------------------------------------------------------

    async def on_open(self, link: Link) -> None:
        """Instrument precisions first (the checksums need them), then the market channels."""
        now = time.monotonic()
        self._last_alive = now
        self._last_ping = now
        self._resyncing.clear()
        self._channels_by_req_id.clear()
        self._instruments_ready = asyncio.Event()
        self._instrument_req_id = self._next_req_id()
        self._channels_by_req_id[self._instrument_req_id] = "instrument"
        await link.send(
            {"method": "subscribe", "params": {"channel": "instrument"}, "req_id": self._instrument_req_id}
        )
        try:
            await asyncio.wait_for(
                self._instruments_ready.wait(), self._config.open_timeout * INSTRUMENT_WAIT_SHARE
            )
        except TimeoutError:
            _log.warning(
                "%s: no instrument list from the venue; book checksums use the configured precisions",
                self.name,
            )
        for request in self._subscriptions():
            await link.send(request)

    def on_frame(self, raw: bytes, ts_init: int, link: Link) -> None:
        """Parse one frame and act on it (the hot path)."""
        self._frame_seen(ts_init)
        try:
            message = parse_message(raw, ts_init)
        except UnknownMessage:
            self._count_unknown()
            return
        except MalformedMessage as exc:
            self._count_malformed(exc.reason, raw)
            return
        kind = type(message)
        if kind is BookMessage:
            self._last_alive = time.monotonic()
            self._on_book(message, link)  # type: ignore[arg-type]
        elif kind is Trades:
            self._last_alive = time.monotonic()
            self._on_trades(message)  # type: ignore[arg-type]
        elif kind is Tickers:
            self._last_alive = time.monotonic()
            self._on_tickers(message)  # type: ignore[arg-type]
        elif kind is Heartbeat:
            self._last_alive = time.monotonic()
        elif kind is Ack:
            self._on_ack(message)  # type: ignore[arg-type]
        elif kind is Pong:
            self.pongs += 1
        elif kind is Instruments:
            self._on_instruments(message)  # type: ignore[arg-type]
        elif kind is Status:
            self._on_status(message)  # type: ignore[arg-type]

    def on_lost(self, reason: str) -> None:
        """The connection is gone: every book is stale until the next connection's snapshot."""
        for instrument_id, book in self._books.items():
            if book.synced:
                self._invalidate(instrument_id, reason or "connection lost")
            book.reset()
        self._resyncing.clear()
        self._last_trade_id.clear()
        self._lost(self._config.instrument_ids, reason)

    def on_error(self, message: str) -> None:
        self._error(message)

    def staleness(self, now: float) -> str | None:
        """Heartbeats and data stopped, or a book's resync snapshot never came; sends pings too."""
        config = self._config
        silent = now - self._last_alive
        if silent > config.heartbeat_timeout:
            limit = config.heartbeat_timeout
            return f"stale: no heartbeat nor data for {silent:.1f}s (heartbeat_timeout {limit}s)"
        for pair, asked_at in self._resyncing.items():
            if now - asked_at > config.open_timeout:
                return f"the {pair} book snapshot did not come {now - asked_at:.1f}s after resubscribing"
        if now - self._last_ping >= config.ping_interval_s:
            self._last_ping = now
            connection = self._connection
            link = connection.link if connection is not None else None
            if link is not None:
                self._send_later(link, {"method": "ping", "req_id": self._next_req_id()})
        return None

    # -- messages -----------------------------------------------------------------------------

    def _on_book(self, message: BookMessage, link: Link) -> None:
        instrument_id = message.instrument_id
        book = self._books.get(instrument_id)
        if book is None:
            self._count_unknown()
            return
        counters = self.counters[instrument_id]
        counters.last_message_ns = message.ts_init
        if message.snapshot:
            try:
                snapshot = book.load(message)
            except BookCrossed as exc:
                self._rebuild(message.pair, book, str(exc), link, checksum=False)
                return
            verified = book.verify(message.checksum)
            if verified is False:
                self._rebuild(message.pair, book, "book snapshot checksum mismatch", link, checksum=True)
                return
            self._resyncing.pop(message.pair, None)
            counters.book_verified = verified is True
            if verified is None:
                self._precision_unknown(message.pair)
            _log.info(
                "%s: %s book synced (%d bids, %d asks, %s)",
                self.name,
                message.pair,
                len(snapshot.bids),
                len(snapshot.asks),
                "checksum verified" if verified else "checksum not verified",
            )
            self._emit(snapshot)
            return
        if not book.synced:
            self.ignored_updates += 1
            return
        try:
            delta = book.apply(message)
        except BookCrossed as exc:
            self._rebuild(message.pair, book, str(exc), link, checksum=False)
            return
        verified = book.verify(message.checksum)
        if verified is False:
            self._rebuild(message.pair, book, "book checksum mismatch", link, checksum=True)
            return
        counters.book_verified = verified is True
        self._emit(delta)

    def _on_trades(self, message: Trades) -> None:
        for trade in message.trades:
            instrument_id = trade.instrument_id
            counters = self.counters.get(instrument_id)
            if counters is None:
                self._count_unknown()
                continue
            counters.last_message_ns = trade.ts_init
            trade_id = int(trade.trade_id)
            if trade_id <= self._last_trade_id.get(instrument_id, -1):
                self.duplicates += 1
                continue
            self._last_trade_id[instrument_id] = trade_id
            self._emit(trade)

    def _on_tickers(self, message: Tickers) -> None:
        for quote in message.quotes:
            counters = self.counters.get(quote.instrument_id)
            if counters is None:
                self._count_unknown()
                continue
            counters.last_message_ns = quote.ts_init
            self._emit(quote)

    def _on_ack(self, ack: Ack) -> None:
        self.acks += 1
        if ack.req_id == self._instrument_req_id and (
            not ack.success or ack.channel not in ("", "instrument")
        ):
            self._instruments_ready.set()  # refused: waiting longer would not help
        if ack.success:
            return
        self.refusals += 1
        channel = ack.channel or self._channels_by_req_id.get(ack.req_id or 0, "")
        what = " ".join(part for part in (channel, ack.symbol) if part) or f"request {ack.req_id}"
        message = f"{ack.method} {what} refused: {ack.error or 'no reason given'}"
        self._error(message)
        _log.warning("%s: %s", self.name, message)

    def _on_instruments(self, message: Instruments) -> None:
        for info in message.pairs:
            instrument_id = self._pairs.get(info.symbol)
            if instrument_id is None:
                continue
            precision = (info.price_precision, info.qty_precision)
            self._pair_info[info.symbol] = info
            if self._precisions.get(info.symbol) != precision:
                _log.info("%s: %s precision: price %d, qty %d", self.name, info.symbol, *precision)
            self._precisions[info.symbol] = precision
            self._books[instrument_id].precision = precision
        if message.snapshot:
            for pair in self._pairs:
                if pair not in self._precisions:
                    self._precision_unknown(pair)
            self._instruments_ready.set()

    def _on_status(self, status: Status) -> None:
        if status.system and status.system != self.system_status:
            _log.info("%s: venue status %s (api %s)", self.name, status.system, status.api_version or "?")
            self.system_status = status.system

    # -- books --------------------------------------------------------------------------------

    def _rebuild(self, pair: str, book: KrakenBook, reason: str, link: Link, *, checksum: bool) -> None:
        """The book cannot be trusted: tell downstream, and ask the venue for a fresh snapshot."""
        instrument_id = book.instrument_id
        book.reset()
        counters = self.counters[instrument_id]
        if checksum:
            counters.checksum_failures += 1
        message = f"{pair} {reason}; resubscribing"
        self._error(message)
        _log.warning("%s: %s", self.name, message)
        self._invalidate(instrument_id, f"{pair} {reason}")
        if pair in self._resyncing:
            return  # a fresh snapshot is on its way already
        counters.resubscriptions += 1
        self._resyncing[pair] = time.monotonic()
        self._send_later(
            link,
            {
                "method": "unsubscribe",
                "params": {"channel": "book", "symbol": [pair]},
                "req_id": self._next_req_id(),
            },
            self._book_subscription([pair]),
        )

    def _precision_unknown(self, pair: str) -> None:
        if pair not in self._precisions and pair not in self._unknown_precision_logged:
            self._unknown_precision_logged.add(pair)
            _log.warning(
                "%s: the precision of %s is unknown (not listed by the venue nor configured): "
                "its book checksum cannot be verified",
                self.name,
                pair,
            )

    # -- requests -----------------------------------------------------------------------------

    def _subscriptions(self) -> list[dict[str, object]]:
        pairs = list(self._pairs)
        requests: list[dict[str, object]] = []
        for channel in self._config.channels:
            if channel == "book":
                requests.append(self._book_subscription(pairs))
            elif channel == "trade":
                params: dict[str, object] = {"channel": "trade", "symbol": pairs, "snapshot": False}
                requests.append(self._request("subscribe", params))
            else:
                params = {"channel": "ticker", "symbol": pairs, "event_trigger": "bbo", "snapshot": True}
                requests.append(self._request("subscribe", params))
        return requests

    def _book_subscription(self, pairs: list[str]) -> dict[str, object]:
        params = {"channel": "book", "symbol": pairs, "depth": self._config.book_depth, "snapshot": True}
        return self._request("subscribe", params)

    def _request(self, method: str, params: dict[str, object]) -> dict[str, object]:
        req_id = self._next_req_id()
        if len(self._channels_by_req_id) < _REQUESTS_REMEMBERED:
            self._channels_by_req_id[req_id] = str(params["channel"])
        return {"method": method, "params": params, "req_id": req_id}

    def _next_req_id(self) -> int:
        self._req_ids += 1
        return self._req_ids

    def _send_later(self, link: Link, *messages: object) -> None:
        """Send ``messages`` in order from a task (frames are handled synchronously)."""
        task = asyncio.get_running_loop().create_task(self._send(link, messages), name=f"{self.name}-send")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, link: Link, messages: tuple[object, ...]) -> None:
        with contextlib.suppress(Exception):  # a closed link: the next connection subscribes afresh
            for message in messages:
                await link.send(message)
