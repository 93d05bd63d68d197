"""The Kraken v2 book checksum: CRC32 of the top ten levels rendered at the pair's fixed precision.

Kraken sends prices and quantities as JSON numbers, so their text does not survive: the
checksum is computed over each value rendered with the pair's ``price_precision`` /
``qty_precision`` decimal places (trailing zeros kept), the ``.`` removed and leading zeros
stripped. Asks come first, best (lowest) first, then bids best (highest) first.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from decimal import Decimal

CHECKSUM_LEVELS = 10
"""Levels per side the checksum covers, whatever the subscribed depth."""


def render(value: Decimal, places: int) -> str:
    """``value`` at ``places`` decimals without ``.`` nor leading zeros (0.00100000 -> 100000)."""
    return format(value, f".{places}f").replace(".", "").lstrip("0")


def checksum_text(
    asks: Iterable[tuple[Decimal, Decimal]],
    bids: Iterable[tuple[Decimal, Decimal]],
    price_precision: int,
    qty_precision: int,
) -> str:
    """The string Kraken hashes; ``asks`` ascending and ``bids`` descending, at most ten of each used."""
    parts: list[str] = []
    for side in (asks, bids):
        for count, (price, qty) in enumerate(side):
            if count == CHECKSUM_LEVELS:
                break
            parts.append(render(price, price_precision))
            parts.append(render(qty, qty_precision))
    return "".join(parts)


def book_checksum(
    asks: Iterable[tuple[Decimal, Decimal]],
    bids: Iterable[tuple[Decimal, Decimal]],
    price_precision: int,
    qty_precision: int,
) -> int:
    """CRC32 (unsigned) of :func:`checksum_text`: what the venue's ``checksum`` field must equal."""
    text = checksum_text(asks, bids, price_precision, qty_precision)
    return zlib.crc32(text.encode("ascii")) & 0xFFFFFFFF
