"""Kraken v2 book keeping on the server side: the CRC32 checksum of §3.5 of the venue's book
guide, and the book a client holds at its subscribed depth.

A client applies each update in order, deletes ``qty 0`` levels and truncates each side to its
depth; the venue never sends ``qty 0`` for a level that merely fell out of depth. ``DepthBook``
sends exactly what makes the client's truncated book equal the venue's top ``depth`` levels.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal

from adapters.exchanges.simulator.market import BookView

DEPTHS = (10, 25, 100, 500, 1000)
CHECKSUM_LEVELS = 10

Level = tuple[Decimal, Decimal]


def _checksum_text(value: Decimal, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", "").lstrip("0")


def book_checksum(
    asks: Sequence[Level], bids: Sequence[Level], price_precision: int, qty_precision: int
) -> int:
    """CRC32 of the top 10 asks (ascending) then bids (descending) at the pair's fixed precision."""
    parts = [
        _checksum_text(price, price_precision) + _checksum_text(qty, qty_precision)
        for side in (asks[:CHECKSUM_LEVELS], bids[:CHECKSUM_LEVELS])
        for price, qty in side
    ]
    return zlib.crc32("".join(parts).encode("ascii")) & 0xFFFFFFFF


class DepthBook:
    """The book of one symbol as a client subscribed at ``depth`` holds it (best first)."""

    def __init__(self, depth: int, view: BookView) -> None:
        self.depth = depth
        self.bids: dict[Decimal, Decimal] = dict(view.bids[:depth])
        self.asks: dict[Decimal, Decimal] = dict(view.asks[:depth])

    def advance(self, view: BookView) -> tuple[list[Level], list[Level]]:
        """Move to ``view``; return the (bids, asks) levels to send, ``qty 0`` for a deleted level."""
        bids = self._advance(self.bids, view.bids, reverse=True)
        asks = self._advance(self.asks, view.asks, reverse=False)
        return bids, asks

    def _advance(self, held: dict[Decimal, Decimal], full: list[Level], *, reverse: bool) -> list[Level]:
        top = dict(full[: self.depth])
        remaining = {price for price, _ in full}
        changes = [(price, qty) for price, qty in top.items() if held.get(price) != qty]
        # A level still in the venue's book but out of depth is truncated by the client itself.
        changes += [(price, Decimal(0)) for price in held if price not in top and price not in remaining]
        held.clear()
        held.update(top)
        return sorted(changes, reverse=reverse)

    def sides(self) -> tuple[list[Level], list[Level]]:
        """(bids descending, asks ascending)."""
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())
