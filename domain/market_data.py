"""Normalized market data: trades, best bid/ask quotes, book snapshots and deltas, bars.

These are the highest-volume objects in the engine, so they are ``NamedTuple``s: immutable
and, measured on CPython 3.11, less than half the construction cost of a frozen dataclass
(~0.5 µs against ~1.2 µs). ``create`` validates untrusted input and is what adapters call;
the plain constructor is for data already validated (replays of the engine's own store).

Every event carries ``ts_event`` (when it happened at the venue) and ``ts_init`` (when the
engine saw it), both integer nanoseconds since the Unix epoch.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.values import AggressorSide, non_negative, positive

BookLevel = tuple[Decimal, Decimal]
"""One price level: (price, size)."""


def _timestamp(value: object, field: str) -> int:
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue(field, value, "must be a non-negative integer of nanoseconds")
    return value


def _aggressor(value: object) -> AggressorSide:
    # Only the enum's own integers: AggressorSide(0.0) or AggressorSide(True) would pass.
    if type(value) is not int or value not in (-1, 0, 1):
        raise InvalidValue("aggressor", value, "must be an AggressorSide (NONE, BUYER or SELLER)")
    return AggressorSide(value)


def _trade_id(value: object) -> str:
    # Venues send trade ids as strings or integers (Binance "t"); anything else is a bug.
    if (type(value) is not str and type(value) is not int) or value == "":
        raise InvalidValue("trade_id", value, "must be a non-empty string or an integer")
    return str(value)


def _levels(raw: Iterable[tuple[object, object]], side: str, *, allow_zero: bool) -> tuple[BookLevel, ...]:
    levels = []
    for index, level in enumerate(raw):
        try:
            price_raw, size_raw = level
        except (TypeError, ValueError):
            raise InvalidValue(f"{side}[{index}]", level, "must be a [price, size] pair") from None
        price = positive(price_raw, f"{side}[{index}].price")
        size = (
            non_negative(size_raw, f"{side}[{index}].size")
            if allow_zero
            else positive(size_raw, f"{side}[{index}].size")
        )
        levels.append((price, size))
    return tuple(levels)


def _book(
    bids: Iterable[tuple[object, object]],
    asks: Iterable[tuple[object, object]],
    ts_event: object,
    ts_init: object,
    *,
    allow_zero: bool,
) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...], int, int]:
    """What a snapshot and a delta validate alike: both sides' levels, then both timestamps."""
    return (
        _levels(bids, "bids", allow_zero=allow_zero),
        _levels(asks, "asks", allow_zero=allow_zero),
        _timestamp(ts_event, "ts_event"),
        _timestamp(ts_init, "ts_init"),
    )


class TradeTick(NamedTuple):
    """A public trade: price, size, which side was the aggressor, the venue's trade id."""

    instrument_id: InstrumentId
    price: Decimal
    size: Decimal
    aggressor: AggressorSide
    trade_id: str
    ts_event: int
    ts_init: int

    @classmethod
    def create(
        cls,
        *,
        instrument_id: InstrumentId,
        price: object,
        size: object,
        aggressor: AggressorSide = AggressorSide.NONE,
        trade_id: str,
        ts_event: int,
        ts_init: int,
    ) -> TradeTick:
        """Validated construction; raises InvalidValue naming the bad field."""
        return cls(
            instrument_id,
            positive(price, "price"),
            positive(size, "size"),
            aggressor if type(aggressor) is AggressorSide else _aggressor(aggressor),
            trade_id if type(trade_id) is str and trade_id else _trade_id(trade_id),
            _timestamp(ts_event, "ts_event"),
            _timestamp(ts_init, "ts_init"),
        )


class QuoteTick(NamedTuple):
    """Best bid and ask with their sizes (Binance bookTicker, Kraken ticker bbo)."""

    instrument_id: InstrumentId
    bid_price: Decimal
    bid_size: Decimal
    ask_price: Decimal
    ask_size: Decimal
    ts_event: int
    ts_init: int

    @classmethod
    def create(
        cls,
        *,
        instrument_id: InstrumentId,
        bid_price: object,
        bid_size: object,
        ask_price: object,
        ask_size: object,
        ts_event: int,
        ts_init: int,
    ) -> QuoteTick:
        """Validated construction; a bid above the ask is refused as inconsistent."""
        bid = positive(bid_price, "bid_price")
        ask = positive(ask_price, "ask_price")
        if bid > ask:
            raise InvalidValue("bid_price", bid_price, f"must not be above ask_price {ask}")
        return cls(
            instrument_id,
            bid,
            non_negative(bid_size, "bid_size"),
            ask,
            non_negative(ask_size, "ask_size"),
            _timestamp(ts_event, "ts_event"),
            _timestamp(ts_init, "ts_init"),
        )

    @property
    def mid(self) -> Decimal:
        return (self.bid_price + self.ask_price) / 2


class BookSnapshot(NamedTuple):
    """A full L2 book: bids best (highest) first, asks best (lowest) first, at update id ``sequence``."""

    instrument_id: InstrumentId
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    sequence: int
    ts_event: int
    ts_init: int

    @classmethod
    def create(
        cls,
        *,
        instrument_id: InstrumentId,
        bids: Iterable[tuple[object, object]],
        asks: Iterable[tuple[object, object]],
        sequence: int,
        ts_event: int,
        ts_init: int,
    ) -> BookSnapshot:
        """Validated construction: positive prices and sizes, levels sorted, not crossed."""
        bid_levels, ask_levels, event, init = _book(bids, asks, ts_event, ts_init, allow_zero=False)
        bid_levels = tuple(sorted(bid_levels, key=lambda lvl: lvl[0], reverse=True))
        ask_levels = tuple(sorted(ask_levels, key=lambda lvl: lvl[0]))
        for side, levels in (("bids", bid_levels), ("asks", ask_levels)):
            prices = [price for price, _ in levels]
            if len(set(prices)) != len(prices):
                raise InvalidValue(side, prices, "must not repeat a price level")
        if bid_levels and ask_levels and bid_levels[0][0] >= ask_levels[0][0]:
            raise InvalidValue(
                "bids", bid_levels[0][0], f"best bid must be below best ask {ask_levels[0][0]}"
            )
        return cls(instrument_id, bid_levels, ask_levels, _timestamp(sequence, "sequence"), event, init)


class BookDelta(NamedTuple):
    """Absolute level changes covering update ids ``first_sequence..last_sequence``.

    A size of zero removes the level. Mirrors Binance's diff-depth event (``U``/``u``); a
    venue with a single sequence number per message uses it for both ends.
    """

    instrument_id: InstrumentId
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    first_sequence: int
    last_sequence: int
    ts_event: int
    ts_init: int

    @classmethod
    def create(
        cls,
        *,
        instrument_id: InstrumentId,
        bids: Iterable[tuple[object, object]],
        asks: Iterable[tuple[object, object]],
        first_sequence: int,
        last_sequence: int,
        ts_event: int,
        ts_init: int,
    ) -> BookDelta:
        """Validated construction; ``first_sequence`` must not exceed ``last_sequence``."""
        first = _timestamp(first_sequence, "first_sequence")
        last = _timestamp(last_sequence, "last_sequence")
        if first > last:
            raise InvalidValue("first_sequence", first, f"must not exceed last_sequence {last}")
        bid_levels, ask_levels, event, init = _book(bids, asks, ts_event, ts_init, allow_zero=True)
        return cls(instrument_id, bid_levels, ask_levels, first, last, event, init)


class Bar(NamedTuple):
    """An OHLCV bar; ``ts_event`` is the bar's close time, ``interval_ns`` its length."""

    instrument_id: InstrumentId
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    interval_ns: int
    ts_event: int
    ts_init: int

    @classmethod
    def create(
        cls,
        *,
        instrument_id: InstrumentId,
        open: object,
        high: object,
        low: object,
        close: object,
        volume: object,
        interval_ns: int,
        ts_event: int,
        ts_init: int,
    ) -> Bar:
        """Validated construction: low <= open, close <= high; positive interval."""
        o, h = positive(open, "open"), positive(high, "high")
        lo, c = positive(low, "low"), positive(close, "close")
        if lo > min(o, c) or h < max(o, c):
            raise InvalidValue("high/low", (h, lo), f"must bound open {o} and close {c}")
        interval = _timestamp(interval_ns, "interval_ns")
        if interval == 0:
            raise InvalidValue("interval_ns", interval_ns, "must be greater than zero")
        return cls(
            instrument_id,
            o,
            h,
            lo,
            c,
            non_negative(volume, "volume"),
            interval,
            _timestamp(ts_event, "ts_event"),
            _timestamp(ts_init, "ts_init"),
        )


class BookInvalidated(NamedTuple):
    """The feed lost the book's thread (a sequence gap, a disconnect): any local copy is stale
    until the next BookSnapshot. Consumers mark their book out of sync instead of trading on it."""

    instrument_id: InstrumentId
    reason: str
    ts_event: int
    ts_init: int


MarketEvent = TradeTick | QuoteTick | BookSnapshot | BookDelta | BookInvalidated | Bar
"""Any normalized market-data event."""
