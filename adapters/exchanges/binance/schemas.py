"""Binance stream names and the adapter-level messages parsing yields besides domain events."""

from __future__ import annotations

from typing import NamedTuple

from domain.market_data import BookDelta, QuoteTick, TradeTick

VENUE = "BINANCE"

TRADE = "trade"
BOOK_TICKER = "bookTicker"
DEPTH = "depth"
DEPTH_100MS = "depth@100ms"
SUPPORTED_STREAMS = (TRADE, BOOK_TICKER, DEPTH, DEPTH_100MS)
"""Stream kinds the parser understands (the part of a stream name after ``<symbol>@``)."""

SERVER_SHUTDOWN_STREAM = "!serverShutdown"

MAX_STREAMS_PER_CONNECTION = 1024
MAX_INCOMING_MESSAGES_PER_SECOND = 5
"""Venue limit on messages a client sends per connection (pings, pongs and JSON requests)."""


def stream_name(symbol: str, kind: str) -> str:
    """``btcusdt@trade``: stream names are the lower-case symbol, ``@`` and the kind."""
    return f"{symbol.lower()}@{kind}"


class BookTicker(NamedTuple):
    """A bookTicker update: the quote plus the order-book update id ``u`` (for de-duplication)."""

    quote: QuoteTick
    update_id: int


class ServerShutdown(NamedTuple):
    """The venue announced this connection's server is going down: open a new one now."""

    ts_event: int
    ts_init: int


class ControlResponse(NamedTuple):
    """The answer to a SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS request.

    ``error_code`` is None on success; ``result`` is None for (un)subscribe and the stream
    list for LIST_SUBSCRIPTIONS.
    """

    request_id: int | str | None
    result: object
    error_code: int | None = None
    error_message: str = ""


ParsedFrame = TradeTick | BookTicker | BookDelta | ServerShutdown | ControlResponse
"""Anything :func:`~adapters.exchanges.binance.parsing.parse_frame` returns."""
