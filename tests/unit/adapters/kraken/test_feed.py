"""KrakenMarketDataFeed's handling of frames, without a network: a fake link records what it sends."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, cast

from adapters.exchanges.kraken.config import KrakenFeedConfig
from adapters.exchanges.kraken.feed import KrakenMarketDataFeed
from adapters.exchanges.streaming.connection import Link
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookInvalidated, BookSnapshot, MarketEvent, QuoteTick, TradeTick
from tests.unit.adapters.kraken.vectors import (
    BOOK_SNAPSHOT,
    BOOK_UPDATE,
    INSTRUMENT_SNAPSHOT,
    TICKER_SNAPSHOT,
    TRADE_UPDATE,
)

MATIC = InstrumentId("MATIC-USD.KRAKEN")


class FakeClock:
    def now_ns(self) -> int:
        return 1_700_000_000_000_000_000


class FakeLink:
    """What the feed sends, as decoded JSON."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, message: object) -> None:
        self.sent.append(cast(dict[str, Any], message))


def _feed(**settings: Any) -> tuple[KrakenMarketDataFeed, list[MarketEvent]]:
    config = KrakenFeedConfig(instrument_ids=(MATIC,), **settings)
    feed = KrakenMarketDataFeed(config, FakeClock())
    events: list[MarketEvent] = []
    feed._sink = events.append
    return feed, events


def _frame(feed: KrakenMarketDataFeed, raw: bytes, link: FakeLink | None = None) -> None:
    feed.on_frame(raw, 1, cast(Link, link or FakeLink()))


def test_configured_precisions_verify_the_published_book() -> None:
    feed, events = _feed(precisions={"MATIC/USD": [4, 8]})
    _frame(feed, BOOK_SNAPSHOT)
    _frame(feed, BOOK_UPDATE)
    assert [type(e) for e in events] == [BookSnapshot, BookDelta]
    (health,) = feed.health().instruments
    assert health.book_verified
    assert health.checksum_failures == 0


def test_without_a_precision_the_book_streams_but_is_never_verified() -> None:
    feed, events = _feed()
    _frame(feed, BOOK_SNAPSHOT)
    _frame(feed, BOOK_UPDATE)
    assert [type(e) for e in events] == [BookSnapshot, BookDelta]
    assert not feed.health().instruments[0].book_verified


def test_a_mismatch_invalidates_resubscribes_once_and_drops_updates_until_the_snapshot() -> None:
    async def scenario() -> None:
        feed, events = _feed(precisions={"MATIC/USD": [5, 8]})  # the wrong precision: every checksum fails
        link = FakeLink()
        _frame(feed, BOOK_SNAPSHOT, link)
        _frame(feed, BOOK_UPDATE, link)
        await asyncio.sleep(0)
        assert [type(e) for e in events] == [BookInvalidated]
        assert [(m["method"], m["params"]["channel"]) for m in link.sent] == [
            ("unsubscribe", "book"),
            ("subscribe", "book"),
        ]
        assert link.sent[1]["params"] == {
            "channel": "book",
            "symbol": ["MATIC/USD"],
            "depth": 10,
            "snapshot": True,
        }
        assert feed.ignored_updates == 1
        (health,) = feed.health().instruments
        assert (health.checksum_failures, health.resubscriptions) == (1, 1)
        # the snapshot that does not come makes the connection stale
        assert feed.staleness(time.monotonic() + 11) is not None

    asyncio.run(scenario())


def test_the_instrument_channel_sets_the_precision() -> None:
    feed, _ = _feed()
    _frame(
        feed,
        INSTRUMENT_SNAPSHOT.replace(b"BTC/USD", b"MATIC/USD").replace(
            b'"price_precision":1', b'"price_precision":4'
        ),
    )
    assert feed.precision("MATIC/USD") == (4, 8)
    book = feed.book(MATIC)
    assert book is not None
    assert book.precision == (4, 8)


def test_trades_tickers_and_unknown_pairs() -> None:
    feed, events = _feed()
    _frame(feed, TRADE_UPDATE)
    _frame(feed, TRADE_UPDATE)  # the same trade id again: dropped
    _frame(feed, TICKER_SNAPSHOT)  # ALGO/USD: not subscribed
    _frame(feed, TICKER_SNAPSHOT.replace(b"ALGO/USD", b"MATIC/USD"))
    assert [type(e) for e in events] == [TradeTick, QuoteTick]
    assert feed.duplicates == 1
    assert feed.unknown == 1


def test_malformed_and_unknown_frames_are_counted() -> None:
    feed, events = _feed()
    for raw in (
        b"nope",
        b'{"channel":"ohlc"}',
        json.dumps({"channel": "book", "type": "update", "data": [7]}).encode(),
    ):
        _frame(feed, raw)
    assert events == []
    assert (feed.malformed, feed.unknown) == (2, 1)
    assert feed.health().messages == 3


def test_stale_when_neither_heartbeat_nor_data_came_for_heartbeat_timeout() -> None:
    feed, _ = _feed(heartbeat_timeout=2)
    _frame(feed, b'{"channel":"heartbeat"}')
    now = time.monotonic()
    assert feed.staleness(now + 1) is None
    reason = feed.staleness(now + 3)
    assert reason is not None
    assert "no heartbeat" in reason
