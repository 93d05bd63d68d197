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


_RENDERED_LIMIT = 65_536
"""Rendered values kept per precision: the top of a book moves through few distinct prices and
sizes, and formatting a Decimal costs several times a dictionary lookup."""
_rendered: dict[int, dict[Decimal, str]] = {}


def render(value: Decimal, places: int) -> str:
    """``value`` at ``places`` decimals without ``.`` nor leading zeros (0.00100000 -> 100000)."""
    return format(value, f".{places}f").replace(".", "").lstrip("0")


def _renderer(places: int) -> dict[Decimal, str]:
    cache = _rendered.get(places)
    if cache is None or len(cache) >= _RENDERED_LIMIT:
        cache = _rendered[places] = {}
    return cache


def checksum_text(
    asks: Iterable[tuple[Decimal, Decimal]],
    bids: Iterable[tuple[Decimal, Decimal]],
    price_precision: int,
    qty_precision: int,
) -> str:
    """The string Kraken hashes; ``asks`` ascending and ``bids`` descending, at most ten of each used.

    Equal values render alike whatever their exponent (0.5 and 0.50 at 2 places are both
    ``50``), so renderings are remembered per precision by value."""
    prices, sizes = _renderer(price_precision), _renderer(qty_precision)
    parts: list[str] = []
    append = parts.append
    for side in (asks, bids):
        for count, (price, qty) in enumerate(side):
            if count == CHECKSUM_LEVELS:
                break
            text = prices.get(price)
            if text is None:
                text = prices[price] = render(price, price_precision)
            append(text)
            text = sizes.get(qty)
            if text is None:
                text = sizes[qty] = render(qty, qty_precision)
            append(text)
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
