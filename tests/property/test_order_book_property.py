"""Properties of the L2 book: it tracks a consistent stream exactly, never crosses, never drifts."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.errors import BookOutOfSync, CrossedBook, SequenceGap
from domain.market_data import BookDelta, BookSnapshot
from domain.order_book import BookSync, BookSyncState, OrderBook, SyncStatus
from domain.values import OrderSide
from tests.property.book_strategies import (
    BTC,
    MAX_TICK,
    MIN_TICK,
    Market,
    RefBook,
    Stream,
    assert_book_matches,
    assert_not_crossed,
    market_deltas,
    markets,
    price,
    streams,
)


def synced_book(stream: Stream) -> OrderBook:
    book = OrderBook(BTC)
    book.apply_snapshot(stream.snapshot_at(stream.start))
    assert_book_matches(book, stream.market.state_at(stream.start))
    return book


@settings(deadline=None)
@given(streams())
def test_book_equals_the_reference_after_every_delta(stream: Stream) -> None:
    book = synced_book(stream)
    for delta in stream.deltas:
        assert book.apply_delta(delta) is True
        assert book.synced
        assert book.sequence == delta.last_sequence
        assert_book_matches(book, stream.market.state_at(delta.last_sequence))
    assert book.snapshot() == stream.snapshot_at(book.sequence)


@settings(deadline=None)
@given(streams(min_deltas=2), st.data())
def test_dropping_any_delta_is_a_sequence_gap(stream: Stream, data: st.DataObject) -> None:
    dropped = data.draw(st.integers(0, len(stream.deltas) - 2), label="dropped")
    book = synced_book(stream)
    for delta in stream.deltas[:dropped]:
        assert book.apply_delta(delta)
    lost = stream.deltas[dropped]
    after = stream.deltas[dropped + 1]
    with pytest.raises(SequenceGap) as caught:
        book.apply_delta(after)
    assert caught.value.expected == lost.first_sequence
    assert caught.value.received == after.first_sequence
    assert not book.synced
    # Not a single level of the skipping delta was applied: no silent drift.
    assert_book_matches(book, stream.market.state_at(lost.first_sequence - 1))
    for later in stream.deltas[dropped + 1 :]:
        with pytest.raises(BookOutOfSync):
            book.apply_delta(later)


@settings(deadline=None)
@given(streams(), st.data())
def test_duplicates_and_stale_deltas_are_ignored(stream: Stream, data: st.DataObject) -> None:
    book = synced_book(stream)
    for index, delta in enumerate(stream.deltas):
        assert book.apply_delta(delta)
        replays = data.draw(st.lists(st.integers(0, index), max_size=3), label=f"replays after {index}")
        for old in replays:
            assert book.apply_delta(stream.deltas[old]) is False
        assert book.sequence == delta.last_sequence
        assert_book_matches(book, stream.market.state_at(delta.last_sequence))


@settings(deadline=None)
@given(streams(), st.data())
def test_sync_bridges_from_any_snapshot_the_buffer_reaches(stream: Stream, data: st.DataObject) -> None:
    """Binance: buffer, fetch a snapshot at any id from first U - 1 on, replay, keep going."""
    arrived = data.draw(st.integers(1, len(stream.deltas)), label="deltas buffered before the snapshot")
    newest = stream.deltas[arrived - 1].last_sequence
    taken_at = data.draw(st.integers(stream.start, newest), label="snapshot lastUpdateId")
    sync = BookSync(BTC)
    statuses = [sync.on_delta(delta) for delta in stream.deltas[:arrived]]
    assert statuses == [SyncStatus.NEEDS_SNAPSHOT] + [SyncStatus.BUFFERED] * (arrived - 1)
    assert not sync.book.synced

    assert sync.on_snapshot(stream.snapshot_at(taken_at)) is SyncStatus.SYNCED
    assert sync.book.sequence == newest
    assert_book_matches(sync.book, stream.market.state_at(newest))
    for delta in stream.deltas[arrived:]:
        assert sync.on_delta(delta) is SyncStatus.APPLIED
        assert_book_matches(sync.book, stream.market.state_at(delta.last_sequence))
    assert sync.gaps_detected == 0


@settings(deadline=None)
@given(streams(min_deltas=3), st.data())
def test_sync_detects_a_delta_lost_while_buffering(stream: Stream, data: st.DataObject) -> None:
    """A gap inside the buffer is found on replay; the deltas after it wait for a newer snapshot."""
    lost_at = data.draw(st.integers(1, len(stream.deltas) - 2), label="lost")
    lost = stream.deltas[lost_at]
    sync = BookSync(BTC)
    for delta in stream.deltas[:lost_at] + stream.deltas[lost_at + 1 :]:
        sync.on_delta(delta)
    before_gap = data.draw(st.integers(stream.start, lost.first_sequence - 2), label="old snapshot")
    assert sync.on_snapshot(stream.snapshot_at(before_gap)) is SyncStatus.RESYNC
    assert sync.gaps_detected == 1
    assert sync.state is BookSyncState.WAITING_FOR_SNAPSHOT
    assert not sync.book.synced
    assert sync.buffered == len(stream.deltas) - lost_at - 1

    after_gap = data.draw(st.integers(lost.last_sequence, stream.deltas[lost_at + 1].last_sequence))
    assert sync.on_snapshot(stream.snapshot_at(after_gap)) is SyncStatus.SYNCED
    assert_book_matches(sync.book, stream.market.state_at(stream.deltas[-1].last_sequence))


@settings(deadline=None)
@given(streams(), st.integers(1, 5))
def test_sync_refuses_a_snapshot_older_than_the_buffer(stream: Stream, age: int) -> None:
    sync = BookSync(BTC)
    for delta in stream.deltas:
        sync.on_delta(delta)
    too_old = stream.snapshot_at(stream.start)._replace(sequence=stream.start - age)
    assert sync.on_snapshot(too_old) is SyncStatus.NEEDS_SNAPSHOT
    assert sync.snapshots_too_old == 1
    assert sync.buffered == len(stream.deltas)
    assert sync.on_snapshot(stream.snapshot_at(stream.start)) is SyncStatus.SYNCED
    assert_book_matches(sync.book, stream.market.state_at(stream.deltas[-1].last_sequence))


@settings(deadline=None)
@given(streams(), st.data())
def test_a_crossing_delta_is_always_reported(stream: Stream, data: st.DataObject) -> None:
    """Any delta whose result has best bid >= best ask raises CrossedBook; nothing is repaired."""
    book = synced_book(stream)
    for delta in stream.deltas[:-1]:
        book.apply_delta(delta)
    ref = stream.market.state_at(book.sequence)
    side = data.draw(st.sampled_from(["bids", "asks"]), label="crossing side")
    other = ref.asks if side == "bids" else ref.bids
    if other:  # a bid at or above the best ask, or an ask at or below the best bid
        edge = min(other) if side == "bids" else max(other)
        tick = data.draw(st.integers(edge, MAX_TICK) if side == "bids" else st.integers(MIN_TICK, edge))
    else:  # the other side is empty: add one level there first, then cross it
        tick = data.draw(st.integers(MIN_TICK, MAX_TICK))
    level = (price(tick), Decimal(1))
    first = book.sequence + 1
    crossing = stream.deltas[-1]._replace(
        bids=(level,) if side == "bids" else ((level,) if not other else ()),
        asks=(level,) if side == "asks" else ((level,) if not other else ()),
        first_sequence=first,
        last_sequence=first,
    )
    with pytest.raises(CrossedBook):
        book.apply_delta(crossing)
    assert not book.synced
    assert book.sequence == first  # applied, then reported: the book is discarded anyway
    with pytest.raises(BookOutOfSync, match="crossed book"):
        book.apply_delta(crossing._replace(first_sequence=first + 1, last_sequence=first + 1))


@settings(deadline=None)
@given(markets(), st.data())
def test_walk_and_volume_agree_with_the_levels(market: Market, data: st.DataObject) -> None:
    book = OrderBook(BTC)
    book.apply_snapshot(market.ref.snapshot(market.sequence))
    side = data.draw(st.sampled_from(OrderSide), label="side")
    quantity = Decimal(data.draw(st.integers(1, 20_000), label="quantity cents")) / 100
    limit = price(data.draw(st.integers(MIN_TICK, MAX_TICK), label="limit tick"))
    before = (book.bids(), book.asks())
    opposite = book.asks() if side is OrderSide.BUY else book.bids()
    available = sum((size for _, size in opposite), Decimal(0))

    fills = book.walk(side, quantity)
    assert (book.bids(), book.asks()) == before
    assert sum((size for _, size in fills), Decimal(0)) == min(quantity, available)
    assert [p for p, _ in fills] == [p for p, _ in opposite[: len(fills)]]  # best first, no skips
    for (_, fill), (_, level) in zip(fills[:-1], opposite, strict=False):
        assert fill == level  # every level but the last is taken whole
    if fills:
        assert 0 < fills[-1][1] <= dict(opposite)[fills[-1][0]]

    limited = book.walk(side, Decimal(10) ** 9, limit_price=limit)
    volume = book.volume_up_to(side, limit)
    assert sum((size for _, size in limited), Decimal(0)) == volume
    for fill_price, _ in limited:
        assert fill_price <= limit if side is OrderSide.BUY else fill_price >= limit


# -- stateful: the book alone, against a model of what it must do with each delivery ---------


class OrderBookMachine(RuleBasedStateMachine):
    """Deliver, drop, duplicate and replay deltas of a true market; resnapshot at any id.

    The oracle: a delivered delta is refused when the book is out of sync, ignored when
    ``last <= sequence``, a gap when ``first > sequence + 1``, and otherwise leaves the book
    equal to the market's state at ``last``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.book = OrderBook(BTC)
        self.market = Market.start(RefBook(), 0)
        self.sent: list[BookDelta] = []
        self.synced = False

    @initialize(market=markets(), data=st.data())
    def start(self, market: Market, data: st.DataObject) -> None:
        self.market = market
        self.sent.append(data.draw(market_deltas(market), label="before the snapshot"))
        self.book.apply_snapshot(market.ref.snapshot(market.sequence))
        self.synced = True

    def deliver(self, delta: BookDelta) -> None:
        if not self.synced:
            with pytest.raises(BookOutOfSync):
                self.book.apply_delta(delta)
            return
        sequence = self.book.sequence
        if delta.last_sequence <= sequence:
            assert self.book.apply_delta(delta) is False
            assert self.book.sequence == sequence
        elif delta.first_sequence > sequence + 1:
            with pytest.raises(SequenceGap) as caught:
                self.book.apply_delta(delta)
            assert (caught.value.expected, caught.value.received) == (sequence + 1, delta.first_sequence)
            self.synced = False
        else:
            assert self.book.apply_delta(delta) is True
            assert self.book.sequence == delta.last_sequence

    @rule(data=st.data())
    def market_moves_and_delta_arrives(self, data: st.DataObject) -> None:
        delta = data.draw(market_deltas(self.market), label="delta")
        self.sent.append(delta)
        self.deliver(delta)

    @rule(data=st.data())
    def market_moves_and_delta_is_lost(self, data: st.DataObject) -> None:
        self.sent.append(data.draw(market_deltas(self.market), label="delta"))

    @rule(data=st.data())
    def an_old_delta_arrives_again(self, data: st.DataObject) -> None:
        self.deliver(data.draw(st.sampled_from(self.sent), label="replayed"))

    @rule(data=st.data())
    def resnapshot(self, data: st.DataObject) -> None:
        oldest = min(self.market.states)
        taken_at = data.draw(st.integers(max(oldest, self.market.sequence - 4), self.market.sequence))
        self.book.apply_snapshot(self.market.state_at(taken_at).snapshot(taken_at))
        self.synced = True

    @rule()
    def disconnect(self) -> None:
        self.book.invalidate("disconnected")
        self.synced = False

    @invariant()
    def book_is_the_market_at_its_sequence(self) -> None:
        assert self.book.synced is self.synced
        assert_not_crossed(self.book)
        if self.synced:
            assert_book_matches(self.book, self.market.state_at(self.book.sequence))


TestOrderBookMachine = OrderBookMachine.TestCase
TestOrderBookMachine.settings = settings(deadline=None)


# -- stateful: the sync procedure, against an independent model of the buffer ----------------


class BookSyncMachine(RuleBasedStateMachine):
    """The feed delivers, loses and repeats deltas; snapshots of any age arrive; it disconnects.

    The model keeps its own bounded buffer and predicts each status; the invariants say the
    synced book is always the market at its sequence and the sync never waits without having
    asked for a snapshot.
    """

    MAX_BUFFER = 6

    def __init__(self) -> None:
        super().__init__()
        self.sync = BookSync(BTC, max_buffer=self.MAX_BUFFER)
        self.market = Market.start(RefBook(), 0)
        self.sent: list[BookDelta] = []
        self.buffer: deque[BookDelta] = deque(maxlen=self.MAX_BUFFER)
        self.requested = False
        self.gaps = 0
        self.dropped = 0

    @initialize(market=markets(), data=st.data())
    def start(self, market: Market, data: st.DataObject) -> None:
        self.market = market
        self.sent.append(data.draw(market_deltas(market), label="before we listened"))

    def deliver(self, delta: BookDelta) -> None:
        sync = self.sync
        if sync.state is BookSyncState.SYNCED:
            sequence = sync.book.sequence
            status = sync.on_delta(delta)
            event(f"delta while synced: {status.name}")
            if delta.last_sequence <= sequence:
                assert status is SyncStatus.IGNORED
            elif delta.first_sequence > sequence + 1:
                assert status is SyncStatus.RESYNC
                self.gaps += 1
                self.buffer.clear()
                self.buffer.append(delta)
                self.requested = True
            else:
                assert status is SyncStatus.APPLIED
            return
        overflow = len(self.buffer) == self.MAX_BUFFER
        if overflow:
            event("buffer overflow")
            self.dropped += 1
        status = sync.on_delta(delta)
        self.buffer.append(delta)
        if not self.requested:
            assert status is SyncStatus.NEEDS_SNAPSHOT
        elif not overflow:
            assert status is SyncStatus.BUFFERED
        else:
            assert status in (SyncStatus.BUFFERED, SyncStatus.NEEDS_SNAPSHOT)
        self.requested = True

    @rule(data=st.data())
    def market_moves_and_delta_arrives(self, data: st.DataObject) -> None:
        delta = data.draw(market_deltas(self.market), label="delta")
        self.sent.append(delta)
        self.deliver(delta)

    @rule(data=st.data())
    def market_moves_and_delta_is_lost(self, data: st.DataObject) -> None:
        self.sent.append(data.draw(market_deltas(self.market), label="delta"))

    @rule(data=st.data())
    def an_old_delta_arrives_again(self, data: st.DataObject) -> None:
        self.deliver(data.draw(st.sampled_from(self.sent[-8:]), label="replayed"))

    @rule(data=st.data())
    def snapshot_arrives(self, data: st.DataObject) -> None:
        oldest = min(self.market.states)
        taken_at = data.draw(st.integers(max(oldest, self.market.sequence - 12), self.market.sequence))
        snapshot = self.market.state_at(taken_at).snapshot(taken_at)
        sync = self.sync
        if sync.state is BookSyncState.SYNCED:
            sequence = sync.book.sequence
            status = sync.on_snapshot(snapshot)
            assert status is (SyncStatus.IGNORED if taken_at <= sequence else SyncStatus.SYNCED)
            return
        status = sync.on_snapshot(snapshot)
        event(f"snapshot while waiting: {status.name}")
        assert status is self.predict(snapshot)

    def predict(self, snapshot: BookSnapshot) -> SyncStatus:
        """What the documented procedure says must happen; updates the model buffer."""
        buffer = self.buffer
        while buffer and buffer[0].last_sequence <= snapshot.sequence:
            buffer.popleft()
        if buffer and buffer[0].first_sequence > snapshot.sequence + 1:
            self.requested = True
            return SyncStatus.NEEDS_SNAPSHOT
        sequence = snapshot.sequence
        while buffer:
            delta = buffer.popleft()
            if delta.last_sequence <= sequence:
                continue
            if delta.first_sequence > sequence + 1:
                buffer.appendleft(delta)
                self.gaps += 1
                self.requested = True
                return SyncStatus.RESYNC
            sequence = delta.last_sequence
        self.requested = False
        return SyncStatus.SYNCED

    @rule()
    def disconnect(self) -> None:
        self.sync.reset("disconnected")
        self.buffer.clear()
        self.requested = False

    @invariant()
    def agrees_with_the_model(self) -> None:
        sync = self.sync
        assert sync.gaps_detected == self.gaps
        assert sync.deltas_dropped == self.dropped
        assert sync.crossed_detected == 0  # the stream is consistent: it never crosses
        assert_not_crossed(sync.book)
        if sync.state is BookSyncState.SYNCED:
            assert sync.book.synced
            assert sync.buffered == 0
            assert_book_matches(sync.book, self.market.state_at(sync.book.sequence))
        else:
            assert not sync.book.synced
            assert sync.buffered == len(self.buffer) <= self.MAX_BUFFER
            if sync.buffered:
                assert self.requested  # never waits for a snapshot nobody asked for


TestBookSyncMachine = BookSyncMachine.TestCase
TestBookSyncMachine.settings = settings(deadline=None)


def test_exported_snapshot_of_a_reference_round_trips() -> None:
    ref = RefBook({1: Decimal("0.5"), 3: Decimal(2)}, {7: Decimal(1)})
    book = OrderBook(BTC)
    book.apply_snapshot(ref.snapshot(42))
    assert_book_matches(book, ref)
    assert book.snapshot() == ref.snapshot(42)
