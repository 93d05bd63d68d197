"""BookSync: the venue's local-book procedure (snapshot, buffered deltas, gaps, resyncs)."""

from __future__ import annotations

import pytest

from domain.errors import InvalidValue
from domain.market_data import BookDelta, BookSnapshot
from domain.order_book import BookSync, BookSyncState, SyncStatus
from tests.unit.domain.order_book.support import BTC, ETH, D, delta, levels, snap

# -- the worked example of docs/venues.md, Local order book ---------------------------------


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
