"""Prices as exact decimals, remembered: a market repeats the same few hundred price strings, and
reading one from a dict is several times cheaper than building and checking a Decimal."""

from __future__ import annotations

from decimal import Decimal

from domain.values import positive


class PriceCache:
    """``positive(text, field)``: the checked positive Decimal of a price string, cached.

    A value that is not a string is checked every time (never cached); the cache is emptied
    when it reaches ``limit`` entries, so a drifting market cannot grow it without bound.
    """

    __slots__ = ("_limit", "_values")

    def __init__(self, limit: int = 4096) -> None:
        self._values: dict[str, Decimal] = {}
        self._limit = limit

    def positive(self, text: object, field: str) -> Decimal:
        """Raises InvalidValue naming ``field`` for anything but a positive finite decimal."""
        values = self._values
        if type(text) is str:
            value = values.get(text)
            if value is not None:
                return value
        value = positive(text, field)
        if type(text) is str:
            if len(values) >= self._limit:
                values.clear()
            values[text] = value
        return value

    def __len__(self) -> int:
        return len(self._values)
