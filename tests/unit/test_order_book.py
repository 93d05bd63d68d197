"""OrderBook and BookSync: the Binance local-book procedure, sequence checks, reads and walks."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import reduce

import pytest

from domain.errors import BookOutOfSync, CrossedBook, InvalidValue, SequenceGap
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookSnapshot, QuoteTick
from domain.order_book import BookSync, BookSyncState, OrderBook, SyncStatus
from domain.values import OrderSide, exact_add

BTC = InstrumentId("BTCUSDT.BINANCE")
ETH = InstrumentId("ETHUSDT.BINANCE")
D = Decimal

Levels = Iterable[tuple[str, str]]


def snap(sequence: int, bids: Levels = (), asks: Levels = (), instrument: InstrumentId = BTC) -> BookSnapshot:
    return BookSnapshot.create(
        instrument_id=instrument,
        bids=bids,
        asks=asks,
        sequence=sequence,
        ts_event=sequence,
        ts_init=sequence + 1,
    )


def delta(
    first: int, last: int, bids: Levels = (), asks: Levels = (), instrument: InstrumentId = BTC
) -> BookDelta:
    return BookDelta.create(
        instrument_id=instrument,
        bids=bids,
        asks=asks,
        first_sequence=first,
        last_sequence=last,
        ts_event=last * 10,
        ts_init=last * 10 + 1,
    )


def levels(*pairs: tuple[str, str]) -> list[tuple[Decimal, Decimal]]:
    return [(D(p), D(s)) for p, s in pairs]


@pytest.fixture
def book() -> OrderBook:
    """Bids 99/98/97, asks 101/102/103, at update id 160."""
    book = OrderBook(BTC)
    book.apply_snapshot(
        snap(
            160,
            bids=[("98", "2"), ("99", "1"), ("97", "3")],
            asks=[("101", "1.5"), ("103", "4"), ("102", "2.5")],
        )
    )
    return book


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


def test_binance_scenario_through_the_sync() -> None:
    sync = BookSync(BTC)
    assert sync.state is BookSyncState.WAITING_FOR_SNAPSHOT
    assert sync.on_delta(delta(150, 155, bids=[("90", "9")])) is SyncStatus.NEEDS_SNAPSHOT
    assert sync.on_delta(delta(157, 160, bids=[("91", "9")])) is SyncStatus.BUFFERED
    assert sync.on_delta(delta(161, 165, bids=[("99", "5")])) is SyncStatus.BUFFERED
    assert sync.on_delta(delta(166, 170, asks=[("101", "0")])) is SyncStatus.BUFFERED
    assert sync.buffered == 4

    status = sync.on_snapshot(
        snap(160, bids=[("99", "1"), ("98", "2")], asks=[("101", "1.5"), ("102", "2.5")])
    )
    assert status is SyncStatus.SYNCED
    assert sync.state is BookSyncState.SYNCED
    assert sync.buffered == 0
    book = sync.book
    assert book.synced
    assert book.sequence == 170
    assert book.bids() == levels(("99", "5"), ("98", "2"))  # 150..155 and 157..160 were dropped
    assert book.asks() == levels(("102", "2.5"))

    assert sync.on_delta(delta(172, 175, bids=[("99", "7")])) is SyncStatus.RESYNC
    assert sync.gaps_detected == 1
    assert sync.state is BookSyncState.WAITING_FOR_SNAPSHOT
    assert not book.synced
    assert sync.buffered == 1  # the delta that revealed the gap waits for the next snapshot
    assert sync.on_delta(delta(176, 178)) is SyncStatus.BUFFERED  # the resync already asked
    assert sync.on_snapshot(snap(174, bids=[("99", "6")], asks=[("102", "1")])) is SyncStatus.SYNCED
    assert book.sequence == 178
    assert book.bids() == levels(("99", "7"))


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


# -- the sync state machine -----------------------------------------------------------------


def test_sync_snapshot_too_old_asks_again_and_keeps_the_buffer() -> None:
    sync = BookSync(BTC)
    assert sync.on_delta(delta(150, 155, bids=[("99", "1")])) is SyncStatus.NEEDS_SNAPSHOT
    assert sync.on_delta(delta(156, 158, asks=[("101", "1")])) is SyncStatus.BUFFERED
    assert sync.on_snapshot(snap(140)) is SyncStatus.NEEDS_SNAPSHOT  # 140 < U 150 - 1
    assert sync.on_snapshot(snap(148)) is SyncStatus.NEEDS_SNAPSHOT  # 149 would be needed
    assert sync.snapshots_too_old == 2
    assert sync.state is BookSyncState.WAITING_FOR_SNAPSHOT
    assert sync.buffered == 2
    assert not sync.book.synced
    assert sync.on_delta(delta(159, 159)) is SyncStatus.BUFFERED  # the retry is already asked
    # lastUpdateId 149 = first U - 1 still bridges: every buffered event is applied.
    assert sync.on_snapshot(snap(149, bids=[("98", "1")])) is SyncStatus.SYNCED
    assert sync.book.sequence == 159
    assert sync.book.bids() == levels(("99", "1"), ("98", "1"))
    assert sync.book.asks() == levels(("101", "1"))


def test_sync_snapshot_newer_than_the_whole_buffer() -> None:
    sync = BookSync(BTC)
    sync.on_delta(delta(150, 155, bids=[("90", "1")]))
    sync.on_delta(delta(156, 158, bids=[("91", "1")]))
    assert sync.on_snapshot(snap(170, bids=[("99", "1")])) is SyncStatus.SYNCED
    assert sync.buffered == 0
    assert sync.book.sequence == 170
    assert sync.book.bids() == levels(("99", "1"))
    assert sync.on_delta(delta(165, 170)) is SyncStatus.IGNORED
    assert sync.on_delta(delta(171, 171, bids=[("99", "2")])) is SyncStatus.APPLIED
    assert sync.book.best_bid() == (D("99"), D("2"))


def test_sync_snapshot_before_any_delta() -> None:
    # Venues that push a snapshot on subscribe (and a Binance snapshot that beats the first event).
    sync = BookSync(BTC)
    assert sync.on_snapshot(snap(10, bids=[("1", "1")])) is SyncStatus.SYNCED
    assert sync.on_delta(delta(11, 11, bids=[("1", "2")])) is SyncStatus.APPLIED
    assert sync.on_delta(delta(13, 13)) is SyncStatus.RESYNC
    assert sync.gaps_detected == 1


def test_sync_gap_inside_the_buffer_is_a_resync() -> None:
    sync = BookSync(BTC)
    sync.on_delta(delta(150, 155))
    sync.on_delta(delta(156, 158, bids=[("99", "1")]))
    sync.on_delta(delta(161, 162, bids=[("98", "1")]))  # 159..160 were lost while buffering
    sync.on_delta(delta(163, 163))
    assert sync.on_snapshot(snap(155)) is SyncStatus.RESYNC
    assert sync.gaps_detected == 1
    assert sync.state is BookSyncState.WAITING_FOR_SNAPSHOT
    assert not sync.book.synced
    assert sync.buffered == 2  # from the gap on: a snapshot >= 160 bridges them
    assert sync.on_snapshot(snap(160, bids=[("97", "1")])) is SyncStatus.SYNCED
    assert sync.book.sequence == 163
    assert sync.book.bids() == levels(("98", "1"), ("97", "1"))


def test_sync_buffer_overflow_drops_the_oldest_and_asks_for_a_fresh_snapshot() -> None:
    sync = BookSync(BTC, max_buffer=3)
    assert sync.max_buffer == 3
    statuses = [sync.on_delta(delta(i, i, bids=[(str(i), "1")])) for i in range(101, 107)]
    assert statuses == [
        SyncStatus.NEEDS_SNAPSHOT,
        SyncStatus.BUFFERED,
        SyncStatus.BUFFERED,
        SyncStatus.NEEDS_SNAPSHOT,  # first overflow: the snapshot asked for is likely too old now
        SyncStatus.BUFFERED,
        SyncStatus.BUFFERED,
    ]
    assert (sync.buffered, sync.deltas_dropped) == (3, 3)
    assert sync.on_snapshot(snap(101)) is SyncStatus.NEEDS_SNAPSHOT  # 102 and 103 are gone
    assert sync.snapshots_too_old == 1
    assert sync.on_snapshot(snap(103, bids=[("1", "1")])) is SyncStatus.SYNCED
    assert sync.book.sequence == 106
    assert [p for p, _ in sync.book.bids()] == [D(106), D(105), D(104), D(1)]


def test_sync_overflow_is_reported_once_per_wait() -> None:
    sync = BookSync(BTC, max_buffer=1)
    assert sync.on_delta(delta(1, 1)) is SyncStatus.NEEDS_SNAPSHOT
    assert sync.on_delta(delta(2, 2)) is SyncStatus.NEEDS_SNAPSHOT
    assert sync.on_delta(delta(3, 3)) is SyncStatus.BUFFERED
    assert sync.on_snapshot(snap(0)) is SyncStatus.NEEDS_SNAPSHOT
    assert sync.on_delta(delta(4, 4)) is SyncStatus.NEEDS_SNAPSHOT  # a new wait, a new overflow
    assert sync.deltas_dropped == 3


def test_sync_crossing_delta_is_a_resync() -> None:
    sync = BookSync(BTC)
    sync.on_snapshot(snap(10, bids=[("99", "1")], asks=[("101", "1")]))
    assert sync.on_delta(delta(11, 11, bids=[("101", "1")])) is SyncStatus.RESYNC
    assert sync.crossed_detected == 1
    assert sync.gaps_detected == 0
    assert sync.buffered == 0  # the offending delta is not kept
    assert sync.state is BookSyncState.WAITING_FOR_SNAPSHOT
    assert sync.on_delta(delta(12, 12)) is SyncStatus.BUFFERED  # RESYNC already asked
    assert sync.on_snapshot(snap(11, bids=[("100", "1")], asks=[("101", "1")])) is SyncStatus.SYNCED
    assert sync.book.sequence == 12


def test_sync_crossed_snapshot_keeps_the_buffer() -> None:
    sync = BookSync(BTC)
    sync.on_delta(delta(11, 11, bids=[("98", "1")]))
    crossed = BookSnapshot(BTC, ((D("101"), D("1")),), ((D("100"), D("1")),), 10, 0, 0)
    assert sync.on_snapshot(crossed) is SyncStatus.RESYNC
    assert sync.crossed_detected == 1
    assert sync.buffered == 1
    assert sync.on_snapshot(snap(10, bids=[("99", "1")], asks=[("100", "1")])) is SyncStatus.SYNCED
    assert sync.book.bids() == levels(("99", "1"), ("98", "1"))


def test_sync_crossing_while_replaying_the_buffer() -> None:
    sync = BookSync(BTC)
    sync.on_delta(delta(11, 11, bids=[("100", "1")]))
    sync.on_delta(delta(12, 12))
    assert sync.on_snapshot(snap(10, bids=[("99", "1")], asks=[("100", "1")])) is SyncStatus.RESYNC
    assert sync.crossed_detected == 1
    assert sync.buffered == 1  # 12..12 may still fit a newer snapshot
    assert not sync.book.synced


def test_sync_snapshots_while_synced() -> None:
    sync = BookSync(BTC)
    sync.on_snapshot(snap(10, bids=[("99", "1")]))
    assert sync.on_snapshot(snap(10, bids=[("1", "1")])) is SyncStatus.IGNORED
    assert sync.on_snapshot(snap(5, bids=[("1", "1")])) is SyncStatus.IGNORED
    assert sync.on_snapshot(snap(20, bids=[("98", "1")])) is SyncStatus.SYNCED  # newer replaces
    assert sync.book.bids() == levels(("98", "1"))
    assert sync.on_delta(delta(15, 21, bids=[("97", "1")])) is SyncStatus.APPLIED


def test_sync_reset_on_disconnect() -> None:
    sync = BookSync(BTC)
    sync.on_delta(delta(1, 1))
    sync.on_snapshot(snap(1))
    sync.reset("websocket closed")
    assert sync.state is BookSyncState.WAITING_FOR_SNAPSHOT
    assert sync.book.out_of_sync_reason == "websocket closed"
    assert sync.on_delta(delta(50, 50)) is SyncStatus.NEEDS_SNAPSHOT  # after reconnecting
    sync.reset("again")
    assert sync.buffered == 0
    with pytest.raises(InvalidValue, match="reason"):
        sync.reset("")


def test_sync_other_instrument_is_refused() -> None:
    sync = BookSync(BTC)
    with pytest.raises(InvalidValue, match="instrument_id must be this book's instrument"):
        sync.on_delta(delta(1, 1, instrument=ETH))
    with pytest.raises(InvalidValue, match="instrument_id"):
        sync.on_snapshot(snap(1, instrument=ETH))
    assert sync.buffered == 0
    sync.on_snapshot(snap(1))
    with pytest.raises(InvalidValue, match="instrument_id"):
        sync.on_delta(delta(2, 2, instrument=ETH))
    assert sync.state is BookSyncState.SYNCED


def test_sync_malformed_delta_raises_and_leaves_the_sync_waiting() -> None:
    sync = BookSync(BTC)
    sync.on_snapshot(snap(10, bids=[("99", "1")]))
    bad = BookDelta(BTC, ((D("98"), D("-1")),), (), 11, 11, 0, 0)
    with pytest.raises(InvalidValue, match="must not be negative"):
        sync.on_delta(bad)
    assert sync.state is BookSyncState.WAITING_FOR_SNAPSHOT
    assert sync.on_delta(delta(12, 12)) is SyncStatus.NEEDS_SNAPSHOT
    assert sync.on_snapshot(snap(11, bids=[("99", "2")])) is SyncStatus.SYNCED
    assert sync.book.sequence == 12


def test_sync_malformed_buffered_delta_raises_on_replay() -> None:
    sync = BookSync(BTC)
    sync.on_delta(BookDelta(BTC, (), ((D("101"), D("-1")),), 11, 11, 0, 0))
    sync.on_delta(delta(12, 12))
    with pytest.raises(InvalidValue, match="must not be negative"):
        sync.on_snapshot(snap(10, bids=[("99", "1")]))
    assert sync.state is BookSyncState.WAITING_FOR_SNAPSHOT
    assert not sync.book.synced
    assert sync.on_delta(delta(13, 13)) is SyncStatus.NEEDS_SNAPSHOT


def test_sync_other_instrument_while_synced_changes_nothing() -> None:
    sync = BookSync(BTC)
    sync.on_snapshot(snap(10, bids=[("99", "1")]))
    with pytest.raises(InvalidValue, match="instrument_id"):
        sync.on_delta(delta(11, 11, instrument=ETH))
    assert sync.state is BookSyncState.SYNCED
    assert sync.on_delta(delta(11, 11)) is SyncStatus.APPLIED


@pytest.mark.parametrize("max_buffer", [0, -5, True, 2.0])
def test_sync_max_buffer_must_be_positive(max_buffer: object) -> None:
    with pytest.raises(InvalidValue, match="max_buffer must be a whole number of deltas, 1 or more"):
        BookSync(BTC, max_buffer=max_buffer)  # type: ignore[arg-type]


def test_sync_status_says_when_to_fetch() -> None:
    assert {s for s in SyncStatus if s.fetch_snapshot} == {SyncStatus.NEEDS_SNAPSHOT, SyncStatus.RESYNC}


def test_sync_repr() -> None:
    sync = BookSync(BTC)
    sync.on_delta(delta(1, 1))
    assert repr(sync) == (
        "BookSync(BTCUSDT.BINANCE, waiting_for_snapshot, buffered=1, gaps=0, crossed=0, too_old=0, dropped=0)"
    )
