"""OrderBook: the venue's worked example, sequence checks, levels, crossing, bad input, walks, exports."""

from __future__ import annotations

from functools import reduce

import pytest

from domain.errors import BookOutOfSync, CrossedBook, InvalidValue, SequenceGap
from domain.market_data import BookDelta, BookSnapshot, QuoteTick
from domain.order_book import OrderBook
from domain.values import OrderSide, exact_add
from tests.unit.domain.order_book.support import BTC, ETH, D, delta, levels, snap

# -- the worked example of docs/venues.md, Local order book ---------------------------------


def test_binance_scenario_on_the_book(book: OrderBook) -> None:
    assert book.apply_delta(delta(150, 155, bids=[("90", "9")])) is False  # u <= 160: drop
    assert book.apply_delta(delta(157, 160, bids=[("91", "9")])) is False  # u <= 160: drop
    assert book.bid_size_at(D("90")) == 0
    assert book.bid_size_at(D("91")) == 0
    assert book.sequence == 160

    assert book.apply_delta(delta(161, 165, bids=[("99", "5")])) is True
    assert book.sequence == 165
    assert book.apply_delta(delta(166, 170, asks=[("101", "0")])) is True
    assert book.sequence == 170
    assert book.best_bid() == (D("99"), D("5"))
    assert book.best_ask() == (D("102"), D("2.5"))

    with pytest.raises(SequenceGap) as caught:
        book.apply_delta(delta(172, 175, bids=[("99", "7")]))
    assert (caught.value.instrument_id, caught.value.expected, caught.value.received) == (BTC, 171, 172)
    assert str(caught.value) == "BTCUSDT.BINANCE book gap: expected update id 171, was 172"
    assert not book.synced
    assert book.best_bid() == (D("99"), D("5"))  # the gap delta was not applied
    assert book.sequence == 170


# -- sequence rules -------------------------------------------------------------------------


def test_stale_delta_is_ignored_and_changes_nothing(book: OrderBook) -> None:
    assert book.apply_delta(delta(161, 161, bids=[("99", "4")])) is True
    before = (book.bids(), book.asks(), book.sequence, book.ts_event)
    assert book.apply_delta(delta(161, 161, bids=[("99", "8")])) is False  # duplicate
    assert book.apply_delta(delta(100, 159, asks=[("100", "8")])) is False  # long past
    assert (book.bids(), book.asks(), book.sequence, book.ts_event) == before
    assert book.synced


def test_delta_overlapping_the_book_id_is_applied(book: OrderBook) -> None:
    # The first event after a snapshot may straddle it: U <= id + 1 <= u + 1.
    assert book.apply_delta(delta(155, 162, bids=[("99", "4")])) is True
    assert book.sequence == 162
    assert book.apply_delta(delta(163, 163)) is True  # an empty delta still moves the id
    assert book.sequence == 163


def test_out_of_sync_book_refuses_deltas_until_a_snapshot() -> None:
    book = OrderBook(BTC)
    with pytest.raises(BookOutOfSync, match=r"^BTCUSDT.BINANCE book has no snapshot yet; apply a snapshot"):
        book.apply_delta(delta(1, 1))
    book.apply_snapshot(snap(10, bids=[("1", "1")], asks=[("2", "1")]))
    with pytest.raises(SequenceGap):
        book.apply_delta(delta(12, 12))
    assert book.out_of_sync_reason == "a sequence gap (expected update id 11, received 12)"
    with pytest.raises(BookOutOfSync, match=r"out of sync since a sequence gap .*; apply a snapshot$"):
        book.apply_delta(delta(11, 11))  # even the delta that would have fitted
    with pytest.raises(BookOutOfSync):
        book.apply_delta(delta(5, 5))  # stale ones too: nothing is trusted
    book.apply_snapshot(snap(12, bids=[("1", "2")], asks=[("2", "1")]))
    assert book.synced
    assert book.out_of_sync_reason is None
    assert book.apply_delta(delta(13, 13)) is True


def test_invalidate_marks_out_of_sync_and_keeps_the_first_reason(book: OrderBook) -> None:
    book.invalidate("feed disconnected")
    assert not book.synced
    assert book.best_bid() == (D("99"), D("1"))  # levels kept for inspection
    book.invalidate("a later reason")
    assert book.out_of_sync_reason == "feed disconnected"
    with pytest.raises(BookOutOfSync, match="out of sync since feed disconnected; apply a snapshot"):
        book.apply_delta(delta(161, 161))
    with pytest.raises(BookOutOfSync):
        book.require_synced()
    with pytest.raises(BookOutOfSync):
        book.snapshot()
    with pytest.raises(BookOutOfSync):
        book.to_quote()


@pytest.mark.parametrize("reason", ["", "   ", None, 3])
def test_invalidate_wants_a_reason(book: OrderBook, reason: object) -> None:
    with pytest.raises(InvalidValue, match="reason must be a non-empty string"):
        book.invalidate(reason)  # type: ignore[arg-type]
    assert book.synced


def test_clear_returns_to_the_initial_state(book: OrderBook) -> None:
    book.clear()
    assert (book.level_count, book.sequence, book.synced, book.ts_event) == (0, 0, False, 0)
    assert book.out_of_sync_reason == "no snapshot yet"
    with pytest.raises(BookOutOfSync, match="no snapshot yet"):
        book.apply_delta(delta(1, 1))


# -- levels ---------------------------------------------------------------------------------


def test_levels_are_set_removed_and_inserted_in_order(book: OrderBook) -> None:
    applied = book.apply_delta(
        delta(
            161,
            161,
            bids=[("98", "0"), ("96.5", "1"), ("96.5", "2"), ("50", "0")],  # 50: not there, normal
            asks=[("101", "0"), ("101.5", "0.25"), ("103", "0")],
        )
    )
    assert applied
    assert book.bids() == levels(("99", "1"), ("97", "3"), ("96.5", "2"))
    assert book.asks() == levels(("101.5", "0.25"), ("102", "2.5"))
    assert book.bid_size_at(D("98")) == 0
    assert book.bid_size_at(D("96.5")) == D("2")
    assert book.ask_size_at(D("101.5")) == D("0.25")
    assert book.ask_size_at(D("99")) == 0
    assert (book.bid_count, book.ask_count, book.level_count) == (3, 2, 5)
    assert (book.ts_event, book.ts_init) == (1610, 1611)


def test_equal_prices_in_other_spellings_are_the_same_level(book: OrderBook) -> None:
    book.apply_delta(delta(161, 161, bids=[("99.00", "7")]))
    assert book.bids(1) == [(D("99"), D("7"))]
    assert book.bid_count == 3
    book.apply_delta(delta(162, 162, bids=[("99.0", "0")]))
    assert book.best_bid() == (D("98"), D("2"))


def test_side_emptied_and_refilled(book: OrderBook) -> None:
    book.apply_delta(delta(161, 161, asks=[("101", "0"), ("102", "0"), ("103", "0")]))
    assert book.asks() == []
    assert book.best_ask() is None
    assert book.mid() is None
    assert book.spread() is None
    assert book.to_quote() is None
    assert book.synced  # a one-sided book is not crossed
    book.apply_delta(delta(162, 162, asks=[("99.5", "1")]))
    assert book.best_ask() == (D("99.5"), D("1"))


def test_depth(book: OrderBook) -> None:
    assert book.bids(2) == levels(("99", "1"), ("98", "2"))
    assert book.asks(1) == levels(("101", "1.5"))
    assert book.bids() == book.bids(None) == book.bids(50) == levels(("99", "1"), ("98", "2"), ("97", "3"))
    assert book.asks() == levels(("101", "1.5"), ("102", "2.5"), ("103", "4"))


@pytest.mark.parametrize("depth", [0, -1, True, 1.5, "3"])
def test_depth_must_be_at_least_one(book: OrderBook, depth: object) -> None:
    for read in (book.bids, book.asks, book.snapshot):
        with pytest.raises(InvalidValue, match="depth must be a whole number of levels, 1 or more"):
            read(depth)  # type: ignore[operator]


def test_best_mid_spread(book: OrderBook) -> None:
    assert book.best_bid() == (D("99"), D("1"))
    assert book.best_ask() == (D("101"), D("1.5"))
    assert book.mid() == D("100")
    assert book.spread() == D("2")
    book.apply_delta(delta(161, 161, bids=[("100.5", "1")], asks=[("100.75", "1")]))
    assert book.mid() == D("100.625")
    assert book.spread() == D("0.25")


def test_empty_book_reads() -> None:
    book = OrderBook("ETHUSDT.BINANCE")
    assert book.instrument_id == ETH
    assert (book.best_bid(), book.best_ask(), book.mid(), book.spread()) == (None, None, None, None)
    assert book.bids() == book.asks() == []
    assert book.walk(OrderSide.BUY, D("1")) == []
    assert book.volume_up_to(OrderSide.SELL, D("1")) == 0
    assert "out of sync (no snapshot yet)" in repr(book)


# -- crossing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ([("101", "1")], []),  # bid at the best ask
        ([("105", "1")], []),  # bid through the asks
        ([], [("98.5", "1")]),  # ask below the best bid
        ([("99", "0")], [("98", "1")]),  # the new best bid meets a new ask
    ],
)
def test_crossing_delta_is_reported_not_repaired(
    book: OrderBook, bids: list[tuple[str, str]], asks: list[tuple[str, str]]
) -> None:
    with pytest.raises(CrossedBook, match=r"BTCUSDT.BINANCE book crossed: best bid \S+ >= best ask \S+"):
        book.apply_delta(delta(161, 162, bids=bids, asks=asks))
    assert not book.synced
    assert book.out_of_sync_reason == "a crossed book after update id 162"
    with pytest.raises(BookOutOfSync, match="crossed book after update id 162; apply a snapshot"):
        book.apply_delta(delta(163, 163))


def test_crossing_only_judged_after_the_whole_delta(book: OrderBook) -> None:
    # The market moved up within one event: a bid at 101 is fine once the 101 ask is gone.
    assert book.apply_delta(delta(161, 161, bids=[("101", "1")], asks=[("101", "0")]))
    assert book.best_bid() == (D("101"), D("1"))
    assert book.best_ask() == (D("102"), D("2.5"))


def test_crossed_snapshot_is_refused(book: OrderBook) -> None:
    crossed = BookSnapshot(BTC, ((D("100"), D("1")),), ((D("100"), D("1")),), 200, 0, 0)
    with pytest.raises(CrossedBook):
        book.apply_snapshot(crossed)
    assert not book.synced
    assert book.out_of_sync_reason == "a crossed snapshot at update id 200"
    assert book.sequence == 160
    assert book.best_bid() == (D("99"), D("1"))


# -- bad inputs -----------------------------------------------------------------------------


def test_other_instrument_is_refused_and_the_book_untouched(book: OrderBook) -> None:
    with pytest.raises(
        InvalidValue, match=r"instrument_id must be this book's instrument BTCUSDT\.BINANCE"
    ) as caught:
        book.apply_delta(delta(161, 161, bids=[("99", "9")], instrument=ETH))
    assert caught.value.field == "instrument_id"
    assert caught.value.value == ETH
    with pytest.raises(InvalidValue, match="instrument_id"):
        book.apply_snapshot(snap(170, instrument=ETH))
    assert book.synced
    assert book.sequence == 160
    assert book.best_bid() == (D("99"), D("1"))


def test_bad_instrument_id() -> None:
    with pytest.raises(InvalidValue, match=r"instrument_id must look like SYMBOL\.VENUE"):
        OrderBook("btcusdt")


def test_negative_size_in_an_unvalidated_delta(book: OrderBook) -> None:
    bad = BookDelta(BTC, ((D("99"), D("2")),), ((D("101"), D("-1")),), 161, 161, 0, 0)
    with pytest.raises(InvalidValue, match=r"asks size at 101 must not be negative \(0 removes a level\)"):
        book.apply_delta(bad)
    assert not book.synced  # half applied: untrusted


@pytest.mark.parametrize(
    ("bids", "asks", "message"),
    [
        (((D("99"), D("0")),), (), r"bids\[0\].size must be a positive finite Decimal"),
        ((), ((D("101"), D("-2")),), r"asks\[0\].size must be a positive finite Decimal"),
        (((D("-1"), D("1")),), (), r"bids\[0\].price must be a positive finite Decimal"),
        (((99.5, D("1")),), (), r"bids\[0\].price must be a positive finite Decimal"),
        (((D("NaN"), D("1")),), (), r"bids\[0\].price must be a positive finite Decimal"),
        ((), ((D("101"), D("1")), (D("101.0"), D("2"))), r"asks\[1\].price repeats a price level"),
        (((D("99"),),), (), r"bids\[0\] must be a \(price, size\) pair"),
    ],
)
def test_malformed_snapshot_is_refused_and_the_book_untouched(
    book: OrderBook, bids: tuple[object, ...], asks: tuple[object, ...], message: str
) -> None:
    bad = BookSnapshot(BTC, bids, asks, 500, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match=message):
        book.apply_snapshot(bad)
    assert book.synced
    assert book.sequence == 160
    assert book.bids(1) == levels(("99", "1"))


# -- walk and volume ------------------------------------------------------------------------


def test_walk_buy_takes_asks_upwards_with_a_partial_last_level(book: OrderBook) -> None:
    before = (book.bids(), book.asks())
    assert book.walk(OrderSide.BUY, D("3")) == levels(("101", "1.5"), ("102", "1.5"))
    assert book.walk(OrderSide.BUY, D("1.5")) == levels(("101", "1.5"))
    assert book.walk(OrderSide.BUY, D("0.1")) == levels(("101", "0.1"))
    assert book.walk(OrderSide.BUY, "4") == levels(("101", "1.5"), ("102", "2.5"))
    assert (book.bids(), book.asks()) == before  # nothing consumed


def test_walk_sell_takes_bids_downwards(book: OrderBook) -> None:
    assert book.walk(OrderSide.SELL, D("4.5")) == levels(("99", "1"), ("98", "2"), ("97", "1.5"))


def test_walk_beyond_the_book_returns_everything(book: OrderBook) -> None:
    assert book.walk(OrderSide.BUY, D("100")) == levels(("101", "1.5"), ("102", "2.5"), ("103", "4"))


def test_walk_stops_at_the_limit_price(book: OrderBook) -> None:
    assert book.walk(OrderSide.BUY, D("100"), limit_price=D("102")) == levels(("101", "1.5"), ("102", "2.5"))
    assert book.walk(OrderSide.BUY, D("1"), limit_price=D("100")) == []
    assert book.walk(OrderSide.SELL, D("5"), limit_price=D("98")) == levels(("99", "1"), ("98", "2"))
    assert book.walk(OrderSide.SELL, D("0.5"), limit_price="97") == levels(("99", "0.5"))


def test_walk_keeps_exact_decimals() -> None:
    book = OrderBook(BTC)
    book.apply_snapshot(snap(1, asks=[("1", "0.1"), ("2", "0.2"), ("3", "1")]))
    fills = book.walk(OrderSide.BUY, D("0.3000000000000000000000000000001"))
    assert fills == [(D("1"), D("0.1")), (D("2"), D("0.2")), (D("3"), D("1E-31"))]
    assert reduce(exact_add, (size for _, size in fills)) == D("0.3000000000000000000000000000001")


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (D("0"), "quantity must be greater than zero"),
        (D("-1"), "quantity must be greater than zero"),
        (1.5, "quantity must be a decimal string, not a binary float"),
        ("abc", "quantity is not a decimal number"),
        (D("Infinity"), "quantity must be finite"),
    ],
)
def test_walk_bad_quantity(book: OrderBook, quantity: object, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        book.walk(OrderSide.BUY, quantity)


@pytest.mark.parametrize("side", [1, "BUY", None])
def test_walk_and_volume_want_an_order_side(book: OrderBook, side: object) -> None:
    with pytest.raises(InvalidValue, match=r"side must be OrderSide\.BUY or OrderSide\.SELL"):
        book.walk(side, D("1"))  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="side must be OrderSide"):
        book.volume_up_to(side, D("1"))  # type: ignore[arg-type]


def test_volume_up_to(book: OrderBook) -> None:
    assert book.volume_up_to(OrderSide.BUY, D("100")) == 0
    assert book.volume_up_to(OrderSide.BUY, D("101")) == D("1.5")
    assert book.volume_up_to(OrderSide.BUY, D("102.99")) == D("4")
    assert book.volume_up_to(OrderSide.BUY, D("1000")) == D("8")
    assert book.volume_up_to(OrderSide.SELL, D("99")) == D("1")
    assert book.volume_up_to(OrderSide.SELL, D("97.5")) == D("3")
    assert book.volume_up_to(OrderSide.SELL, D("1")) == D("6")
    assert book.volume_up_to(OrderSide.SELL, D("99.5")) == 0
    with pytest.raises(InvalidValue, match="limit_price must be greater than zero"):
        book.volume_up_to(OrderSide.SELL, D("0"))


# -- exports --------------------------------------------------------------------------------


def test_snapshot_export_round_trips(book: OrderBook) -> None:
    book.apply_delta(delta(161, 163, bids=[("98.5", "1")]))
    exported = book.snapshot()
    assert exported == BookSnapshot(
        BTC,
        tuple(levels(("99", "1"), ("98.5", "1"), ("98", "2"), ("97", "3"))),
        tuple(levels(("101", "1.5"), ("102", "2.5"), ("103", "4"))),
        163,
        1630,
        1631,
    )
    copy = OrderBook(BTC)
    copy.apply_snapshot(exported)
    assert (copy.bids(), copy.asks(), copy.sequence) == (book.bids(), book.asks(), 163)
    top = book.snapshot(1, ts_event=5, ts_init=6)
    assert top == BookSnapshot(BTC, ((D("99"), D("1")),), ((D("101"), D("1.5")),), 163, 5, 6)


def test_to_quote(book: OrderBook) -> None:
    assert book.to_quote() == QuoteTick(BTC, D("99"), D("1"), D("101"), D("1.5"), 160, 161)
    assert book.to_quote(7, 8) == QuoteTick(BTC, D("99"), D("1"), D("101"), D("1.5"), 7, 8)


def test_repr(book: OrderBook) -> None:
    assert repr(book) == (
        "OrderBook(BTCUSDT.BINANCE, synced at 160, 3 bids, 3 asks, "
        "best (Decimal('99'), Decimal('1')) / (Decimal('101'), Decimal('1.5')))"
    )
