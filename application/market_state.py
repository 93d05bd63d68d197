"""The engine's view of the market: last trade, last quote and the L2 book per instrument."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from application.messages import FeedStatusChanged
from application.ports import Cache
from domain.consolidated_quote import ConsolidatedQuote, consolidate
from domain.errors import BookOutOfSync, InvalidValue
from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from domain.market_data import (
    Bar,
    BookDelta,
    BookInvalidated,
    BookSnapshot,
    MarketEvent,
    QuoteTick,
    TradeTick,
)
from domain.order_book import OrderBook
from domain.risk import MarketDataState


@dataclass(slots=True)
class LastTrade:
    price: Decimal
    ts_event: int


class MarketState:
    """Keeps the latest market facts the engine and its observers ask for.

    Books are fed only from the feed's BookSnapshot/BookDelta events, which the feed has
    already sequence-checked; a gap, a crossed book or a malformed level here still marks
    the book out of sync (counted in ``book_errors``) until the next snapshot, rather than
    drifting or raising into the bus.

    ``data_state`` is the one answer to "can this instrument's data be traded on": it joins
    the feed's connection (``FeedStatusChanged``; an instrument never reported down is taken
    as up, as in a replay), the book's sync and the last price's time. Risk, health and the
    status all read it; none of it is on the per-tick path.

    ``events`` counts the market events handled per type and instrument, always (a dict
    increment in the handler that already looks the instrument up: metrics read it at scrape
    time instead of wrapping every event).
    """

    __slots__ = ("_bars", "_cache", "_deltas", "_invalidations", "_quotes", "_snapshots", "_trades",
                 "book_errors", "books", "disconnected", "events", "last_trades", "quotes")  # fmt: skip

    def __init__(self, cache: Cache | None = None) -> None:
        self._cache = cache
        self.last_trades: dict[InstrumentId, LastTrade] = {}
        self.quotes: dict[InstrumentId, QuoteTick] = {}
        self.books: dict[InstrumentId, OrderBook] = {}
        self.disconnected: dict[InstrumentId, str] = {}
        """Instruments whose feed is down, with why."""
        self.book_errors = 0
        self._trades: dict[InstrumentId, int] = {}
        self._quotes: dict[InstrumentId, int] = {}
        self._snapshots: dict[InstrumentId, int] = {}
        self._deltas: dict[InstrumentId, int] = {}
        self._invalidations: dict[InstrumentId, int] = {}
        self._bars: dict[InstrumentId, int] = {}
        self.events: dict[type[MarketEvent], dict[InstrumentId, int]] = {
            TradeTick: self._trades,
            QuoteTick: self._quotes,
            BookSnapshot: self._snapshots,
            BookDelta: self._deltas,
            BookInvalidated: self._invalidations,
            Bar: self._bars,
        }
        """Market events handled, per event class and instrument (only those seen are keys)."""

    @property
    def trades_seen(self) -> int:
        """Trades handled, every instrument (the sum of ``events``' trade counts)."""
        return sum(self._trades.values())

    def on_trade(self, tick: TradeTick) -> None:
        counts, iid = self._trades, tick.instrument_id
        counts[iid] = counts.get(iid, 0) + 1
        last = self.last_trades.get(iid)
        if last is None:
            self.last_trades[iid] = LastTrade(tick.price, tick.ts_event)
        else:
            last.price = tick.price
            last.ts_event = tick.ts_event

    def on_bar(self, bar: Bar) -> None:
        """A bar's close stands in for the last trade when a feed sends only bars."""
        counts = self._bars
        counts[bar.instrument_id] = counts.get(bar.instrument_id, 0) + 1
        last = self.last_trades.get(bar.instrument_id)
        if last is None or bar.ts_event >= last.ts_event:
            self.last_trades[bar.instrument_id] = LastTrade(bar.close, bar.ts_event)

    def on_quote(self, quote: QuoteTick) -> None:
        counts, iid = self._quotes, quote.instrument_id
        counts[iid] = counts.get(iid, 0) + 1
        self.quotes[iid] = quote
        if self._cache is not None:
            self._cache.set_quote(quote)

    def on_book_snapshot(self, snapshot: BookSnapshot) -> None:
        counts = self._snapshots
        counts[snapshot.instrument_id] = counts.get(snapshot.instrument_id, 0) + 1
        book = self.books.get(snapshot.instrument_id)
        if book is None:
            book = self.books[snapshot.instrument_id] = OrderBook(snapshot.instrument_id)
        try:
            book.apply_snapshot(snapshot)
        except (BookOutOfSync, InvalidValue):
            self.book_errors += 1

    def on_book_invalidated(self, event: BookInvalidated) -> None:
        """The feed lost the thread: the book is stale until the next snapshot."""
        counts = self._invalidations
        counts[event.instrument_id] = counts.get(event.instrument_id, 0) + 1
        book = self.books.get(event.instrument_id)
        if book is not None:
            book.invalidate(event.reason)

    def on_book_delta(self, delta: BookDelta) -> None:
        counts, iid = self._deltas, delta.instrument_id
        counts[iid] = counts.get(iid, 0) + 1
        book = self.books.get(iid)
        if book is None:
            self.book_errors += 1
            return
        try:
            book.apply_delta(delta)
        except (BookOutOfSync, InvalidValue):  # a gap, a crossing, a negative size
            self.book_errors += 1

    def on_feed_status(self, event: FeedStatusChanged) -> None:
        """A feed went down (its books are stale until their next snapshot) or came back."""
        if event.connected:
            for instrument_id in event.instruments:
                self.disconnected.pop(instrument_id, None)
            return
        reason = event.reason or f"feed {event.feed} disconnected"
        for instrument_id in event.instruments:
            self.disconnected[instrument_id] = reason
            book = self.books.get(instrument_id)
            if book is not None and book.synced:
                book.invalidate(reason)

    def data_state(self, instrument_id: InstrumentId) -> MarketDataState:
        """What is known of ``instrument_id``'s data now: connection, book sync, last price time."""
        down = self.disconnected.get(instrument_id)
        book = self.books.get(instrument_id)
        return MarketDataState(
            instrument_id=instrument_id,
            connected=down is None,
            disconnect_reason=down or "",
            last_price_ts=self.last_price_ts(instrument_id),
            book_synced=None if book is None else book.synced,
            book_reason="" if book is None else book.out_of_sync_reason or "",
        )

    def last_price(self, instrument_id: InstrumentId) -> Decimal | None:
        """Last trade price, else the quote mid, else None."""
        last = self.last_trades.get(instrument_id)
        if last is not None:
            return last.price
        quote = self.quotes.get(instrument_id)
        return quote.mid if quote is not None else None

    def last_price_ts(self, instrument_id: InstrumentId) -> int | None:
        last = self.last_trades.get(instrument_id)
        if last is not None:
            return last.ts_event
        quote = self.quotes.get(instrument_id)
        return quote.ts_event if quote is not None else None

    def consolidated(
        self,
        base: str,
        quote: str,
        instruments: Iterable[Instrument],
        *,
        now_ns: int = 0,
        max_age_ns: int | None = None,
    ) -> ConsolidatedQuote:
        """The best bid and ask of ``base``/``quote`` across the venues of ``instruments``.

        A venue counts when its data is usable by the rule risk applies (``data_state``: feed
        connected, book in sync, last price no older than ``max_age_ns`` at ``now_ns``; None
        leaves the age unchecked); the others are listed with why. Raises InvalidValue naming
        ``base`` or ``quote`` for a malformed asset code.
        """
        chosen = [i for i in instruments if i.base == base and i.quote == quote]
        problems = {}
        for instrument in chosen:
            found = self.data_state(instrument.id).problem(now_ns, max_age_ns)
            if found is not None:
                problems[instrument.id] = found[1]
        return consolidate(base, quote, chosen, self.quotes, problems)
