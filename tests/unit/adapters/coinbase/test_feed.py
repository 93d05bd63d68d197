"""CoinbaseMarketDataFeed's protocol side, driven frame by frame over a fake link: subscriptions,
sequence gaps and out-of-order numbers, heartbeat staleness, malformed and unknown frames."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import orjson

from adapters.exchanges.coinbase.config import CoinbaseFeedConfig
from adapters.exchanges.coinbase.feed import CoinbaseMarketDataFeed
from adapters.exchanges.streaming.connection import Link
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookInvalidated, BookSnapshot, MarketEvent, TradeTick

BTC = InstrumentId("BTC-USD.COINBASE")
ETH = InstrumentId("ETH-USD.COINBASE")
NOW = "2023-02-09T20:32:50.714964855Z"
Level = tuple[str, str, str]


class FakeClock:
    def now_ns(self) -> int:
        return 1_700_000_000_000_000_000


class FakeLink:
    """Records what the feed sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


class Driver:
    """A feed, its fake link, and the events it emitted."""

    def __init__(self, **config: Any) -> None:
        settings: dict[str, Any] = {"instrument_ids": (BTC, ETH), **config}
        self.feed = CoinbaseMarketDataFeed(CoinbaseFeedConfig(**settings), FakeClock())
        self.link = FakeLink()
        self.events: list[MarketEvent] = []
        self.feed._sink = self.events.append  # what run() installs; run() is not used here
        self.sequence = 0

    async def open(self) -> None:
        await self.feed.on_open(cast(Link, self.link))

    def frame(self, channel: str, events: list[Any], *, sequence: int | None = None) -> None:
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        else:
            self.sequence = max(self.sequence, sequence)
        raw = orjson.dumps(
            {
                "channel": channel,
                "client_id": "",
                "timestamp": NOW,
                "sequence_num": sequence,
                "events": events,
            }
        )
        self.feed.on_frame(raw, 1, cast(Link, self.link))

    def book(
        self, product: str, kind: str, *levels: tuple[str, str, str], sequence: int | None = None
    ) -> None:
        updates = [
            {"side": side, "event_time": NOW, "price_level": price, "new_quantity": size}
            for side, price, size in levels
        ]
        self.frame("l2_data", [{"type": kind, "product_id": product, "updates": updates}], sequence=sequence)

    def snapshots(self) -> None:
        self.book("BTC-USD", "snapshot", ("bid", "100", "1"), ("offer", "101", "1"))
        self.book("ETH-USD", "snapshot", ("bid", "10", "1"), ("ask", "11", "1"))

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if type(event) is kind]


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 5))


def test_subscribes_one_message_per_channel_then_heartbeats() -> None:
    async def scenario() -> None:
        driver = Driver()
        await driver.open()
        products = ["BTC-USD", "ETH-USD"]
        assert driver.link.sent == [
            {"type": "subscribe", "product_ids": products, "channel": "level2"},
            {"type": "subscribe", "product_ids": products, "channel": "market_trades"},
            {"type": "subscribe", "product_ids": products, "channel": "ticker"},
            {"type": "subscribe", "channel": "heartbeats"},
        ]

    run(scenario)


def test_snapshot_then_updates_are_emitted_and_health_says_verified() -> None:
    async def scenario() -> None:
        driver = Driver()
        await driver.open()
        driver.snapshots()
        driver.book("BTC-USD", "update", ("bid", "100", "0"), ("bid", "99.5", "2"))
        assert [type(e) for e in driver.events] == [BookSnapshot, BookSnapshot, BookDelta]
        book = driver.feed.book(BTC)
        assert book is not None
        assert book.best_bid() is not None
        assert str(book.best_bid()[0]) == "99.5"  # type: ignore[index]
        health = driver.feed.health()
        assert all(i.book_verified and i.last_message_ns == 1 for i in health.instruments)
        assert health.gaps == 0

    run(scenario)


def test_a_gap_invalidates_every_book_and_resubscribes_level2() -> None:
    async def scenario() -> None:
        driver = Driver()
        await driver.open()
        driver.snapshots()
        driver.link.sent.clear()

        driver.book("BTC-USD", "update", ("bid", "99", "1"), sequence=driver.sequence + 2)

        assert [
            (e.instrument_id, "expected 3, received 4" in e.reason) for e in driver.of(BookInvalidated)
        ] == [
            (BTC, True),
            (ETH, True),
        ]
        assert driver.of(BookDelta) == []  # the update after the gap waits for the new snapshot
        await asyncio.sleep(0)
        products = ["BTC-USD", "ETH-USD"]
        assert driver.link.sent == [
            {"type": "unsubscribe", "product_ids": products, "channel": "level2"},
            {"type": "subscribe", "product_ids": products, "channel": "level2"},
        ]
        health = driver.feed.health()
        assert [(i.gaps, i.resubscriptions, i.book_verified) for i in health.instruments] == [
            (1, 1, False)
        ] * 2

        driver.snapshots()
        assert len(driver.of(BookSnapshot)) == 4
        assert all(i.book_verified for i in driver.feed.health().instruments)
        assert driver.feed.staleness(time.monotonic() + 2.5) is None  # the resubscription completed

    run(scenario)


def test_an_old_sequence_number_is_ignored() -> None:
    async def scenario() -> None:
        driver = Driver()
        await driver.open()
        driver.snapshots()
        driver.book("BTC-USD", "update", ("bid", "99", "1"), sequence=2)
        driver.book("BTC-USD", "update", ("bid", "98", "1"), sequence=1)
        assert driver.of(BookDelta) == []
        assert driver.feed.out_of_order == 2
        assert driver.feed.health().gaps == 0

    run(scenario)


def test_heartbeats_stopping_is_staleness_and_a_lost_connection_invalidates() -> None:
    async def scenario() -> None:
        driver = Driver(heartbeat_timeout=3.0)
        await driver.open()
        driver.snapshots()
        now = time.monotonic()
        assert driver.feed.staleness(now) is None
        reason = driver.feed.staleness(now + 3.5)
        assert reason is not None
        assert "heartbeats stopped" in reason
        driver.frame("heartbeats", [{"current_time": "x", "heartbeat_counter": 5}])
        assert driver.feed.staleness(time.monotonic()) is None

        driver.feed.on_lost(reason)
        assert [e.instrument_id for e in driver.of(BookInvalidated)] == [BTC, ETH]
        assert driver.feed.staleness(now + 100) is None  # no connection, no heartbeat due

    run(scenario)


def test_a_resubscription_without_a_snapshot_in_time_is_staleness() -> None:
    async def scenario() -> None:
        driver = Driver(heartbeat_timeout=100.0, open_timeout=1.0)
        await driver.open()
        driver.snapshots()
        driver.book("BTC-USD", "update", ("bid", "99", "1"), sequence=driver.sequence + 5)
        reason = driver.feed.staleness(time.monotonic() + 1.5)
        assert reason is not None
        assert "no level2 snapshot" in reason

    run(scenario)


def test_a_malformed_level2_frame_is_a_lost_update_and_other_channels_are_not() -> None:
    async def scenario() -> None:
        driver = Driver()
        await driver.open()
        driver.snapshots()
        driver.frame("ticker", [{"type": "update", "tickers": "broken"}])  # number 3: taken
        driver.book("BTC-USD", "update", ("bid", "NaN", "1"))  # number 4: not taken
        assert driver.feed.health().malformed == 2
        assert driver.of(BookInvalidated) == []
        driver.book("BTC-USD", "update", ("bid", "99", "1"))  # number 5: a gap after 3
        assert len(driver.of(BookInvalidated)) == 2
        assert driver.feed.health().gaps == 2

    run(scenario)


def test_unknown_channels_and_types_are_counted_and_their_numbers_followed() -> None:
    async def scenario() -> None:
        driver = Driver()
        await driver.open()
        driver.snapshots()
        driver.frame("candles", [{"type": "snapshot", "candles": []}])
        driver.frame("l2_data", [{"type": "rebate"}])
        driver.feed.on_frame(b'{"type":"mystery"}', 1, cast(Link, driver.link))
        driver.book("BTC-USD", "update", ("bid", "99", "1"))
        health = driver.feed.health()
        assert (health.unknown, health.malformed, health.gaps) == (3, 0, 0)
        assert len(driver.of(BookDelta)) == 1

    run(scenario)


def test_a_crossing_update_resyncs_only_its_product() -> None:
    async def scenario() -> None:
        driver = Driver()
        await driver.open()
        driver.snapshots()
        driver.link.sent.clear()
        driver.book("BTC-USD", "update", ("bid", "102", "1"))
        assert [e.instrument_id for e in driver.of(BookInvalidated)] == [BTC]
        await asyncio.sleep(0)
        assert [m["product_ids"] for m in driver.link.sent] == [["BTC-USD"], ["BTC-USD"]]
        assert driver.feed.book(ETH).synced  # type: ignore[union-attr]

    run(scenario)


def test_trades_history_is_remembered_then_only_new_trades_pass() -> None:
    async def scenario() -> None:
        driver = Driver(trade_side_is_maker=True)
        await driver.open()

        def trade(trade_id: str, side: str = "BUY") -> dict[str, str]:
            return {
                "trade_id": trade_id,
                "product_id": "BTC-USD",
                "price": "100",
                "size": "1",
                "side": side,
                "time": "2023-02-09T20:32:50.1Z",
            }

        driver.frame("market_trades", [{"type": "snapshot", "trades": [trade("1"), trade("2")]}])
        assert driver.of(TradeTick) == []  # history from before we listened
        driver.frame("market_trades", [{"type": "update", "trades": [trade("3", "SELL")]}])
        driver.frame("market_trades", [{"type": "snapshot", "trades": [trade("2"), trade("3"), trade("4")]}])
        ticks = driver.of(TradeTick)
        assert [t.trade_id for t in ticks] == ["3", "4"]
        assert ticks[0].aggressor.name == "BUYER"  # the maker sold
        assert driver.feed.duplicates == 2

    run(scenario)
