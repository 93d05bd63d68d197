"""Pure parsing of Coinbase Advanced Trade market-data frames (no I/O, no clock).

Every frame is an envelope ``{channel, timestamp, sequence_num, events: [...]}``; each
channel's events become domain events (TradeTick, QuoteTick) or adapter messages
(BookMessage, Heartbeat...), see :mod:`adapters.exchanges.coinbase.schemas`. Prices and
sizes are decimal strings and stay exact. Anything unusable raises :class:`MalformedFrame`,
never another exception, so a feed can count it and carry on; a channel this adapter does
not read is not an error (the venue adds channels and fields at will): its message comes
back with ``known`` False.

Timestamps are RFC 3339 with up to nanoseconds and become integer ns since the epoch. A
trade's ``ts_event`` is its ``time``; a book update's is its entries' latest ``event_time``,
unless that is the epoch placeholder snapshots carry, then the envelope ``timestamp``; a
ticker's is the envelope ``timestamp``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from adapters.exchanges.coinbase.errors import MalformedFrame
from adapters.exchanges.coinbase.schemas import (
    ERROR,
    HEARTBEATS,
    L2_DATA,
    MARKET_TRADES,
    SUBSCRIPTIONS,
    TICKER,
    BookMessage,
    Event,
    Heartbeat,
    Message,
    Quotes,
    Subscriptions,
    Trades,
    VenueError,
    instrument_id_of,
)
from adapters.exchanges.streaming.prices import PriceCache
from adapters.exchanges.streaming.timestamps import rfc3339_ns
from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.market_data import BookLevel, QuoteTick, TradeTick
from domain.values import AggressorSide, non_negative, positive

_CACHE_LIMIT = 4096
"""Bound of every cache here: frames are untrusted, caches must not grow forever."""

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
_TradeTick = TradeTick
_QuoteTick = QuoteTick
_positive = positive
_non_negative = non_negative
_BUYER = AggressorSide.BUYER
_SELLER = AggressorSide.SELLER


def _envelope_ns(stamp: object, ts_init: int) -> int:
    """The envelope ``timestamp`` (read only where used: it costs a parse per frame); without
    one (never seen) the receive time stands in for it."""
    return ts_init if stamp is None else _timestamp(stamp, "timestamp", stamp)


def _timestamp(text: object, field: str, payload: object) -> int:
    try:
        return rfc3339_ns(text)
    except ValueError as exc:
        raise MalformedFrame(f"{field}: {exc}", payload) from None


# -- values -------------------------------------------------------------------------------

_instruments: dict[str, InstrumentId] = {}
_price = PriceCache().positive
"""Price text -> its validated Decimal: a book moves around a few hundred prices at a time."""


def instrument_for(product_id: object) -> InstrumentId:
    """``BTC-USD`` -> ``InstrumentId("BTC-USD.COINBASE")`` (cached); MalformedFrame otherwise."""
    if type(product_id) is str:
        cached = _instruments.get(product_id)
        if cached is not None:
            return cached
    if type(product_id) is not str or not product_id:
        raise MalformedFrame("product_id must be a non-empty string", product_id)
    try:
        instrument_id = instrument_id_of(product_id)
    except InvalidValue as exc:
        raise MalformedFrame(f"product_id is not valid: {exc.problem}", product_id) from None
    if len(_instruments) < _CACHE_LIMIT:
        _instruments[product_id] = instrument_id
    return instrument_id


def _list(value: object, field: str, payload: object) -> list[Any]:
    if type(value) is not list:
        raise MalformedFrame(f"{field} must be a list", payload)
    return value


def _object(value: object, field: str, payload: object) -> dict[str, Any]:
    if type(value) is not dict:
        raise MalformedFrame(f"{field} must be a JSON object", payload)
    return value


def _event_type(event: dict[str, Any]) -> bool:
    """True for a ``snapshot`` event, False for an ``update``; MalformedFrame otherwise."""
    kind = event.get("type")
    if kind == "update":
        return False
    if kind == "snapshot":
        return True
    raise MalformedFrame("event type must be snapshot or update", kind)


# -- channels -----------------------------------------------------------------------------


def parse_book_event(event: dict[str, Any], stamp: object, ts_init: int) -> BookMessage:
    """One ``l2_data`` event -> BookMessage (levels in the venue's order, sizes absolute)."""
    snapshot = _event_type(event)
    try:
        product_id = event["product_id"]
        updates = event["updates"]
    except KeyError as exc:
        raise MalformedFrame(f"l2_data event is missing field {exc.args[0]!r}", event) from None
    instrument_id = _instruments.get(product_id) if type(product_id) is str else None
    if instrument_id is None:
        instrument_id = instrument_for(product_id)
    bids: list[BookLevel] = []
    asks: list[BookLevel] = []
    latest = 0
    last_time: object = None
    try:
        for update in _list(updates, "l2_data updates", event):
            if type(update) is not dict:
                raise MalformedFrame("an l2_data update must be a JSON object", update)
            try:
                side = update["side"]
                price = update["price_level"]
                size = update["new_quantity"]
                event_time = update["event_time"]
            except KeyError as exc:
                raise MalformedFrame(f"l2_data update is missing field {exc.args[0]!r}", update) from None
            level = (_price(price, "price_level"), _non_negative(size, "new_quantity"))
            # The venue's examples show ``bid``; the ask side is ``offer``, ``ask`` is accepted too.
            if side == "bid":
                bids.append(level)
            elif side == "offer" or side == "ask":  # noqa: PLR1714 (side may be unhashable)
                asks.append(level)
            else:
                raise MalformedFrame("l2_data side must be bid, offer or ask", update)
            if event_time is not last_time and event_time != last_time:
                last_time = event_time
                when = _timestamp(event_time, "l2_data event_time", update)
                latest = max(latest, when)
    except InvalidValue as exc:
        raise MalformedFrame(f"l2_data {exc}", event) from None
    ts_event = latest or _envelope_ns(stamp, ts_init)
    return BookMessage(instrument_id, snapshot, tuple(bids), tuple(asks), ts_event)


def _aggressor(side: object, side_is_maker: bool, trade: object) -> AggressorSide:
    if side == "BUY":
        return _SELLER if side_is_maker else _BUYER
    if side == "SELL":
        return _BUYER if side_is_maker else _SELLER
    raise MalformedFrame("trade side must be BUY or SELL", trade)


def parse_trades_event(event: dict[str, Any], ts_init: int, side_is_maker: bool) -> Trades:
    """One ``market_trades`` event -> Trades; ``side_is_maker``: ``side`` is the maker's."""
    snapshot = _event_type(event)
    ticks: list[TradeTick] = []
    for trade in _list(event.get("trades"), "market_trades trades", event):
        if type(trade) is not dict:
            raise MalformedFrame("a trade must be a JSON object", trade)
        try:
            trade_id = trade["trade_id"]
            product_id = trade["product_id"]
            price = trade["price"]
            size = trade["size"]
            side = trade["side"]
            time = trade["time"]
        except KeyError as exc:
            raise MalformedFrame(f"trade is missing field {exc.args[0]!r}", trade) from None
        if type(trade_id) is int and trade_id >= 0:
            trade_id = str(trade_id)
        elif type(trade_id) is not str or not trade_id or len(trade_id) > 64:
            raise MalformedFrame("trade_id must be a non-empty string", trade)
        instrument_id = _instruments.get(product_id) if type(product_id) is str else None
        try:
            ticks.append(
                _TradeTick(
                    instrument_id if instrument_id is not None else instrument_for(product_id),
                    _price(price, "price"),
                    _positive(size, "size"),
                    _aggressor(side, side_is_maker, trade),
                    trade_id,
                    _timestamp(time, "trade time", trade),
                    ts_init,
                )
            )
        except InvalidValue as exc:
            raise MalformedFrame(f"trade {exc}", trade) from None
    return Trades(snapshot, tuple(ticks))


def _side_price(ticker: dict[str, Any], field: str) -> Decimal | None:
    """A best bid/ask price, or None when the venue leaves the side out (absent, null, "" or 0)."""
    text = ticker.get(field)
    if text is None or text == "":
        return None
    value = _non_negative(text, field)
    return value if value else None


def parse_ticker_event(event: dict[str, Any], stamp: object, ts_init: int) -> Quotes:
    """One ``ticker`` event -> its tickers' best bid/ask as QuoteTicks (``ts_event``: envelope).

    A ticker without both sides (or with its bid above its ask) gives no quote: it still
    carries the last price, just not a usable top of book.
    """
    _event_type(event)
    envelope_ns = _envelope_ns(stamp, ts_init)
    ticks: list[QuoteTick] = []
    skipped = 0
    for ticker in _list(event.get("tickers"), "ticker tickers", event):
        if type(ticker) is not dict:
            raise MalformedFrame("a ticker must be a JSON object", ticker)
        instrument_id = instrument_for(ticker.get("product_id"))
        try:
            bid = _side_price(ticker, "best_bid")
            ask = _side_price(ticker, "best_ask")
            bid_text = ticker.get("best_bid_quantity")
            ask_text = ticker.get("best_ask_quantity")
            if bid is None or ask is None or bid_text in (None, "") or ask_text in (None, "") or bid > ask:
                skipped += 1
                continue
            ticks.append(
                _QuoteTick(
                    instrument_id,
                    bid,
                    _non_negative(bid_text, "best_bid_quantity"),
                    ask,
                    _non_negative(ask_text, "best_ask_quantity"),
                    envelope_ns,
                    ts_init,
                )
            )
        except InvalidValue as exc:
            raise MalformedFrame(f"ticker {exc}", ticker) from None
    return Quotes(tuple(ticks), skipped)


def parse_heartbeat_event(event: dict[str, Any]) -> Heartbeat:
    """One ``heartbeats`` event; ``heartbeat_counter`` comes as a string or an integer."""
    counter = event.get("heartbeat_counter")
    if type(counter) is str and 0 < len(counter) <= 20 and counter.isdigit() and counter.isascii():
        return Heartbeat(int(counter))
    if type(counter) is int and counter >= 0:
        return Heartbeat(counter)
    raise MalformedFrame("heartbeat_counter must be a non-negative integer or its digits", event)


def parse_subscriptions_event(event: dict[str, Any]) -> Subscriptions:
    """One ``subscriptions`` event: channel -> product ids now subscribed."""
    channels = _object(event.get("subscriptions"), "subscriptions", event)
    result: dict[str, tuple[str, ...]] = {}
    for channel, products in channels.items():
        listed = [] if products is None else products
        if type(listed) is not list or not all(type(p) is str for p in listed):
            raise MalformedFrame(f"subscriptions of {channel!r} must be a list of product ids", event)
        result[channel] = tuple(listed)
    return Subscriptions(result)


# -- frames -------------------------------------------------------------------------------


def _sequence(message: dict[str, Any]) -> int | None:
    sequence = message.get("sequence_num")
    return sequence if type(sequence) is int and sequence >= 0 else None


def parse_message(
    message: dict[str, Any], ts_init: int, *, trade_side_is_maker: bool = True, raw: object = None
) -> Message:
    """A decoded frame -> Message; see :func:`parse_frame`."""
    if raw is None:
        raw = message
    channel = message.get("channel")
    if channel is None:
        kind = message.get("type")
        if kind == ERROR:
            text = message.get("message", message.get("reason", ""))
            return Message(ERROR, None, (VenueError(str(text)[:500]),))
        if type(kind) is str and kind:  # a message type of its own this adapter does not know
            return Message(kind, _sequence(message), (), known=False)
    if type(channel) is not str or not channel:
        raise MalformedFrame("channel must be a non-empty string", raw)
    parser = _CHANNELS.get(channel)
    if parser is None:  # the venue adds channels at will; their sequence numbers still count
        return Message(channel, _sequence(message), (), known=False)
    sequence = _sequence(message)
    if sequence is None:
        raise MalformedFrame("sequence_num must be a non-negative integer", raw, channel=channel)
    try:
        stamp = message.get("timestamp")
        events = _list(message.get("events"), "events", raw)
        parsed: list[Event] = []
        ignored = 0
        for event in events:
            if type(event) is not dict:
                raise MalformedFrame(f"an event of {channel} must be a JSON object", event)
            result = parser(event, stamp, ts_init, trade_side_is_maker)
            if result is None:
                ignored += 1
            else:
                parsed.append(result)
    except MalformedFrame as exc:
        exc.channel = channel
        exc.sequence = sequence
        raise
    return Message(channel, sequence, tuple(parsed), True, ignored)


def parse_frame(raw: bytes | str, ts_init: int, *, trade_side_is_maker: bool = True) -> Message:
    """One WebSocket frame -> Message; raises MalformedFrame for anything unusable.

    ``trade_side_is_maker``: read a trade's ``side`` as the maker's (the venue's documented
    meaning: the aggressor is the other side) or, when False, as the taker's.
    """
    try:
        message = _loads(raw)
    except _JSONDecodeError:
        raise MalformedFrame("frame is not JSON", raw) from None
    if type(message) is not dict:
        raise MalformedFrame("frame is not a JSON object", raw)
    return parse_message(message, ts_init, trade_side_is_maker=trade_side_is_maker, raw=raw)


def _known_type(event: dict[str, Any]) -> bool:
    """True for a snapshot/update event, False for a ``type`` this adapter does not know."""
    return event.get("type") in ("snapshot", "update")


def _book(event: dict[str, Any], stamp: object, ts_init: int, _maker: bool) -> Event | None:
    return parse_book_event(event, stamp, ts_init) if _known_type(event) else None


def _trades(event: dict[str, Any], _stamp: object, ts_init: int, maker: bool) -> Event | None:
    return parse_trades_event(event, ts_init, maker) if _known_type(event) else None


def _tickers(event: dict[str, Any], stamp: object, ts_init: int, _maker: bool) -> Event | None:
    return parse_ticker_event(event, stamp, ts_init) if _known_type(event) else None


def _heartbeat(event: dict[str, Any], _stamp: object, _ts_init: int, _maker: bool) -> Event | None:
    return parse_heartbeat_event(event)


def _subscriptions(event: dict[str, Any], _stamp: object, _ts_init: int, _maker: bool) -> Event | None:
    return parse_subscriptions_event(event)


_CHANNELS: dict[str, Callable[[dict[str, Any], object, int, bool], Event | None]] = {
    L2_DATA: _book,
    MARKET_TRADES: _trades,
    TICKER: _tickers,
    HEARTBEATS: _heartbeat,
    SUBSCRIPTIONS: _subscriptions,
}
