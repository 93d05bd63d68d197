"""The local level2 book of one product, and the events that let a downstream book follow it.

Coinbase sends a product's whole book on subscribe (``snapshot``), then absolute level
changes (``update``); it has no per-product update id. This book numbers what it applies
itself, +1 per message, snapshots included, so the events it hands out (one BookSnapshot per
(re)sync, one BookDelta per applied update) carry a sequence that a downstream
:class:`~domain.order_book.OrderBook` checks like any other venue's: fed only those events,
it always equals this one.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.exchanges.coinbase.schemas import BookMessage
from domain.errors import BookOutOfSync, InvalidValue
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookLevel, BookSnapshot
from domain.order_book import OrderBook
from domain.values import ZERO


class BookRejected(Exception):
    """A message the book cannot take (crossed result, another product, a bad snapshot): the
    book is now out of sync and needs a fresh snapshot. ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _snapshot_side(levels: tuple[BookLevel, ...]) -> list[BookLevel]:
    """One side of a snapshot: the last size given per price wins, zero sizes are left out."""
    by_price: dict[Decimal, Decimal] = {}
    for price, size in levels:
        by_price[price] = size
    return [(price, size) for price, size in by_price.items() if size > ZERO]


class ProductBook:
    """The local book of one product: a snapshot replaces it, an update sets absolute sizes.

    :meth:`apply` returns the domain event to pass on, or None for an update while the book
    waits for its snapshot (after a gap, before the resubscription's snapshot). Raises
    :class:`BookRejected` when the message leaves the book unusable.
    """

    __slots__ = ("_book", "_sequence", "instrument_id", "snapshots", "updates")

    def __init__(self, instrument_id: InstrumentId) -> None:
        self.instrument_id = instrument_id
        self._book = OrderBook(instrument_id)
        self._sequence = 0
        self.snapshots = 0
        """Snapshots applied (the first sync and every resync)."""
        self.updates = 0
        """Updates applied."""

    @property
    def book(self) -> OrderBook:
        """The local book (read only: change it through :meth:`apply`)."""
        return self._book

    @property
    def synced(self) -> bool:
        return self._book.synced

    @property
    def sequence(self) -> int:
        """This book's own number of the last message applied (0 before the first snapshot)."""
        return self._sequence

    def invalidate(self, reason: str) -> bool:
        """Mark the book stale until the next snapshot; True if it was synced (so downstream
        books must hear it too)."""
        was_synced = self._book.synced
        self._book.invalidate(reason)
        return was_synced

    def apply(self, message: BookMessage, ts_init: int) -> BookSnapshot | BookDelta | None:
        """Apply one ``l2_data`` event; the event to emit, None if ignored (not synced)."""
        if message.instrument_id != self.instrument_id:
            raise BookRejected(f"{message.instrument_id} data reached the book of {self.instrument_id}")
        if message.snapshot:
            return self._apply_snapshot(message, ts_init)
        if not self._book.synced:
            return None
        sequence = self._sequence + 1
        delta = BookDelta(
            self.instrument_id, message.bids, message.asks, sequence, sequence, message.ts_event, ts_init
        )
        try:
            self._book.apply_delta(delta)
        except (BookOutOfSync, InvalidValue) as exc:
            self._book.invalidate(str(exc))
            raise BookRejected(f"update {sequence} of {self.instrument_id} refused: {exc}") from None
        self._sequence = sequence
        self.updates += 1
        return delta

    def _apply_snapshot(self, message: BookMessage, ts_init: int) -> BookSnapshot:
        sequence = self._sequence + 1
        try:
            snapshot = BookSnapshot.create(
                instrument_id=self.instrument_id,
                bids=_snapshot_side(message.bids),
                asks=_snapshot_side(message.asks),
                sequence=sequence,
                ts_event=message.ts_event,
                ts_init=ts_init,
            )
            self._book.apply_snapshot(snapshot)
        except (BookOutOfSync, InvalidValue) as exc:
            self._book.invalidate(str(exc))
            raise BookRejected(f"snapshot of {self.instrument_id} refused: {exc}") from None
        self._sequence = sequence
        self.snapshots += 1
        return snapshot
