"""Venue symbols (``BTC-USD``, ``BTC/USD``) mapped onto the simulated market's own (``BTCUSDT``),
and the decimal renderings the venues use.

Every dialect serves the same seeded random walk: a venue symbol maps to the Binance-style
internal symbol whose generator and start price it shares (``BTC-USD`` and ``BTC/USD`` walk
exactly like ``BTCUSDT``: quote ``USD`` is read as ``USDT``; any other quote is kept).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

_ASSET = re.compile(r"[A-Z0-9]{1,16}")


class VenueSymbol(NamedTuple):
    """A venue's symbol, its two assets, and the internal symbol it walks like."""

    venue: str
    base: str
    quote: str
    internal: str


def parse_venue_symbols(symbols: Iterable[str], separator: str) -> tuple[VenueSymbol, ...]:
    """``("BTC-USD",)`` with ``separator="-"`` -> the venue symbols; ValueError names a bad one."""
    parsed: list[VenueSymbol] = []
    for symbol in symbols:
        base, sep, quote = symbol.partition(separator)
        if not sep or not _ASSET.fullmatch(base) or not _ASSET.fullmatch(quote):
            raise ValueError(
                f"symbol must be BASE{separator}QUOTE in capitals, like BTC{separator}USD (was {symbol!r})"
            )
        internal = base + ("USDT" if quote == "USD" else quote)
        parsed.append(VenueSymbol(symbol, base, quote, internal))
    if not parsed:
        raise ValueError("at least one symbol is needed")
    for field, name in ((0, "symbols"), (3, "internal market symbols")):
        seen = [entry[field] for entry in parsed]
        if len(set(seen)) != len(seen):
            raise ValueError(f"{name} must be distinct, was {seen}")
    return tuple(parsed)


def from_binance_style(symbol: str, separator: str) -> str:
    """``BTCUSDT`` -> ``BTC-USD`` (or ``BTC/USD``): the venue form of a Binance-style symbol."""
    for quote, venue_quote in (
        ("USDT", "USD"),
        ("USDC", "USDC"),
        ("USD", "USD"),
        ("EUR", "EUR"),
        ("BTC", "BTC"),
    ):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return f"{symbol[: -len(quote)]}{separator}{venue_quote}"
    raise ValueError(f"cannot tell the quote asset of {symbol!r} (known: USDT, USDC, USD, EUR, BTC)")


def places(step: Decimal) -> int:
    """Decimal places of a tick or lot: ``0.01`` -> 2, ``1`` -> 0."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fixed(value: Decimal, decimals: int) -> str:
    """``value`` with exactly ``decimals`` places: ``fixed(Decimal("30000"), 2) == "30000.00"``."""
    return f"{value:.{decimals}f}"


def shortest(value: Decimal) -> str:
    """``value`` as a float would print it: ``30000.1``, ``0.5``, ``30000.0`` (no exponent)."""
    text = f"{value.normalize():f}"
    return text if "." in text else f"{text}.0"
