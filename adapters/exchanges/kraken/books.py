"""The local Kraken book of one pair: venue levels applied in order, truncated, checksummed.

Kraken's v2 book has no sequence numbers; the CRC32 checksum of the top ten levels is the
only way to know the local copy still equals the venue's. :class:`KrakenBook` follows the
venue's maintenance rules (a snapshot replaces, update levels apply strictly in array order,
a zero quantity deletes, then each side is cut to the subscribed depth) and numbers what it
applies with its own sequence, so the domain events it returns rebuild the same book
downstream: a BookSnapshot on every (re)sync, and one BookDelta per update that includes a
zero-size entry for each level the truncation removed.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import islice
from typing import Any

from sortedcontainers import SortedDict

from adapters.exchanges.kraken.checksum import CHECKSUM_LEVELS, book_checksum
from adapters.exchanges.kraken.parsing import BookMessage
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookLevel, BookSnapshot

_ZERO = Decimal(0)


class BookCrossed(ValueError):
    """The book's best bid reached its best ask: the local copy cannot be the venue's."""


class KrakenBook:
    """One pair's book as the venue keeps it for a subscription of ``depth`` levels per side.

    ``precision`` (price places, quantity places) comes from the ``instrument`` channel or
    the configuration; without it the checksum cannot be computed and the book is never
    called verified. After :meth:`reset` (a failed checksum, a lost connection) updates are
    refused until the next snapshot.
    """

    __slots__ = ("_asks", "_bids", "depth", "instrument_id", "precision", "sequence", "synced", "verified")

    def __init__(
        self, instrument_id: InstrumentId, depth: int, precision: tuple[int, int] | None = None
    ) -> None:
        self.instrument_id = instrument_id
        self.depth = depth
        self.precision = precision
        self._bids: Any = SortedDict()
        self._asks: Any = SortedDict()
        self.sequence = 0
        """Our own number of the last snapshot or update applied; it only grows."""
        self.synced = False
        """A snapshot was applied and nothing went wrong since."""
        self.verified = False
        """The last checksum compared equal (never True without a precision)."""

    # -- reading ------------------------------------------------------------------------

    def bids(self, depth: int | None = None) -> list[BookLevel]:
        """Bid levels best (highest) first."""
        bids = self._bids
        return [(price, bids[price]) for price in islice(reversed(bids), depth)]

    def asks(self, depth: int | None = None) -> list[BookLevel]:
        """Ask levels best (lowest) first."""
        asks = self._asks
        return [(price, asks[price]) for price in islice(asks, depth)]

    def checksum(self) -> int | None:
        """The venue's checksum of the current top ten levels, None without a precision."""
        if self.precision is None:
            return None
        return book_checksum(
            self.asks(CHECKSUM_LEVELS), self.bids(CHECKSUM_LEVELS), self.precision[0], self.precision[1]
        )

    def verify(self, expected: int | None) -> bool | None:
        """Compare with the venue's ``checksum``: True or False, None when it cannot be told."""
        actual = None if expected is None else self.checksum()
        if actual is None:
            self.verified = False
            return None
        self.verified = actual == expected
        return self.verified

    # -- changing -----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the levels: updates are refused until the next snapshot."""
        self._bids.clear()
        self._asks.clear()
        self.synced = False
        self.verified = False

    def load(self, message: BookMessage) -> BookSnapshot:
        """Replace the book with a snapshot message; returns the domain snapshot of the result.

        Raises BookCrossed (leaving the book reset) for a crossed snapshot.
        """
        self.reset()
        bids, asks = self._bids, self._asks
        for price, qty in message.bids:
            bids[price] = qty
        for price, qty in message.asks:
            asks[price] = qty
        self._truncate([], [])
        self._check_crossed()
        self.sequence += 1
        self.synced = True
        return BookSnapshot(
            self.instrument_id,
            tuple(self.bids()),
            tuple(self.asks()),
            self.sequence,
            message.ts_event,
            message.ts_init,
        )

    def apply(self, message: BookMessage) -> BookDelta:
        """Apply an update message in array order, then truncate; returns the domain delta.

        The delta lists the message's levels in order, then a zero size for each level the
        truncation removed, so an OrderBook applying it ends equal to this book. Raises
        BookCrossed (the book then needs a snapshot) if the result is crossed.
        """
        if not self.synced:
            raise ValueError(f"{self.instrument_id} book has no snapshot to apply an update to")
        bids, asks = self._bids, self._asks
        bid_changes = list(message.bids)
        ask_changes = list(message.asks)
        for price, qty in bid_changes:
            if qty:
                bids[price] = qty
            else:
                bids.pop(price, None)
        for price, qty in ask_changes:
            if qty:
                asks[price] = qty
            else:
                asks.pop(price, None)
        self._truncate(bid_changes, ask_changes)
        self._check_crossed()
        self.sequence += 1
        return BookDelta(
            self.instrument_id,
            tuple(bid_changes),
            tuple(ask_changes),
            self.sequence,
            self.sequence,
            message.ts_event,
            message.ts_init,
        )

    def _truncate(self, bid_changes: list[BookLevel], ask_changes: list[BookLevel]) -> None:
        """Cut each side to ``depth`` (the venue sends no deletes for levels out of scope)."""
        depth = self.depth
        bids, asks = self._bids, self._asks
        while len(bids) > depth:
            price, _ = bids.popitem(0)  # the lowest bid is the worst
            bid_changes.append((price, _ZERO))
        while len(asks) > depth:
            price, _ = asks.popitem(-1)  # the highest ask is the worst
            ask_changes.append((price, _ZERO))

    def _check_crossed(self) -> None:
        if self._bids and self._asks:
            best_bid = self._bids.keys()[-1]
            best_ask = self._asks.keys()[0]
            if best_bid >= best_ask:
                self.reset()
                raise BookCrossed(
                    f"{self.instrument_id} book crossed: best bid {best_bid} >= best ask {best_ask}"
                )
