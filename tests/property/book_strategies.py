"""Hypothesis strategies for L2 books: a reference market that never crosses and its update stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import strategies as st

from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookLevel, BookSnapshot
from domain.order_book import OrderBook

BTC = InstrumentId("BTCUSDT.BINANCE")
MIN_TICK = 1
MAX_TICK = 60  # a narrow price range, so levels collide and the two sides press on each other
sizes = st.integers(min_value=1, max_value=5_000).map(lambda n: Decimal(n) / 100)


def price(tick: int) -> Decimal:
    """The price of a tick: 0.25 per tick, so prices such as 1.75 and 3 mix scales."""
    return Decimal(tick) / 4


@dataclass
class RefBook:
    """The true book, as plain dicts of tick -> size; every change keeps it uncrossed."""

    bids: dict[int, Decimal] = field(default_factory=dict)
    asks: dict[int, Decimal] = field(default_factory=dict)

    def copy(self) -> RefBook:
        return RefBook(dict(self.bids), dict(self.asks))

    def best_bid(self) -> BookLevel | None:
        if not self.bids:
            return None
        tick = max(self.bids)
        return price(tick), self.bids[tick]

    def best_ask(self) -> BookLevel | None:
        if not self.asks:
            return None
        tick = min(self.asks)
        return price(tick), self.asks[tick]

    def bid_levels(self) -> list[BookLevel]:
        return [(price(t), self.bids[t]) for t in sorted(self.bids, reverse=True)]

    def ask_levels(self) -> list[BookLevel]:
        return [(price(t), self.asks[t]) for t in sorted(self.asks)]

    def snapshot(self, sequence: int) -> BookSnapshot:
        return BookSnapshot.create(
            instrument_id=BTC,
            bids=self.bid_levels(),
            asks=self.ask_levels(),
            sequence=sequence,
            ts_event=sequence,
            ts_init=sequence,
        )


_KINDS = ("bid", "ask", "remove_bid", "remove_ask", "remove_missing")
# One draw per change (kind, position, size), mapped onto what is valid for the current book:
# far cheaper than nested draws of state-dependent strategies, and it still shrinks well
# (towards setting the lowest valid bid).
_CHANGE = st.tuples(st.integers(0, len(_KINDS) - 1), st.integers(0, 2**16), sizes)


def level_change(draw: st.DrawFn, ref: RefBook) -> tuple[str, int, Decimal]:
    """One (side, tick, size) change valid against ``ref``, applied to ``ref`` in place.

    Kinds: set a bid below the best ask, set an ask above the best bid (new level or new
    size), remove an existing level, remove a level that is not there (a venue may send it).
    A kind that does not apply to the current book falls through to the next one.
    """
    wanted, position, size = draw(_CHANGE)
    top_bid = (min(ref.asks) if ref.asks else MAX_TICK + 1) - 1
    low_ask = (max(ref.bids) if ref.bids else MIN_TICK - 1) + 1
    for offset in range(len(_KINDS)):
        kind = _KINDS[(wanted + offset) % len(_KINDS)]
        if kind == "bid" and top_bid >= MIN_TICK:
            tick = MIN_TICK + position % (top_bid - MIN_TICK + 1)
            ref.bids[tick] = size
            return "bids", tick, size
        if kind == "ask" and low_ask <= MAX_TICK:
            tick = low_ask + position % (MAX_TICK - low_ask + 1)
            ref.asks[tick] = size
            return "asks", tick, size
        if kind == "remove_bid" and ref.bids:
            tick = sorted(ref.bids)[position % len(ref.bids)]
            del ref.bids[tick]
            return "bids", tick, Decimal(0)
        if kind == "remove_ask" and ref.asks:
            tick = sorted(ref.asks)[position % len(ref.asks)]
            del ref.asks[tick]
            return "asks", tick, Decimal(0)
        if kind == "remove_missing":
            side, levels = ("bids", ref.bids) if position % 2 == 0 else ("asks", ref.asks)
            missing = [t for t in range(MIN_TICK, MAX_TICK + 1) if t not in levels]
            if missing:
                return side, missing[position // 2 % len(missing)], Decimal(0)
    raise AssertionError("some change always applies")  # a side always has room or a level


@dataclass
class Market:
    """A reference market evolving one update id at a time; remembers its state at every id."""

    ref: RefBook
    sequence: int
    states: dict[int, RefBook]

    @classmethod
    def start(cls, ref: RefBook, sequence: int) -> Market:
        return cls(ref, sequence, {sequence: ref.copy()})

    def state_at(self, sequence: int) -> RefBook:
        return self.states[sequence]


def next_delta(draw: st.DrawFn, market: Market, *, max_span: int = 3, max_changes: int = 4) -> BookDelta:
    """Advance ``market`` by 1..max_span update ids and return the delta covering them.

    Each update id gets 0..max_changes changes; the delta lists them all in order (a level may
    appear twice: the last wins), exactly as a venue's diff event that merged several ids.
    """
    span = draw(st.integers(1, max_span))
    first = market.sequence + 1
    bids: list[BookLevel] = []
    asks: list[BookLevel] = []
    for update_id in range(first, first + span):
        for _ in range(draw(st.integers(0, max_changes))):
            side, tick, size = level_change(draw, market.ref)
            (bids if side == "bids" else asks).append((price(tick), size))
        market.states[update_id] = market.ref.copy()
    market.sequence = first + span - 1
    return BookDelta.create(
        instrument_id=BTC,
        bids=bids,
        asks=asks,
        first_sequence=first,
        last_sequence=market.sequence,
        ts_event=market.sequence,
        ts_init=market.sequence,
    )


@st.composite
def market_deltas(draw: st.DrawFn, market: Market) -> BookDelta:
    """Strategy form of :func:`next_delta` (one ``data.draw`` per delta in stateful tests,
    instead of one per primitive: each ``data.draw`` also pretty-prints a note)."""
    return next_delta(draw, market)


@st.composite
def markets(draw: st.DrawFn, *, max_initial_changes: int = 12) -> Market:
    """A market at a random starting update id with a random (uncrossed) book."""
    ref = RefBook()
    for _ in range(draw(st.integers(0, max_initial_changes))):
        level_change(draw, ref)
    return Market.start(ref, draw(st.integers(0, 10**9)))


@dataclass
class Stream:
    """A consistent feed: the market's start state as a snapshot, then contiguous deltas."""

    market: Market
    start: int
    deltas: list[BookDelta]

    def snapshot_at(self, sequence: int) -> BookSnapshot:
        return self.market.state_at(sequence).snapshot(sequence)


@st.composite
def streams(draw: st.DrawFn, *, min_deltas: int = 1, max_deltas: int = 15) -> Stream:
    """A consistent stream of ``min_deltas..max_deltas`` deltas from a random market."""
    market = draw(markets())
    start = market.sequence
    count = draw(st.integers(min_deltas, max_deltas))
    deltas = [next_delta(draw, market) for _ in range(count)]
    return Stream(market, start, deltas)


def assert_book_matches(book: OrderBook, ref: RefBook) -> None:
    """The book holds exactly the reference levels, and its derived reads agree."""
    assert book.bids() == ref.bid_levels()
    assert book.asks() == ref.ask_levels()
    assert book.best_bid() == ref.best_bid()
    assert book.best_ask() == ref.best_ask()
    assert book.bid_count == len(ref.bids)
    assert book.ask_count == len(ref.asks)
    assert book.level_count == len(ref.bids) + len(ref.asks)
    assert_not_crossed(book)
    best_bid, best_ask = ref.best_bid(), ref.best_ask()
    if best_bid is None or best_ask is None:
        assert book.mid() is None
        assert book.spread() is None
    else:
        assert book.mid() == (best_bid[0] + best_ask[0]) / 2
        assert book.spread() == best_ask[0] - best_bid[0]


def assert_not_crossed(book: OrderBook) -> None:
    best_bid, best_ask = book.best_bid(), book.best_ask()
    if best_bid is not None and best_ask is not None:
        assert best_bid[0] < best_ask[0]
        spread = book.spread()
        assert spread is not None
        assert spread > 0
