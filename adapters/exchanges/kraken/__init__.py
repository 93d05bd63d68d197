"""Kraken WebSocket v2 market data: pure parsing, the book checksum, local books, the
self-healing ``KrakenMarketDataFeed`` and the ``KrakenInstrumentProvider``.

Instrument ids are ``BASE-QUOTE.KRAKEN`` (``BTC-USD.KRAKEN`` is the pair ``BTC/USD``).
"""

from adapters.exchanges.kraken.books import BookCrossed, KrakenBook
from adapters.exchanges.kraken.checksum import book_checksum, checksum_text, render
from adapters.exchanges.kraken.config import KrakenFeedConfig, instrument_of, pair_of
from adapters.exchanges.kraken.errors import InstrumentLookupError, MalformedMessage, UnknownMessage
from adapters.exchanges.kraken.feed import KrakenMarketDataFeed
from adapters.exchanges.kraken.instruments import KrakenInstrumentProvider
from adapters.exchanges.kraken.parsing import parse_message

__all__ = [
    "BookCrossed",
    "InstrumentLookupError",
    "KrakenBook",
    "KrakenFeedConfig",
    "KrakenInstrumentProvider",
    "KrakenMarketDataFeed",
    "MalformedMessage",
    "UnknownMessage",
    "book_checksum",
    "checksum_text",
    "instrument_of",
    "pair_of",
    "parse_message",
    "render",
]
