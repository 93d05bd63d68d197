"""The Binance feed against the local exchange simulator over a real loopback WebSocket.

Every test binds port 0, uses short intervals, and is bounded by ``asyncio.wait_for``.
A downstream OrderBook is fed only the events the feed emits: it must always equal the
simulator's own book once the simulator is paused and the stream has caught up.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from adapters.exchanges.binance.config import BinanceFeedConfig
from adapters.exchanges.binance.feed import BinanceMarketDataFeed
from adapters.exchanges.simulator.market import RandomWalkMarket
from adapters.exchanges.simulator.server import ExchangeSimulator
from adapters.system_clock import LiveClock
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookInvalidated, BookSnapshot, MarketEvent, QuoteTick, TradeTick
from domain.order_book import OrderBook

SYMBOLS = ("BTCUSDT", "ETHUSDT")
IDS = tuple(InstrumentId(f"{symbol}.BINANCE") for symbol in SYMBOLS)
TEST_TIMEOUT = 10.0


@dataclass
class Harness:
    """A simulator, a feed on it, and what a downstream consumer built from the feed's events."""

    sim: ExchangeSimulator
    feed: BinanceMarketDataFeed
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

    def all_synced(self) -> bool:
        """The feed's books and the downstream ones all synced (a reset feed book resyncs later)."""
        feed_books = [self.feed.book(instrument_id) for instrument_id in IDS]
        return all(book is not None and book.synced for book in feed_books) and all(
            book.synced for book in self.books.values()
        )

    async def assert_books_match_simulator(self) -> None:
        """Once synced, pause the market, let the stream drain, compare every level; then resume."""
        await wait_until(self.all_synced, "the books to be synced")
        self.sim.pause()
        try:
            await wait_until(
                lambda: all(
                    self.books[i].synced and self.books[i].sequence == self.sim.book(i.symbol).last_update_id
                    for i in IDS
                ),
                "the downstream books to catch up with the simulator",
            )
            for instrument_id in IDS:
                expected = self.sim.book(instrument_id.symbol)
                book = self.books[instrument_id]
                assert book.bids() == expected.bids
                assert book.asks() == expected.asks
                feed_book = self.feed.book(instrument_id)
                assert feed_book is not None
                assert feed_book.bids() == expected.bids
                assert feed_book.asks() == expected.asks
        finally:
            self.sim.resume()
        assert self.sink_errors == []


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> float:
    """Poll ``predicate`` every 10 ms; returns the seconds it took, fails naming ``what``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def feed_config(sim: ExchangeSimulator, **overrides: Any) -> BinanceFeedConfig:
    settings: dict[str, Any] = {
        "instrument_ids": IDS,
        "ws_url": sim.ws_url,
        "rest_url": sim.rest_url,
        "reconnect_initial_delay": 0.05,
        "reconnect_max_delay": 0.3,
        "stale_after": 2.0,
        "handover_timeout": 2.0,
        "open_timeout": 2.0,
        "snapshot_timeout": 2.0,
        "snapshot_min_interval": 0.05,
        "use_system_proxy": False,
        **overrides,
    }
    return BinanceFeedConfig(**settings)


@asynccontextmanager
async def running(
    sim_options: dict[str, Any] | None = None, *, paused: bool = False, **config: Any
) -> AsyncIterator[Harness]:
    sim = ExchangeSimulator(**{"symbols": SYMBOLS, "seed": 7, "rate": 200, **(sim_options or {})})
    if paused:
        sim.pause()
    await sim.start()
    feed = BinanceMarketDataFeed(feed_config(sim, **config), LiveClock(), rng=random.Random(3))
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
    await wait_until(lambda: harness.all_synced() and harness.trades > 10, "books synced and trades flowing")


# -- the scenarios -----------------------------------------------------------------------------


def test_book_sync_downstream_book_equals_the_simulators() -> None:
    async def scenario() -> None:
        async with running() as h:
            await synced_and_flowing(h)
            await asyncio.sleep(0.3)  # let a few hundred diffs go by

            await h.assert_books_match_simulator()

            health = h.feed.health()
            assert health.connected
            assert health.messages > 100
            assert health.last_message_ns is not None
            assert (health.reconnects, health.gaps, health.malformed) == (0, 0, 0)
            assert h.quotes > 0
            assert h.snapshots == len(IDS)
            assert [i.instrument_id for i in health.instruments] == list(IDS)
            assert all(i.book_verified and i.gaps == 0 for i in health.instruments)

    run(scenario)


def test_gap_is_counted_and_the_book_resyncs_from_a_new_snapshot() -> None:
    async def scenario() -> None:
        async with running() as h:
            await synced_and_flowing(h)
            snapshots_before = h.snapshots

            h.sim.skip_sequence("BTCUSDT")

            await wait_until(lambda: h.feed.health().gaps == 1, "the gap to be counted")
            await wait_until(lambda: h.snapshots == snapshots_before + 1, "a new snapshot after the gap")
            # Downstream books were told they were stale before the resync snapshot came.
            assert h.invalidations == [(IDS[0], snapshots_before)]
            await h.assert_books_match_simulator()
            assert h.feed.health().reconnects == 0
            assert [i.gaps for i in h.feed.health().instruments] == [1] + [0] * (len(IDS) - 1)

    run(scenario)


def test_disconnect_reconnects_with_backoff_and_resyncs_the_books() -> None:
    async def scenario() -> None:
        async with running() as h:
            await synced_and_flowing(h)
            snapshots_before = h.snapshots

            assert h.sim.drop_connections() == 1
            await wait_until(lambda: not h.feed.health().connected, "the loss to be noticed", timeout=2)
            trades_after_drop = h.trades

            await wait_until(
                lambda: h.feed.health().reconnects == 1 and h.feed.health().connected, "a reconnect"
            )
            await wait_until(lambda: h.trades > trades_after_drop + 10, "trades to flow again")
            await wait_until(lambda: h.snapshots == snapshots_before + len(IDS), "both books resynced")
            assert sorted(h.invalidations) == sorted((i, snapshots_before) for i in IDS)
            await h.assert_books_match_simulator()
            assert "connection lost" in h.feed.health().last_error

    run(scenario)


def test_garbage_frames_are_counted_and_the_feed_keeps_going() -> None:
    async def scenario() -> None:
        async with running() as h:
            await synced_and_flowing(h)
            trades_before = h.trades

            h.sim.send_garbage(9)

            await wait_until(lambda: h.feed.health().malformed == 9, "nine malformed frames counted")
            await wait_until(lambda: h.trades > trades_before + 20, "trades after the garbage")
            health = h.feed.health()
            assert health.connected
            assert health.reconnects == 0
            assert health.last_error.startswith("malformed frame")
            await h.assert_books_match_simulator()

    run(scenario)


def test_silence_is_reported_stale_within_stale_after_then_recovers() -> None:
    async def scenario() -> None:
        async with running(stale_after=0.4) as h:
            await synced_and_flowing(h)
            assert not h.feed.stale

            h.sim.go_silent(1.5)
            took = await wait_until(lambda: h.feed.stale, "the feed to report stale", timeout=2)

            assert took <= 0.4 + 0.3  # stale_after plus frames still in flight and polling
            await wait_until(lambda: h.feed.health().reconnects >= 1, "a stale connection to be replaced")
            assert "stale" in h.feed.health().last_error
            await wait_until(lambda: not h.feed.stale, "data to flow again", timeout=3)
            trades = h.trades
            await wait_until(lambda: h.trades > trades + 10, "trades after the silence")
            await h.assert_books_match_simulator()

    run(scenario)


def test_server_shutdown_opens_the_new_connection_first_and_loses_no_trade() -> None:
    async def scenario() -> None:
        async with running({"rate": 1000}) as h:  # ~1200 trades/s: the overlap holds new trades too
            await synced_and_flowing(h)
            handover_started = time.monotonic()

            assert h.sim.send_server_shutdown(close_after=1.0) == 1
            await wait_until(lambda: h.feed.rotations == 1, "the handover")
            await wait_until(
                lambda: h.sim.connections == 1 and h.sim.connections_opened == 2, "the old one closed"
            )
            trades = h.trades
            await wait_until(lambda: h.trades > trades + 20, "trades on the new connection")

            opened = {number: at for at, what, number in h.sim.connection_log if what == "open"}
            closed = {number: at for at, what, number in h.sim.connection_log if what == "close"}
            assert opened[2] > handover_started
            assert opened[2] < closed[1]  # the new connection was up before the old one closed
            for instrument_id in IDS:
                ids = h.trade_ids[instrument_id]
                assert ids == list(range(ids[0], ids[0] + len(ids))), (
                    f"{instrument_id} lost or repeated a trade"
                )
            health = h.feed.health()
            assert (health.reconnects, health.gaps, health.malformed) == (0, 0, 0)
            assert h.feed.duplicates > 0  # the overlap was replayed and its repeats dropped
            assert h.snapshots == len(IDS)  # a planned handover needs no resync
            await h.assert_books_match_simulator()

    run(scenario)


def test_connection_is_rotated_before_the_venue_cuts_it_without_losing_a_trade() -> None:
    async def scenario() -> None:
        async with running({"max_connection_age": 1.5, "rate": 1000}, max_connection_age=0.6) as h:
            await synced_and_flowing(h)

            await wait_until(lambda: h.feed.rotations >= 2, "two rotations by age", timeout=4)

            for instrument_id in IDS:
                ids = h.trade_ids[instrument_id]
                assert ids == list(range(ids[0], ids[0] + len(ids)))
            assert h.feed.health().reconnects == 0
            assert h.feed.duplicates > 0
            assert h.snapshots == len(IDS)
            await h.assert_books_match_simulator()

    run(scenario)


def test_streams_beyond_the_url_length_are_subscribed_at_the_venues_pace() -> None:
    async def scenario() -> None:
        # An 80-character URL holds two of the six streams; the other four go by SUBSCRIBE,
        # one per request, under the simulator's (the venue's) 5 messages/s or it disconnects.
        started = time.monotonic()
        market = RandomWalkMarket(SYMBOLS, seed=7)
        options = {"market": market}
        settings = {"max_url_length": 80, "streams_per_subscribe": 1, "control_messages_per_second": 4.0}
        async with running(options, paused=True, **settings) as h:
            await wait_until(lambda: h.sim.connections == 1, "the connection")
            first_trade = market.last_trade_id("BTCUSDT") + 1  # btcusdt@trade is in the URL
            h.sim.resume()  # trades flow while the other streams are still being subscribed
            await synced_and_flowing(h)
            await wait_until(lambda: h.quotes > 10, "quotes from a SUBSCRIBEd stream")

            assert time.monotonic() - started >= 0.7  # 4 requests at 4/s: the first at once
            assert h.sim.subscriptions() == [
                sorted(f"{s.lower()}@{k}" for s in SYMBOLS for k in ("trade", "bookTicker", "depth@100ms"))
            ]
            assert h.sim.connections_opened == 1
            assert h.feed.health().reconnects == 0
            await h.assert_books_match_simulator()
            ids = h.trade_ids[IDS[0]]  # frames that came while subscribing were not lost either
            assert ids == list(range(first_trade, first_trade + len(ids)))

    run(scenario)


def test_server_pings_are_answered_so_the_venue_never_drops_the_feed() -> None:
    async def scenario() -> None:
        # The simulator pings every 0.1 s and drops a client that has not answered in 0.3 s;
        # the feed sends no pings of its own, so only its pongs keep it connected.
        sim_options = {"ping_interval": 0.1, "ping_timeout": 0.3}
        async with running(sim_options=sim_options, ping_interval=None) as h:
            await synced_and_flowing(h)
            await asyncio.sleep(1.0)

            assert h.sim.connections_opened == 1
            assert h.sim.connections == 1
            assert h.feed.health().reconnects == 0

    run(scenario)


def test_instruments_are_spread_over_connections_of_at_most_max_streams() -> None:
    async def scenario() -> None:
        async with running(max_streams_per_connection=3) as h:  # one instrument (3 streams) each
            await synced_and_flowing(h)
            await wait_until(lambda: all(len(h.trade_ids[i]) > 5 for i in IDS), "trades of both instruments")

            assert h.sim.connections == 2
            assert [len(streams) for streams in h.sim.subscriptions()] == [3, 3]
            h.sim.drop_connections()
            await wait_until(lambda: h.feed.health().reconnects == 2, "both connections to come back")
            await wait_until(lambda: h.snapshots == 2 * len(IDS), "both books resynced")
            await h.assert_books_match_simulator()

    run(scenario)


def test_unreachable_venue_is_retried_with_backoff_until_it_appears() -> None:
    async def scenario() -> None:
        with socket.socket() as probe:  # a port nobody listens on (for now)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sim = ExchangeSimulator(symbols=SYMBOLS, seed=7, rate=200, port=port)
        feed = BinanceMarketDataFeed(
            feed_config(sim, ws_url=f"ws://127.0.0.1:{port}", rest_url=f"http://127.0.0.1:{port}"),
            LiveClock(),
            rng=random.Random(3),
        )
        harness = Harness(sim, feed)
        task = asyncio.create_task(feed.run(harness.sink))
        try:
            await asyncio.sleep(0.8)
            health = feed.health()
            assert not health.connected
            assert health.last_error == f"connection refused by 127.0.0.1:{port}"
            assert not task.done()  # still trying, never crashed

            await sim.start()
            await synced_and_flowing(harness)
            assert feed.health().connected
        finally:
            await feed.stop()
            await asyncio.wait_for(task, 5)
            await sim.stop()

    run(scenario)


def test_stop_before_run_makes_run_return_at_once() -> None:
    async def scenario() -> None:
        sim = ExchangeSimulator(symbols=SYMBOLS)
        feed = BinanceMarketDataFeed(feed_config(sim, ws_url="ws://127.0.0.1:9"), LiveClock())
        await feed.stop()
        await asyncio.wait_for(feed.run(lambda event: None), 1)
        assert not feed.stale

    run(scenario)


# -- the simulator's venue rules ---------------------------------------------------------------


def test_simulator_serves_rest_depth_and_answers_control_requests() -> None:
    async def scenario() -> None:
        sim = ExchangeSimulator(symbols=SYMBOLS, seed=7, rate=100)
        await sim.start()
        try:
            async with connect(f"{sim.ws_url}/ws/btcusdt@trade", proxy=None) as websocket:
                await websocket.send(
                    orjson.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@bookTicker"], "id": 1})
                )
                await websocket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
                await websocket.send(
                    orjson.dumps({"method": "SUBSCRIBE", "params": ["nosuch@thing"], "id": 3})
                )
                answers: dict[int, Any] = {}
                while len(answers) < 3:
                    message = orjson.loads(await websocket.recv())
                    if "id" in message:
                        answers[message["id"]] = message
            assert answers[1] == {"result": None, "id": 1}
            assert answers[2] == {"result": ["btcusdt@trade", "ethusdt@bookTicker"], "id": 2}
            assert answers[3]["code"] == 2
        finally:
            await sim.stop()

    run(scenario)


async def flood_then_read(websocket: ClientConnection, *, requests: int) -> None:
    for number in range(requests):
        await websocket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": number}))
    while True:
        await websocket.recv()


def test_simulator_drops_a_client_sending_more_than_five_messages_a_second() -> None:
    async def scenario() -> None:
        sim = ExchangeSimulator(symbols=SYMBOLS, seed=7, rate=10)
        await sim.start()
        try:
            async with connect(f"{sim.ws_url}/stream", proxy=None) as websocket:
                with pytest.raises(ConnectionClosed) as closed:
                    await flood_then_read(websocket, requests=10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008
        finally:
            await sim.stop()

    run(scenario)
