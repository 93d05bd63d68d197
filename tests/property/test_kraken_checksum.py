"""Kraken book checksum properties: a book built from random updates verifies against its own
checksum once rendered at its precision, and changing any one of its top levels breaks it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.kraken.books import BookCrossed, KrakenBook
from adapters.exchanges.kraken.checksum import CHECKSUM_LEVELS, book_checksum
from adapters.exchanges.kraken.parsing import BookMessage
from domain.identifiers import InstrumentId
from domain.market_data import BookLevel
from domain.order_book import OrderBook

PAIR = InstrumentId("BTC-USD.KRAKEN")
PRICE_PLACES = st.integers(0, 4)
QTY_PLACES = st.integers(0, 8)


def _levels(
    draw: st.DrawFn, low: int, high: int, places: tuple[int, int], *, zero_ok: bool
) -> tuple[BookLevel, ...]:
    price_places, qty_places = places
    count = draw(st.integers(0, 15))
    levels = []
    for _ in range(count):
        price = Decimal(draw(st.integers(low, high))).scaleb(-price_places)
        qty_units = draw(st.integers(0 if zero_ok else 1, 10**6))
        levels.append((price, Decimal(qty_units).scaleb(-qty_places)))
    return tuple(levels)


@st.composite
def books(draw: st.DrawFn) -> tuple[KrakenBook, OrderBook]:
    """A book after a snapshot and random updates; bids below 50 000 ticks, asks above, so never crossed."""
    price_places, qty_places = draw(PRICE_PLACES), draw(QTY_PLACES)
    depth = draw(st.sampled_from([10, 25]))
    book = KrakenBook(PAIR, depth, (price_places, qty_places))
    downstream = OrderBook(PAIR)

    def message(snapshot: bool) -> BookMessage:
        return BookMessage(
            "BTC/USD",
            PAIR,
            snapshot,
            _levels(draw, 1, 49_999, (price_places, qty_places), zero_ok=not snapshot),
            _levels(draw, 50_000, 99_999, (price_places, qty_places), zero_ok=not snapshot),
            None,
            1,
            1,
        )

    downstream.apply_snapshot(book.load(message(True)))
    for _ in range(draw(st.integers(0, 20))):
        downstream.apply_delta(book.apply(message(False)))
    return book, downstream


@given(books())
def test_a_book_verifies_with_its_own_checksum_and_its_copy_is_equal(
    built: tuple[KrakenBook, OrderBook],
) -> None:
    book, downstream = built
    price_places, qty_places = book.precision or (0, 0)
    expected = book_checksum(book.asks(10), book.bids(10), price_places, qty_places)
    assert book.verify(expected) is True
    assert downstream.bids() == book.bids()
    assert downstream.asks() == book.asks()
    assert len(book.bids()) <= book.depth
    assert len(book.asks()) <= book.depth


@given(books(), st.data())
def test_one_changed_level_fails_the_checksum(
    built: tuple[KrakenBook, OrderBook], data: st.DataObject
) -> None:
    book, _ = built
    asks, bids = book.asks(CHECKSUM_LEVELS), book.bids(CHECKSUM_LEVELS)
    if not asks and not bids:
        return
    price_places, qty_places = book.precision or (0, 0)
    expected = book_checksum(asks, bids, price_places, qty_places)
    side = data.draw(st.sampled_from([s for s in (asks, bids) if s]))
    index = data.draw(st.integers(0, len(side) - 1))
    price, qty = side[index]
    side[index] = (price, qty + Decimal(1).scaleb(-qty_places))  # one unit more at the last place
    assert book_checksum(asks, bids, price_places, qty_places) != expected


@given(books())
def test_a_crossing_update_is_refused(built: tuple[KrakenBook, OrderBook]) -> None:
    book, _ = built
    best_ask = book.asks(1)
    if not best_ask or not book.bids(1):
        return
    crossing = BookMessage("BTC/USD", PAIR, False, ((best_ask[0][0], Decimal(1)),), (), None, 1, 1)
    try:
        book.apply(crossing)
    except BookCrossed:
        assert not book.synced
    else:
        raise AssertionError("a bid at the best ask must cross the book")
