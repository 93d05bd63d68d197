"""The L2 order book of one instrument: price levels set by a snapshot, then by sequence-checked deltas."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from itertools import islice
from typing import Any, NoReturn

from sortedcontainers import SortedDict

from domain.errors import BookOutOfSync, CrossedBook, InvalidValue, SequenceGap
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookLevel, BookSnapshot, QuoteTick
from domain.values import EXACT, ROUNDED, ZERO, OrderSide, positive

_TWO = Decimal(2)
_NO_SNAPSHOT = "no snapshot yet"


def check_instrument(expected: InstrumentId, received: object) -> None:
    """Raise InvalidValue unless ``received`` is ``expected``: an update routed to another book."""
    if received != expected:
        raise InvalidValue("instrument_id", received, f"must be this book's instrument {expected}")


def _check_depth(depth: int | None) -> int | None:
    if depth is None:
        return None
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise InvalidValue("depth", depth, "must be a whole number of levels, 1 or more, or None")
    return depth


def _check_side(side: OrderSide) -> OrderSide:
    if side is not OrderSide.BUY and side is not OrderSide.SELL:
        raise InvalidValue("side", side, "must be OrderSide.BUY or OrderSide.SELL")
    return side


def _snapshot_side(levels: Iterable[BookLevel], side: str) -> dict[Decimal, Decimal]:
    """Validate one side of a snapshot into a dict; snapshots are rare, so this is thorough."""
    result: dict[Decimal, Decimal] = {}
    for index, level in enumerate(levels):
        try:
            price, size = level
        except (TypeError, ValueError):
            raise InvalidValue(f"{side}[{index}]", level, "must be a (price, size) pair") from None
        if not isinstance(price, Decimal) or not price.is_finite() or price <= ZERO:
            raise InvalidValue(f"{side}[{index}].price", price, "must be a positive finite Decimal")
        if not isinstance(size, Decimal) or not size.is_finite() or size <= ZERO:
            raise InvalidValue(f"{side}[{index}].size", size, "must be a positive finite Decimal")
        if price in result:
            raise InvalidValue(f"{side}[{index}].price", price, "repeats a price level of the snapshot")
        result[price] = size
    return result


class OrderBook:
    """The local L2 book of one instrument: price levels with absolute sizes, both sides.

    Fed by one :class:`BookSnapshot`, then by :class:`BookDelta` events whose update ids must
    follow on (Binance ``U``/``u`` rules, which also fit a venue with one sequence number per
    message). A gap, a crossed result or :meth:`invalidate` marks the book out of sync; it
    then refuses deltas with :class:`BookOutOfSync` until the next snapshot, so a broken
    stream is always reported and never silently repaired.

    Readers (``best_bid``, ``bids``, ``walk``...) describe the local levels even while the
    book is out of sync; check :attr:`synced` (or call :meth:`require_synced`) before
    trusting them. The exporters :meth:`snapshot` and :meth:`to_quote` raise instead, so a
    stale book never leaves as a market event.

    Each side is a ``SortedDict`` keyed by price in ascending order: the best ask is the
    first key and the best bid the last, both O(1). This was measured against negated bid
    keys and a ``key=neg`` function (CPython 3.11, 1,000 levels, fresh Decimal prices): the
    same cost to read the best level, but plain keys insert/remove a level ~20 % faster and
    list the top 20 levels ~1.8x faster than negated keys (no Decimal negation per access).

    Deltas are trusted to be well formed (:meth:`BookDelta.create` validated them); the hot
    path only refuses a negative size. Prices compare by value, so ``1.50`` and ``1.5`` are
    the same level (the first spelling seen is kept).
    """

    __slots__ = (
        "_ask_prices",
        "_asks",
        "_bid_prices",
        "_bids",
        "_instrument_id",
        "_reason",
        "_sequence",
        "_synced",
        "_ts_event",
        "_ts_init",
    )

    def __init__(self, instrument_id: InstrumentId | str) -> None:
        """An empty book, out of sync until the first snapshot; raises InvalidValue for a bad id."""
        self._instrument_id = InstrumentId(instrument_id)
        self._bids: Any = SortedDict()
        self._asks: Any = SortedDict()
        # Live key views: indexing them reaches the best price without building a tuple.
        self._bid_prices: Any = self._bids.keys()
        self._ask_prices: Any = self._asks.keys()
        self._sequence = 0
        self._synced = False
        self._reason = _NO_SNAPSHOT
        self._ts_event = 0
        self._ts_init = 0

    # -- state --------------------------------------------------------------------------

    @property
    def instrument_id(self) -> InstrumentId:
        return self._instrument_id

    @property
    def synced(self) -> bool:
        """True once a snapshot was applied and no gap, crossing or invalidation happened since."""
        return self._synced

    @property
    def sequence(self) -> int:
        """Update id the book reflects (snapshot ``sequence`` or the last delta's ``last_sequence``)."""
        return self._sequence

    @property
    def out_of_sync_reason(self) -> str | None:
        """Why the book is out of sync (the first cause since the last snapshot), None when synced."""
        return None if self._synced else self._reason

    @property
    def ts_event(self) -> int:
        """Venue timestamp (ns) of the last snapshot or delta applied; 0 before any."""
        return self._ts_event

    @property
    def ts_init(self) -> int:
        """Engine receive timestamp (ns) of the last snapshot or delta applied; 0 before any."""
        return self._ts_init

    @property
    def bid_count(self) -> int:
        return len(self._bids)

    @property
    def ask_count(self) -> int:
        return len(self._asks)

    @property
    def level_count(self) -> int:
        """Number of price levels on both sides together."""
        return len(self._bids) + len(self._asks)

    def require_synced(self) -> None:
        """Raise BookOutOfSync (with the reason) unless the book is synced."""
        if not self._synced:
            raise BookOutOfSync(self._out_of_sync_message())

    def invalidate(self, reason: str) -> None:
        """Mark the book out of sync (e.g. the feed disconnected); levels are kept for inspection.

        Deltas are refused until the next snapshot. The first reason is kept if the book is
        already out of sync. Raises InvalidValue for an empty reason.
        """
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidValue("reason", reason, "must be a non-empty string saying why")
        if self._synced:
            self._synced = False
            self._reason = reason

    def clear(self) -> None:
        """Empty the book and forget its sequence: back to the state before the first snapshot."""
        self._bids.clear()
        self._asks.clear()
        self._sequence = 0
        self._synced = False
        self._reason = _NO_SNAPSHOT
        self._ts_event = 0
        self._ts_init = 0

    # -- updates ------------------------------------------------------------------------

    def apply_snapshot(self, snapshot: BookSnapshot) -> None:
        """Replace the whole book with ``snapshot`` and mark it synced at ``snapshot.sequence``.

        Raises InvalidValue for another instrument or a malformed level (the book is left
        unchanged), and CrossedBook for a snapshot whose best bid is at or above its best
        ask (the book keeps its levels and is marked out of sync).
        """
        check_instrument(self._instrument_id, snapshot.instrument_id)
        bids = _snapshot_side(snapshot.bids, "bids")
        asks = _snapshot_side(snapshot.asks, "asks")
        if bids and asks:
            best_bid, best_ask = max(bids), min(asks)
            if best_bid >= best_ask:
                self._mark_out_of_sync(f"a crossed snapshot at update id {snapshot.sequence}")
                raise CrossedBook(self._instrument_id, best_bid, best_ask)
        self._bids.clear()
        self._bids.update(bids)
        self._asks.clear()
        self._asks.update(asks)
        self._sequence = snapshot.sequence
        self._ts_event = snapshot.ts_event
        self._ts_init = snapshot.ts_init
        self._synced = True
        self._reason = ""

    def apply_delta(self, delta: BookDelta) -> bool:
        """Apply ``delta`` if it follows on; return True if applied, False if stale (ignored).

        A delta whose ``last_sequence`` is at or below :attr:`sequence` is stale and ignored.
        One whose ``first_sequence`` is past ``sequence + 1`` means updates were missed.
        Otherwise each level is set in order (size 0 removes it; removing a missing level is
        normal) and ``sequence`` becomes ``last_sequence``.

        Raises InvalidValue for another instrument (book untouched); BookOutOfSync if the
        book is not synced; SequenceGap on a gap and CrossedBook if the result has best bid
        >= best ask, both marking the book out of sync; InvalidValue for a negative size
        (also marking it out of sync, as the delta was half applied).
        """
        if delta.instrument_id != self._instrument_id:
            check_instrument(self._instrument_id, delta.instrument_id)
        if not self._synced:
            raise BookOutOfSync(self._out_of_sync_message())
        sequence = self._sequence
        last = delta.last_sequence
        if last <= sequence:
            return False
        if delta.first_sequence > sequence + 1:
            self._mark_out_of_sync(
                f"a sequence gap (expected update id {sequence + 1}, received {delta.first_sequence})"
            )
            raise SequenceGap(self._instrument_id, sequence + 1, delta.first_sequence)
        bids = self._bids
        for price, size in delta.bids:
            if size > ZERO:
                bids[price] = size
            elif size == ZERO:
                bids.pop(price, None)
            else:
                self._negative_size(delta, "bids", price, size)
        asks = self._asks
        for price, size in delta.asks:
            if size > ZERO:
                asks[price] = size
            elif size == ZERO:
                asks.pop(price, None)
            else:
                self._negative_size(delta, "asks", price, size)
        self._sequence = last
        self._ts_event = delta.ts_event
        self._ts_init = delta.ts_init
        if bids and asks:
            best_bid = self._bid_prices[-1]
            best_ask = self._ask_prices[0]
            if best_bid >= best_ask:
                self._mark_out_of_sync(f"a crossed book after update id {last}")
                raise CrossedBook(self._instrument_id, best_bid, best_ask)
        return True

    # -- reads --------------------------------------------------------------------------

    def best_bid(self) -> BookLevel | None:
        """Highest bid as (price, size), None if there are no bids."""
        if not self._bids:
            return None
        price: Decimal = self._bid_prices[-1]
        size: Decimal = self._bids[price]
        return price, size

    def best_ask(self) -> BookLevel | None:
        """Lowest ask as (price, size), None if there are no asks."""
        if not self._asks:
            return None
        price: Decimal = self._ask_prices[0]
        size: Decimal = self._asks[price]
        return price, size

    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, None unless both sides have a level."""
        if not self._bids or not self._asks:
            return None
        return ROUNDED.divide(EXACT.add(self._bid_prices[-1], self._ask_prices[0]), _TWO)

    def spread(self) -> Decimal | None:
        """Best ask - best bid (exact), None unless both sides have a level."""
        if not self._bids or not self._asks:
            return None
        return EXACT.subtract(self._ask_prices[0], self._bid_prices[-1])

    def bids(self, depth: int | None = None) -> list[BookLevel]:
        """Bid levels best (highest) first, at most ``depth`` of them; InvalidValue if depth < 1."""
        _check_depth(depth)
        bids = self._bids
        return [(price, bids[price]) for price in islice(reversed(bids), depth)]

    def asks(self, depth: int | None = None) -> list[BookLevel]:
        """Ask levels best (lowest) first, at most ``depth`` of them; InvalidValue if depth < 1."""
        _check_depth(depth)
        asks = self._asks
        return [(price, asks[price]) for price in islice(asks, depth)]

    def bid_size_at(self, price: Decimal) -> Decimal:
        """Size of the bid level at ``price``, zero if there is none."""
        size: Decimal = self._bids.get(price, ZERO)
        return size

    def ask_size_at(self, price: Decimal) -> Decimal:
        """Size of the ask level at ``price``, zero if there is none."""
        size: Decimal = self._asks.get(price, ZERO)
        return size

    def walk(
        self, side: OrderSide, quantity: object, limit_price: object | None = None
    ) -> list[tuple[Decimal, Decimal]]:
        """The (price, size) fills a taker ``side`` order of ``quantity`` would get, best first.

        A buy walks the asks upwards, a sell the bids downwards; with ``limit_price`` the walk
        stops at levels worse than it. The book is not changed. The sizes sum to ``quantity``
        or, if the book (or the limit) runs out first, to everything available. Raises
        InvalidValue for a bad side, a quantity or limit that is not a positive decimal.
        """
        _check_side(side)
        remaining = positive(quantity, "quantity")
        limit = None if limit_price is None else positive(limit_price, "limit_price")
        if side is OrderSide.BUY:
            book = self._asks
            prices = iter(book) if limit is None else book.irange(maximum=limit)
        else:
            book = self._bids
            prices = reversed(book) if limit is None else book.irange(minimum=limit, reverse=True)
        fills: list[tuple[Decimal, Decimal]] = []
        for price in prices:
            size: Decimal = book[price]
            if size >= remaining:
                fills.append((price, remaining))
                break
            fills.append((price, size))
            remaining = EXACT.subtract(remaining, size)
        return fills

    def volume_up_to(self, side: OrderSide, limit_price: object) -> Decimal:
        """Total size a taker ``side`` order could take at ``limit_price`` or better.

        Buy: asks priced at or below the limit; sell: bids at or above it. Raises
        InvalidValue for a bad side or a limit that is not a positive decimal.
        """
        _check_side(side)
        limit = positive(limit_price, "limit_price")
        if side is OrderSide.BUY:
            book = self._asks
            prices = book.irange(maximum=limit)
        else:
            book = self._bids
            prices = book.irange(minimum=limit)
        total = ZERO
        for price in prices:
            total = EXACT.add(total, book[price])
        return total

    # -- exports ------------------------------------------------------------------------

    def snapshot(
        self, depth: int | None = None, *, ts_event: int | None = None, ts_init: int | None = None
    ) -> BookSnapshot:
        """Export the current book (``depth`` levels a side, all by default) at :attr:`sequence`.

        Timestamps default to those of the last update applied. Raises BookOutOfSync if the
        book is not synced (a stale book must not be passed on) and InvalidValue for a depth
        below 1.
        """
        self.require_synced()
        bids = self.bids(depth)
        asks = self.asks(depth)
        return BookSnapshot(
            self._instrument_id,
            tuple(bids),
            tuple(asks),
            self._sequence,
            self._ts_event if ts_event is None else ts_event,
            self._ts_init if ts_init is None else ts_init,
        )

    def to_quote(self, ts_event: int | None = None, ts_init: int | None = None) -> QuoteTick | None:
        """Best bid and ask as a QuoteTick, None if a side is empty.

        Timestamps default to those of the last update applied. Raises BookOutOfSync if the
        book is not synced.
        """
        self.require_synced()
        if not self._bids or not self._asks:
            return None
        bid = self._bid_prices[-1]
        ask = self._ask_prices[0]
        return QuoteTick(
            self._instrument_id,
            bid,
            self._bids[bid],
            ask,
            self._asks[ask],
            self._ts_event if ts_event is None else ts_event,
            self._ts_init if ts_init is None else ts_init,
        )

    def __repr__(self) -> str:
        state = f"synced at {self._sequence}" if self._synced else f"out of sync ({self._reason})"
        return (
            f"OrderBook({self._instrument_id}, {state}, {len(self._bids)} bids, "
            f"{len(self._asks)} asks, best {self.best_bid()} / {self.best_ask()})"
        )

    # -- internals ----------------------------------------------------------------------

    def _mark_out_of_sync(self, reason: str) -> None:
        if self._synced:
            self._synced = False
            self._reason = reason

    def _out_of_sync_message(self) -> str:
        if self._reason == _NO_SNAPSHOT:
            return f"{self._instrument_id} book has no snapshot yet; apply a snapshot first"
        return f"{self._instrument_id} book out of sync since {self._reason}; apply a snapshot"

    def _negative_size(self, delta: BookDelta, side: str, price: Decimal, size: Decimal) -> NoReturn:
        self._mark_out_of_sync(f"a negative size in update {delta.first_sequence}..{delta.last_sequence}")
        raise InvalidValue(f"{side} size at {price}", size, "must not be negative (0 removes a level)")
