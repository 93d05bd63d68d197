"""KrakenBook: the venue's maintenance rules, and domain events that rebuild the same book."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchanges.kraken.books import BookCrossed, KrakenBook
from adapters.exchanges.kraken.parsing import BookMessage, parse_message
from domain.identifiers import InstrumentId
from domain.market_data import BookLevel
from domain.order_book import OrderBook
from tests.unit.adapters.kraken.vectors import BOOK_SNAPSHOT, BOOK_UPDATE, MATIC_PRECISION

MATIC = InstrumentId("MATIC-USD.KRAKEN")


def _message(raw: bytes) -> BookMessage:
    message = parse_message(raw, 1)
    assert isinstance(message, BookMessage)
    return message


def _update(
    bids: tuple[tuple[str, str], ...] = (),
    asks: tuple[tuple[str, str], ...] = (),
    checksum: int | None = None,
) -> BookMessage:
    def levels(side: tuple[tuple[str, str], ...]) -> tuple[BookLevel, ...]:
        return tuple((Decimal(p), Decimal(q)) for p, q in side)

    return BookMessage("MATIC/USD", MATIC, False, levels(bids), levels(asks), checksum, 2, 2)


def _loaded(depth: int = 10) -> tuple[KrakenBook, OrderBook]:
    book = KrakenBook(MATIC, depth, MATIC_PRECISION)
    downstream = OrderBook(MATIC)
    downstream.apply_snapshot(book.load(_message(BOOK_SNAPSHOT)))
    return book, downstream


def _same(book: KrakenBook, downstream: OrderBook) -> None:
    assert downstream.bids() == book.bids()
    assert downstream.asks() == book.asks()
    assert downstream.sequence == book.sequence


def test_the_published_snapshot_and_update_verify() -> None:
    book, downstream = _loaded()
    assert book.verify(2439117997) is True
    downstream.apply_delta(book.apply(_message(BOOK_UPDATE)))
    assert book.verify(2114181697) is True
    assert book.verified
    _same(book, downstream)


def test_a_wrong_checksum_fails_and_unknown_precision_is_never_verified() -> None:
    book, _ = _loaded()
    assert book.verify(2439117998) is False
    assert not book.verified
    unknown = KrakenBook(MATIC, 10)
    unknown.load(_message(BOOK_SNAPSHOT))
    assert unknown.verify(2439117997) is None
    assert not unknown.verified
    assert book.verify(None) is None


def test_levels_apply_in_array_order_and_zero_deletes() -> None:
    book, downstream = _loaded()
    delta = book.apply(
        _update(
            bids=(
                ("0.5650", "1"),
                ("0.5650", "2"),
                ("0.5666", "0"),
                ("0.5666", "3"),
            )
        )
    )
    downstream.apply_delta(delta)
    assert book.bids(1) == [(Decimal("0.5666"), Decimal("3"))]
    _same(book, downstream)
    delta = book.apply(_update(asks=(("0.5668", "0"),)))
    downstream.apply_delta(delta)
    assert book.asks(1)[0][0] == Decimal("0.5669")
    _same(book, downstream)


def test_truncation_to_depth_is_part_of_the_delta() -> None:
    book, downstream = _loaded()
    delta = book.apply(_update(bids=(("0.5667", "5"),), asks=(("0.56675", "7"),)))
    assert delta.bids == ((Decimal("0.5667"), Decimal(5)), (Decimal("0.5657"), Decimal(0)))
    assert delta.asks == ((Decimal("0.56675"), Decimal(7)), (Decimal("0.5677"), Decimal(0)))
    assert len(book.bids()) == len(book.asks()) == 10
    downstream.apply_delta(delta)
    _same(book, downstream)
    assert (delta.first_sequence, delta.last_sequence) == (2, 2)


def test_a_snapshot_deeper_than_the_subscription_is_cut() -> None:
    book = KrakenBook(MATIC, 10, MATIC_PRECISION)
    book.depth = 5
    snapshot = book.load(_message(BOOK_SNAPSHOT))
    assert len(snapshot.bids) == len(snapshot.asks) == 5
    assert snapshot.bids[0][0] == Decimal("0.5666")
    assert snapshot.asks[0][0] == Decimal("0.5668")


def test_a_crossed_result_resets_the_book() -> None:
    book, _ = _loaded()
    with pytest.raises(BookCrossed, match="crossed"):
        book.apply(_update(bids=(("0.5700", "1"),)))
    assert not book.synced
    with pytest.raises(ValueError, match="no snapshot"):
        book.apply(_update(bids=(("0.5600", "1"),)))


def test_each_resync_continues_the_sequence() -> None:
    book, _ = _loaded()
    book.apply(_update(bids=(("0.5600", "1"),)))
    book.reset()
    snapshot = book.load(_message(BOOK_SNAPSHOT))
    assert snapshot.sequence == 3
