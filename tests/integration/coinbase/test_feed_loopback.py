"""The Coinbase feed against the local Coinbase simulator over a real loopback WebSocket.

Every test binds port 0, uses short intervals, and is bounded by ``asyncio.wait_for``. A
downstream OrderBook is fed only the events the feed emits; it must equal the feed's book and,
between two market steps, the simulator's own.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from adapters.exchanges.coinbase.config import CoinbaseFeedConfig
from adapters.exchanges.coinbase.feed import CoinbaseMarketDataFeed
from adapters.exchanges.simulator.coinbase import CoinbaseSimulator
from adapters.system_clock import LiveClock
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookInvalidated, BookSnapshot, MarketEvent, QuoteTick, TradeTick
from domain.order_book import OrderBook

PRODUCTS = ("BTC-USD", "ETH-USD")
IDS = tuple(InstrumentId(f"{product}.COINBASE") for product in PRODUCTS)
TEST_TIMEOUT = 15.0


@dataclass
class Harness:
    """A simulator, a feed on it, and what a downstream consumer built from the feed's events."""

    sim: CoinbaseSimulator
    feed: CoinbaseMarketDataFeed
    books: dict[InstrumentId, OrderBook] = field(default_factory=lambda: {i: OrderBook(i) for i in IDS})
    trade_ids: dict[InstrumentId, list[str]] = field(default_factory=lambda: defaultdict(list))
    snapshots: int = 0
    quotes: int = 0
    invalidations: list[tuple[InstrumentId, int, str]] = field(default_factory=list)
    """(instrument, snapshots seen before it, reason): the invalidation must precede the resync."""
    sink_errors: list[str] = field(default_factory=list)

    def sink(self, event: MarketEvent) -> None:
        try:
            if isinstance(event, TradeTick):
                self.trade_ids[event.instrument_id].append(event.trade_id)
            elif isinstance(event, QuoteTick):
                assert event.bid_price <= event.ask_price
                self.quotes += 1
            elif isinstance(event, BookSnapshot):
                self.snapshots += 1
                self.books[event.instrument_id].apply_snapshot(event)
            elif isinstance(event, BookDelta):
                assert self.books[event.instrument_id].apply_delta(event)
            elif isinstance(event, BookInvalidated):
                self.invalidations.append((event.instrument_id, self.snapshots, event.reason))
                self.books[event.instrument_id].invalidate(event.reason)
        except Exception as exc:  # recorded, so a test fails loudly instead of the feed hiding it
            self.sink_errors.append(repr(exc))

    @property
    def trades(self) -> int:
        return sum(len(ids) for ids in self.trade_ids.values())

    def all_synced(self) -> bool:
        feed_books = [self.feed.book(instrument_id) for instrument_id in IDS]
        return all(book is not None and book.synced for book in feed_books) and all(
            book.synced for book in self.books.values()
        )

    def books_equal_the_simulators(self) -> bool:
        for instrument_id in IDS:
            expected = self.sim.book(instrument_id.symbol)
            book = self.books[instrument_id]
            if not book.synced or book.bids() != expected.bids or book.asks() != expected.asks:
                return False
        return True

    async def assert_books_match(self) -> None:
        """Synced, and at some moment between two steps every book equals the simulator's."""
        await wait_until(self.all_synced, "the books to be synced")
        await wait_until(self.books_equal_the_simulators, "the books to equal the simulator's")
        for instrument_id in IDS:
            feed_book = self.feed.book(instrument_id)
            assert feed_book is not None
            assert feed_book.bids() == self.books[instrument_id].bids()
            assert feed_book.asks() == self.books[instrument_id].asks()
        assert self.sink_errors == []
        assert all(ids == list(dict.fromkeys(ids)) for ids in self.trade_ids.values()), "a trade repeated"


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> float:
    """Poll ``predicate`` every 5 ms; returns the seconds it took, fails naming ``what``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.005)
    return time.monotonic() - started


@asynccontextmanager
async def running(sim_options: dict[str, Any] | None = None, **config: Any) -> AsyncIterator[Harness]:
    options: dict[str, Any] = {"products": PRODUCTS, "seed": 7, "rate": 40.0, "heartbeat_interval": 0.1}
    sim = CoinbaseSimulator(**{**options, **(sim_options or {})})
    await sim.start()
    settings: dict[str, Any] = {
        "instrument_ids": IDS,
        "ws_url": sim.ws_url,
        "rest_url": sim.rest_url,
        "reconnect_initial_delay": 0.05,
        "reconnect_max_delay": 0.3,
        "heartbeat_timeout": 0.6,
        "stale_after": 3.0,
        "open_timeout": 2.0,
        "use_system_proxy": False,
        **config,
    }
    feed = CoinbaseMarketDataFeed(CoinbaseFeedConfig(**settings), LiveClock(), rng=random.Random(3))
    harness = Harness(sim, feed)
    task = asyncio.create_task(feed.run(harness.sink))
    try:
        yield harness
    finally:
        await asyncio.wait_for(feed.stop(), 5)
        await asyncio.wait_for(task, 5)
        await sim.stop()


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), TEST_TIMEOUT))


async def synced_and_flowing(harness: Harness) -> None:
    await wait_until(
        lambda: harness.all_synced() and harness.trades > 5 and harness.sim.messages_received >= 4,
        "books synced, trades flowing, every channel subscribed",
    )


# -- the scenarios ---------------------------------------------------------------------------


def test_subscribes_and_keeps_books_equal_to_the_simulators() -> None:
    async def scenario() -> None:
        async with running() as h:
            await synced_and_flowing(h)
            # One subscribe per channel (level2, market_trades, ticker, heartbeats), paced.
            await wait_until(lambda: h.sim.messages_received == 4, "the four subscriptions")
            await asyncio.sleep(0.5)  # let updates go by
            await h.assert_books_match()

            health = h.feed.health()
            assert health.connected
            assert (health.reconnects, health.gaps, health.malformed, health.unknown) == (0, 0, 0, 0)
            assert h.quotes > 0
            assert h.snapshots == len(IDS)
            assert [i.instrument_id for i in health.instruments] == list(IDS)
            assert all(i.book_verified and i.last_message_ns for i in health.instruments)

    run(scenario)


def test_sequence_gap_invalidates_every_book_and_resubscribes_level2() -> None:
    async def scenario() -> None:
        async with running() as h:
            await synced_and_flowing(h)
            snapshots_before = h.snapshots

            h.sim.skip_sequence()

            await wait_until(lambda: h.feed.health().gaps == len(IDS), "the gap to be counted per instrument")
            await wait_until(lambda: h.snapshots == snapshots_before + len(IDS), "fresh snapshots")
            # Downstream books heard they were stale before the resync snapshots came.
            assert [(i, n) for i, n, _ in h.invalidations] == [(i, snapshots_before) for i in IDS]
            assert "sequence gap" in h.invalidations[0][2]
            await h.assert_books_match()
            health = h.feed.health()
            assert health.reconnects == 0
            assert all(i.resubscriptions == 1 and i.book_verified for i in health.instruments)
            assert h.sim.messages_received == 4 + 2  # unsubscribe + subscribe level2

    run(scenario)


def test_heartbeats_stopping_makes_the_books_stale_then_they_recover() -> None:
    async def scenario() -> None:
        async with running() as h:
            await synced_and_flowing(h)
            snapshots_before = h.snapshots

            h.sim.stop_heartbeats(1.0)

            await wait_until(lambda: len(h.invalidations) == len(IDS), "the books to be invalidated")
            assert "heartbeats stopped" in h.invalidations[0][2]
            assert not any(h.feed.book(i).synced for i in IDS)  # type: ignore[union-attr]
            await wait_until(lambda: h.feed.health().reconnects >= 1, "a new connection")
            await wait_until(lambda: h.snapshots >= snapshots_before + len(IDS), "resync", timeout=8)
            await h.assert_books_match()
            # Heartbeats flow again: the connection now stays.
            reconnects = h.feed.health().reconnects
            await asyncio.sleep(1.0)
            assert h.feed.health().reconnects == reconnects
            assert h.all_synced()

    run(scenario)


def test_a_dropped_connection_reconnects_resubscribes_and_resyncs() -> None:
    async def scenario() -> None:
        async with running() as h:
            await synced_and_flowing(h)
            snapshots_before = h.snapshots
            received_before = h.sim.messages_received

            assert h.sim.drop_connections() == 1

            await wait_until(lambda: h.feed.health().reconnects == 1, "the reconnection")
            await wait_until(lambda: h.snapshots == snapshots_before + len(IDS), "fresh snapshots")
            assert h.sim.connection_count == 1
            assert h.sim.messages_received == received_before + 4  # subscribed again
            assert {i for i, _, _ in h.invalidations} == set(IDS)
            trades_before = h.trades
            await wait_until(lambda: h.trades > trades_before, "trades flowing again")
            await h.assert_books_match()

    run(scenario)


def test_garbage_is_counted_and_the_stream_carries_on() -> None:
    async def scenario() -> None:
        async with running() as h:
            await synced_and_flowing(h)

            h.sim.send_garbage(12)

            await wait_until(
                lambda: h.feed.health().malformed + h.feed.health().unknown >= 12, "the garbage to be counted"
            )
            health = h.feed.health()
            assert health.malformed > 0
            assert health.unknown > 0
            assert health.reconnects == 0
            await h.assert_books_match()

    run(scenario)
