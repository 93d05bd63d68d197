"""In-process cache of the latest quotes and small key/value state."""

from __future__ import annotations

from domain.identifiers import InstrumentId
from domain.market_data import QuoteTick


class InMemoryCache:
    """Latest quote per instrument and string values by key (the Redis cache's fake)."""

    __slots__ = ("_quotes", "_values")

    def __init__(self) -> None:
        self._quotes: dict[InstrumentId, QuoteTick] = {}
        self._values: dict[str, str] = {}

    def set_quote(self, quote: QuoteTick) -> None:
        self._quotes[quote.instrument_id] = quote

    def get_quote(self, instrument_id: InstrumentId) -> QuoteTick | None:
        return self._quotes.get(instrument_id)

    def set(self, key: str, value: str) -> None:
        self._values[key] = value

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def close(self) -> None:
        """Nothing to release."""
