"""Coinbase Advanced Trade channel names and the messages parsing yields besides domain events."""

from __future__ import annotations

from typing import NamedTuple

from domain.identifiers import InstrumentId
from domain.market_data import BookLevel, QuoteTick, TradeTick

VENUE = "COINBASE"

LEVEL2 = "level2"
MARKET_TRADES = "market_trades"
TICKER = "ticker"
HEARTBEATS = "heartbeats"
SUPPORTED_CHANNELS = (LEVEL2, MARKET_TRADES, TICKER)
"""Channels a feed may subscribe per product; ``heartbeats`` is always added, without products."""

L2_DATA = "l2_data"
"""Level2 messages arrive on this channel name, not on ``level2``."""
SUBSCRIPTIONS = "subscriptions"
ERROR = "error"

MAX_MESSAGES_PER_SECOND = 8
"""The venue's limit on unauthenticated messages a client sends per second (per IP)."""
SUBSCRIBE_DEADLINE_S = 5.0
"""The venue disconnects a client that has not subscribed this long after connecting."""


def instrument_id_of(product_id: str) -> InstrumentId:
    """``BTC-USD`` -> ``BTC-USD.COINBASE``; raises InvalidValue for a product id that is not a symbol."""
    return InstrumentId(f"{product_id}.{VENUE}")


class BookMessage(NamedTuple):
    """One ``l2_data`` event: a product's full book (``snapshot``) or absolute level changes.

    Levels keep the venue's order; sizes are absolute (zero removes the level in an update).
    """

    instrument_id: InstrumentId
    snapshot: bool
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    ts_event: int


class Trades(NamedTuple):
    """One ``market_trades`` event: the trades of a snapshot (recent history) or of an update."""

    snapshot: bool
    ticks: tuple[TradeTick, ...]


class Quotes(NamedTuple):
    """One ``ticker`` event's usable best bid/ask quotes (tickers without both sides are left out)."""

    ticks: tuple[QuoteTick, ...]
    skipped: int
    """Tickers without a usable best bid and ask (a side missing or crossed)."""


class Heartbeat(NamedTuple):
    """One ``heartbeats`` event; ``counter`` lets a reader see heartbeats it missed."""

    counter: int


class Subscriptions(NamedTuple):
    """The venue's answer to (un)subscribe: what this connection is now subscribed to."""

    channels: dict[str, tuple[str, ...]]


class VenueError(NamedTuple):
    """An ``error`` message: the venue refused a request (a bad subscribe, say)."""

    message: str


Event = BookMessage | Trades | Quotes | Heartbeat | Subscriptions | VenueError


class Message(NamedTuple):
    """One frame: its channel, the connection's ``sequence_num`` (None if it had none) and the
    events parsed from it (each with its ``ts_event``).

    A channel this adapter does not read yields no events and ``known`` False: the feed still
    follows its sequence number (the counter spans every channel of a connection).
    """

    channel: str
    sequence: int | None
    events: tuple[Event, ...]
    known: bool = True
    ignored: int = 0
    """Events of unknown ``type`` inside a known channel, skipped."""
