"""The Kraken feed against the local Kraken v2 simulator over a real loopback WebSocket.

Every test binds port 0, uses short intervals, and is bounded by ``asyncio.wait_for``. A
downstream OrderBook is fed only the events the feed emits: it must equal the feed's book
and the simulator's book cut to the subscribed depth.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.exchanges.kraken.config import KrakenFeedConfig
from adapters.exchanges.kraken.feed import KrakenMarketDataFeed
from adapters.exchanges.simulator.kraken import KrakenSimulator
from adapters.system_clock import LiveClock
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookInvalidated, BookSnapshot, MarketEvent, QuoteTick, TradeTick
from domain.order_book import OrderBook

PAIRS = ("BTC/USD", "ETH/USD")
IDS = tuple(InstrumentId(f"{pair.replace('/', '-')}.KRAKEN") for pair in PAIRS)
DEPTH = 10
TEST_TIMEOUT = 15.0


@dataclass
class Harness:
    """A simulator, a feed on it, and what a downstream consumer built from the feed's events."""

    sim: KrakenSimulator
    feed: KrakenMarketDataFeed
    books: dict[InstrumentId, OrderBook] = field(default_factory=lambda: {i: OrderBook(i) for i in IDS})
    trade_ids: dict[InstrumentId, list[int]] = field(default_factory=lambda: defaultdict(list))
    snapshots: int = 0
    quotes: int = 0
    invalidations: list[tuple[InstrumentId, int]] = field(default_factory=list)
    """(instrument, snapshots seen before it): the invalidation must precede the resync."""
    sink_errors: list[str] = field(default_factory=list)

    def sink(self, event: MarketEvent) -> None:
        try:
            if isinstance(event, TradeTick):
                self.trade_ids[event.instrument_id].append(int(event.trade_id))
            elif isinstance(event, QuoteTick):
                self.quotes += 1
                assert event.bid_price < event.ask_price
            elif isinstance(event, BookSnapshot):
                self.snapshots += 1
                self.books[event.instrument_id].apply_snapshot(event)
            elif isinstance(event, BookDelta):
                self.books[event.instrument_id].apply_delta(event)
            elif isinstance(event, BookInvalidated):
                self.invalidations.append((event.instrument_id, self.snapshots))
                self.books[event.instrument_id].invalidate(event.reason)
        except Exception as exc:  # recorded, so a test fails loudly instead of the feed hiding it
            self.sink_errors.append(repr(exc))

    @property
    def trades(self) -> int:
        return sum(len(ids) for ids in self.trade_ids.values())

    def all_verified(self) -> bool:
        health = self.feed.health()
        verified = {i.instrument_id for i in health.instruments if i.book_verified}
        return verified >= set(IDS) and all(b.synced for b in self.books.values())

    def books_equal_the_simulators(self) -> bool:
        for pair, instrument_id in zip(PAIRS, IDS, strict=True):
            expected = self.sim.book(pair)
            feed_book = self.feed.book(instrument_id)
            book = self.books[instrument_id]
            if feed_book is None or not feed_book.synced or not book.synced:
                return False
            if book.bids() != expected.bids[:DEPTH] or book.asks() != expected.asks[:DEPTH]:
                return False
            if feed_book.bids() != book.bids() or feed_book.asks() != book.asks():
                return False
        return True

    async def assert_books_match_simulator(self) -> None:
        """Between two market steps the stream has caught up: every level equal, at depth."""
        await wait_until(self.books_equal_the_simulators, "the books to equal the simulator's")
        assert self.sink_errors == []


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
    sim = KrakenSimulator(
        **{"symbols": PAIRS, "seed": 7, "rate": 20.0, "heartbeat_interval": 0.2, **(sim_options or {})}
    )
    await sim.start()
    settings: dict[str, Any] = {
        "instrument_ids": IDS,
        "ws_url": sim.ws_url,
        "book_depth": DEPTH,
        "reconnect_initial_delay": 0.05,
        "reconnect_max_delay": 0.3,
        "heartbeat_timeout": 1.0,
        "stale_after": 5.0,
        "open_timeout": 2.0,
        **config,
    }
    feed = KrakenMarketDataFeed(KrakenFeedConfig(**settings), LiveClock(), rng=random.Random(3))
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


async def verified_and_flowing(harness: Harness) -> None:
    await wait_until(lambda: harness.all_verified() and harness.trades > 5, "verified books and trades")


# -- the scenarios -----------------------------------------------------------------------------


def test_precisions_first_then_verified_books_equal_to_the_simulators() -> None:
    async def scenario() -> None:
        async with running() as h:
            await verified_and_flowing(h)
            # The instrument channel came first: the very first snapshot was already verified.
            assert h.feed.precision("BTC/USD") == (h.sim.price_places, h.sim.qty_places)
            assert h.snapshots == len(IDS)
            await asyncio.sleep(0.5)
            await h.assert_books_match_simulator()

            health = h.feed.health()
            assert health.connected
            assert (health.reconnects, health.malformed, health.checksum_failures) == (0, 0, 0)
            for instrument in health.instruments:
                assert instrument.book_verified
                assert instrument.last_message_ns is not None
                assert instrument.resubscriptions == 0
            assert h.quotes > 0
            for ids in h.trade_ids.values():
                assert ids == sorted(set(ids))
            assert h.feed.acks >= 1 + 3 * len(PAIRS)  # instrument, then one per pair and channel
            assert h.feed.system_status == "online"

    run(scenario)


@pytest.mark.parametrize("fault", ["corrupt_checksum", "drop_update"])
def test_a_broken_checksum_invalidates_and_rebuilds_the_book(fault: str) -> None:
    async def scenario() -> None:
        async with running() as h:
            await verified_and_flowing(h)
            snapshots_before = h.snapshots

            getattr(h.sim, fault)("BTC/USD")

            await wait_until(lambda: h.feed.health().checksum_failures == 1, "the checksum failure")
            await wait_until(lambda: h.snapshots == snapshots_before + 1, "the snapshot of the rebuilt book")
            assert h.invalidations == [(IDS[0], snapshots_before)]
            await wait_until(h.all_verified, "the book to verify again")
            await h.assert_books_match_simulator()
            health = h.feed.health()
            assert health.reconnects == 0
            btc, eth = health.instruments
            assert (btc.checksum_failures, btc.resubscriptions) == (1, 1)
            assert (eth.checksum_failures, eth.resubscriptions) == (0, 0)
            assert "BTC/USD book checksum mismatch" in health.last_error

    run(scenario)


def test_stopped_heartbeats_on_a_quiet_market_make_it_stale_then_it_recovers() -> None:
    async def scenario() -> None:
        async with running({"rate": 0.4}) as h:
            await wait_until(h.all_verified, "verified books")
            h.sim.stop_heartbeats(2.5)

            await wait_until(
                lambda: h.feed.health().reconnects >= 1, "a reconnect after the heartbeats stopped"
            )
            assert "no heartbeat" in h.feed.health().last_error
            assert h.invalidations
            await asyncio.sleep(2.5)
            reconnects = h.feed.health().reconnects
            await wait_until(h.all_verified, "the books to be verified again")
            await asyncio.sleep(1.5)  # heartbeats are back: no more reconnects
            assert h.feed.health().reconnects == reconnects
            assert h.sim.connection_count == 1
            await h.assert_books_match_simulator()

    run(scenario)


def test_data_keeps_a_connection_alive_without_heartbeats() -> None:
    async def scenario() -> None:
        async with running() as h:
            await verified_and_flowing(h)
            h.sim.stop_heartbeats(2.0)
            await asyncio.sleep(2.0)
            assert h.feed.health().reconnects == 0

    run(scenario)


def test_dropped_connections_reconnect_and_resubscribe() -> None:
    async def scenario() -> None:
        async with running() as h:
            await verified_and_flowing(h)
            snapshots_before = h.snapshots

            assert h.sim.drop_connections() == 1

            await wait_until(lambda: h.feed.health().reconnects == 1, "the reconnect")
            await wait_until(lambda: h.snapshots == snapshots_before + len(IDS), "fresh snapshots")
            assert sorted(i for i, _ in h.invalidations) == sorted(IDS)
            await wait_until(h.all_verified, "the books to verify again")
            await h.assert_books_match_simulator()
            assert h.sim.connection_count == 1

    run(scenario)


def test_garbage_is_counted_never_raised() -> None:
    async def scenario() -> None:
        async with running() as h:
            await verified_and_flowing(h)
            h.sim.send_garbage(30)
            await wait_until(lambda: h.feed.malformed + h.feed.unknown >= 30, "the garbage to be counted")
            assert h.feed.malformed > 0
            assert h.feed.unknown > 0
            await h.assert_books_match_simulator()
            assert h.feed.health().reconnects == 0

    run(scenario)


def test_a_refused_pair_is_named_and_the_others_stream(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with running(instrument_ids=(*IDS, InstrumentId("XRP-USD.KRAKEN"))) as h:
            await verified_and_flowing(h)
            assert h.feed.refusals == 3  # book, trade and ticker
            assert "subscribe ticker XRP/USD refused" in h.feed.health().last_error
            xrp = h.feed.health().instruments[-1]
            assert not xrp.book_verified

    with caplog.at_level(logging.WARNING):
        run(scenario)
    assert any(
        "XRP/USD" in record.getMessage() and "refused" in record.getMessage() for record in caplog.records
    )


def test_application_pings_are_answered() -> None:
    async def scenario() -> None:
        async with running(ping_interval_s=0.2) as h:
            await wait_until(lambda: h.feed.pongs >= 2, "two pongs")

    run(scenario)
