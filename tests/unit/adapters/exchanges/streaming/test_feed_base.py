"""The shared feed lifecycle: a sink that raises never stops the feed, watchers hear instruments
go down and come back, and health reports the feed and each instrument."""

from __future__ import annotations

import asyncio

from adapters.exchanges.streaming.connection import SupervisedConnection
from adapters.exchanges.streaming.feed_base import StreamingFeed
from adapters.memory.clock import ManualClock
from domain.identifiers import InstrumentId
from domain.market_data import BookInvalidated, MarketEvent

BTC = InstrumentId("BTC-USD.COINBASE")
ETH = InstrumentId("ETH-USD.COINBASE")


class TinyFeed(StreamingFeed):
    def _connections(self) -> list[SupervisedConnection]:
        return []


def _feed() -> tuple[TinyFeed, ManualClock]:
    clock = ManualClock(5)
    return TinyFeed(name="tiny", instrument_ids=(BTC, ETH), clock=clock), clock


def test_health_lists_every_instrument_in_order_with_its_counters() -> None:
    feed, _ = _feed()
    feed.counters[BTC].book_verified = True
    feed.counters[BTC].gaps = 2
    feed.counters[ETH].checksum_failures = 3
    feed.counters[ETH].resubscriptions = 3
    health = feed.health()
    assert [i.instrument_id for i in health.instruments] == [BTC, ETH]
    assert health.instruments[0].book_verified
    assert not health.instruments[1].book_verified
    assert (health.gaps, health.checksum_failures) == (2, 3)
    assert health.instruments[1].resubscriptions == 3
    assert not health.connected


def test_invalidating_unverifies_the_book_and_tells_the_sink() -> None:
    feed, _ = _feed()
    seen: list[MarketEvent] = []
    feed._sink = seen.append
    feed.counters[BTC].book_verified = True
    feed._invalidate(BTC, "sequence gap")
    assert seen == [BookInvalidated(BTC, "sequence gap", 5, 5)]
    assert not feed.counters[BTC].book_verified


def test_a_sink_that_raises_is_counted_not_propagated() -> None:
    feed, _ = _feed()

    def broken(_: MarketEvent) -> None:
        raise RuntimeError("downstream bug")

    feed._sink = broken
    feed._invalidate(BTC, "x")
    assert feed.health().last_error == "sink raised on BookInvalidated"


def test_watchers_hear_instruments_go_down_once_and_come_back_on_the_next_frame() -> None:
    feed, clock = _feed()
    heard: list[tuple[tuple[InstrumentId, ...], bool, str, int]] = []
    feed.watch_connection(lambda ids, up, why, ts: heard.append((ids, up, why, ts)))
    feed._lost((BTC, ETH), "connection lost")
    feed._lost((BTC,), "again")  # already down: not repeated
    clock.set(9)
    feed._frame_seen(9)
    feed._frame_seen(10)  # already up
    assert heard == [((BTC, ETH), False, "connection lost", 5), ((BTC, ETH), True, "reconnected", 9)]
    assert feed.health().messages == 2


def test_malformed_and_unknown_messages_are_counted() -> None:
    feed, _ = _feed()
    feed._count_malformed("not JSON", b"{")
    feed._count_unknown()
    health = feed.health()
    assert (health.malformed, health.unknown, health.last_error) == (1, 1, "malformed frame: not JSON")


def test_stop_before_run_makes_run_return_at_once() -> None:
    feed, _ = _feed()

    async def scenario() -> None:
        await feed.stop()
        await asyncio.wait_for(feed.run(lambda _: None), 1.0)

    asyncio.run(scenario())
