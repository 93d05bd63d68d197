"""ProductBook: snapshot replaces, updates set absolute sizes, and the events it hands out keep a
downstream OrderBook equal to it (checked against a plain dict model on random streams)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.coinbase.books import BookRejected, ProductBook
from adapters.exchanges.coinbase.schemas import BookMessage
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookLevel, BookSnapshot
from domain.order_book import OrderBook

BTC = InstrumentId("BTC-USD.COINBASE")
ETH = InstrumentId("ETH-USD.COINBASE")
TS = 1_700_000_000_000_000_000
Levels = tuple[BookLevel, ...]
Model = dict[str, dict[Decimal, Decimal]]


def _levels(*pairs: tuple[str, str]) -> tuple[BookLevel, ...]:
    return tuple((Decimal(price), Decimal(size)) for price, size in pairs)


def _message(
    snapshot: bool, bids: tuple[BookLevel, ...] = (), asks: tuple[BookLevel, ...] = ()
) -> BookMessage:
    return BookMessage(BTC, snapshot, bids, asks, TS)


def test_snapshot_then_updates_numbered_by_the_book() -> None:
    book = ProductBook(BTC)
    snapshot = book.apply(_message(True, _levels(("100", "1"), ("99", "2")), _levels(("101", "3"))), TS + 1)
    assert isinstance(snapshot, BookSnapshot)
    assert snapshot.sequence == 1
    assert snapshot.bids == _levels(("100", "1"), ("99", "2"))
    delta = book.apply(_message(False, _levels(("100", "0"), ("98", "5")), _levels(("101", "4"))), TS + 2)
    assert delta == BookDelta(
        BTC, _levels(("100", "0"), ("98", "5")), _levels(("101", "4")), 2, 2, TS, TS + 2
    )
    assert book.book.bids() == list(_levels(("99", "2"), ("98", "5")))
    assert book.book.asks() == list(_levels(("101", "4")))
    assert book.sequence == 2


def test_snapshot_drops_zero_sizes_and_keeps_the_last_size_of_a_repeated_price() -> None:
    book = ProductBook(BTC)
    snapshot = book.apply(_message(True, _levels(("100", "1"), ("100", "2"), ("99", "0"))), TS)
    assert isinstance(snapshot, BookSnapshot)
    assert snapshot.bids == _levels(("100", "2"))


def test_updates_wait_for_the_snapshot() -> None:
    book = ProductBook(BTC)
    assert book.apply(_message(False, _levels(("100", "1"))), TS) is None
    book.apply(_message(True, _levels(("100", "1"))), TS)
    assert book.invalidate("a sequence gap")
    assert not book.invalidate("again")  # already stale: downstream heard it once
    assert book.apply(_message(False, _levels(("100", "2"))), TS) is None
    resync = book.apply(_message(True, _levels(("100", "3"))), TS)
    assert isinstance(resync, BookSnapshot)
    assert resync.sequence == 2  # numbering continues across resyncs (ignored updates take none)
    assert book.synced


def test_a_crossing_update_is_rejected_and_the_book_waits_for_a_snapshot() -> None:
    book = ProductBook(BTC)
    book.apply(_message(True, _levels(("100", "1")), _levels(("101", "1"))), TS)
    with pytest.raises(BookRejected, match=r"crossed|best bid"):
        book.apply(_message(False, _levels(("102", "1"))), TS)
    assert not book.synced
    assert book.apply(_message(False, _levels(("99", "1"))), TS) is None


def test_a_crossed_snapshot_is_rejected() -> None:
    book = ProductBook(BTC)
    with pytest.raises(BookRejected, match="snapshot"):
        book.apply(_message(True, _levels(("101", "1")), _levels(("100", "1"))), TS)
    assert not book.synced


def test_another_products_data_is_rejected() -> None:
    book = ProductBook(BTC)
    with pytest.raises(BookRejected, match="ETH-USD"):
        book.apply(BookMessage(ETH, True, (), (), TS), TS)


# -- random streams against a dict model ----------------------------------------------------

_bid_prices = st.integers(1, 24).map(lambda n: Decimal(n) / 4)
_ask_prices = st.integers(18, 40).map(lambda n: Decimal(n) / 4)  # now and then below a bid
_sizes = st.sampled_from(["0", "0", "0.5", "1", "2.25", "7"]).map(Decimal)
_bid_side = st.lists(st.tuples(_bid_prices, _sizes), max_size=8).map(tuple)
_ask_side = st.lists(st.tuples(_ask_prices, _sizes), max_size=8).map(tuple)


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[bool, Levels, Levels]]:
    """A snapshot, then updates and now and then another snapshot (a resubscription)."""
    result = [(True, draw(_bid_side), draw(_ask_side))]
    for _ in range(draw(st.integers(0, 30))):
        result.append((draw(st.integers(0, 9)) == 0, draw(_bid_side), draw(_ask_side)))
    return result


def _model_apply(
    model: dict[str, dict[Decimal, Decimal]], snapshot: bool, bids: Levels, asks: Levels
) -> None:
    if snapshot:
        model["bids"].clear()
        model["asks"].clear()
    for side, levels in (("bids", bids), ("asks", asks)):
        for price, size in levels:
            if size:
                model[side][price] = size
            else:
                model[side].pop(price, None)


@given(streams())
def test_random_streams_match_a_dict_model_and_a_downstream_book(
    stream: list[tuple[bool, Levels, Levels]],
) -> None:
    book = ProductBook(BTC)
    downstream = OrderBook(BTC)
    model: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
    for snapshot, bids, asks in stream:
        before = {side: dict(levels) for side, levels in model.items()}
        try:
            event = book.apply(BookMessage(BTC, snapshot, bids, asks, TS), TS)
        except BookRejected:
            # The venue never sends a crossed book; ours refuses it and waits for a snapshot.
            _model_apply(before, snapshot, bids, asks)
            best_bid = max(before["bids"], default=None)
            best_ask = min(before["asks"], default=None)
            assert best_bid is not None
            assert best_ask is not None
            assert best_bid >= best_ask
            assert not book.synced
            model = {"bids": {}, "asks": {}}
            continue
        if event is None:
            assert not snapshot
            assert not book.synced
            continue
        _model_apply(model, snapshot, bids, asks)
        if isinstance(event, BookSnapshot):
            downstream.apply_snapshot(event)
        else:
            assert downstream.apply_delta(event)
        assert book.book.bids() == sorted(model["bids"].items(), reverse=True)
        assert book.book.asks() == sorted(model["asks"].items())
        assert downstream.bids() == book.book.bids()
        assert downstream.asks() == book.book.asks()
        assert downstream.sequence == book.sequence
