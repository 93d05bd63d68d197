"""IngestionService: one supervised task per feed, restarts after a crash, clean stop, health."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory import InMemoryFeed, ManualClock
from application.ingestion import IngestionService
from application.messages import FeedStatusChanged
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent, TradeTick
from tests.builders import BTCUSDT, ETHUSDT, STEP_NS, TS


def trades(instrument_id: InstrumentId, n: int) -> list[MarketEvent]:
    return [
        TradeTick.create(
            instrument_id=instrument_id,
            price=str(100 + i),
            size="1",
            trade_id=f"{instrument_id}-{i}",
            ts_event=TS + i * STEP_NS,
            ts_init=TS + i * STEP_NS,
        )
        for i in range(n)
    ]


class CrashingFeed(InMemoryFeed):
    """Raises on its first ``crashes`` runs (as a feed with a bug would), then replays."""

    def __init__(self, events: list[MarketEvent], crashes: int) -> None:
        super().__init__(events, name="crashy")
        self.crashes_left = crashes
        self.runs = 0

    async def run(self, sink: Callable[[MarketEvent], None]) -> None:
        self.runs += 1
        if self.crashes_left:
            self.crashes_left -= 1
            raise ConnectionError("venue went away")
        await super().run(sink)


class StubbornFeed(InMemoryFeed):
    async def stop(self) -> None:
        await super().stop()
        raise RuntimeError("socket already closed")


def test_every_feed_streams_into_publish_and_reports_its_health() -> None:
    btc, eth = InMemoryFeed(trades(BTCUSDT, 3), name="btc"), InMemoryFeed(trades(ETHUSDT, 2), name="eth")
    published: list[MarketEvent] = []
    ingestion = IngestionService([btc, eth], published.append)

    async def scenario() -> None:
        ingestion.start()
        ingestion.start()  # a second start changes nothing
        await asyncio.gather(btc.wait_replayed(), eth.wait_replayed())
        health = ingestion.health()
        assert [(h.name, h.connected, h.messages) for h in health] == [("btc", True, 3), ("eth", True, 2)]
        assert health[0].last_message_ns == TS + 2 * STEP_NS
        await ingestion.stop()

    asyncio.run(scenario())

    assert [e for e in published if e.instrument_id == BTCUSDT] == trades(BTCUSDT, 3)
    assert [e for e in published if e.instrument_id == ETHUSDT] == trades(ETHUSDT, 2)
    assert [h.connected for h in ingestion.health()] == [False, False]
    assert ingestion.crashes == 0


def test_a_crashing_feed_is_restarted_and_the_others_go_on() -> None:
    crashy = CrashingFeed(trades(BTCUSDT, 2), crashes=2)
    steady = InMemoryFeed(trades(ETHUSDT, 2), name="steady")
    published: list[MarketEvent] = []
    ingestion = IngestionService([crashy, steady], published.append, restart_delay=0)

    async def scenario() -> None:
        ingestion.start()
        await asyncio.gather(crashy.wait_replayed(), steady.wait_replayed())
        await ingestion.stop()

    asyncio.run(scenario())

    assert ingestion.crashes == 2
    assert crashy.runs == 3
    assert len(published) == 4


def test_stop_goes_on_when_a_feed_fails_to_stop_cleanly() -> None:
    stubborn = StubbornFeed(trades(BTCUSDT, 1), name="stubborn")
    other = InMemoryFeed(trades(ETHUSDT, 1), name="other")
    ingestion = IngestionService([stubborn, other], lambda event: None)

    async def scenario() -> None:
        ingestion.start()
        await asyncio.gather(stubborn.wait_replayed(), other.wait_replayed())
        await ingestion.stop()

    asyncio.run(scenario())

    assert [h.connected for h in ingestion.health()] == [False, False]


def test_the_in_memory_feed_moves_a_manual_clock_to_each_event() -> None:
    clock = ManualClock(TS - 1)
    feed = InMemoryFeed(trades(BTCUSDT, 3), clock=clock)
    seen: list[tuple[int, int]] = []

    async def scenario() -> None:
        task = asyncio.create_task(feed.run(lambda e: seen.append((e.ts_event, clock.now_ns()))))
        await feed.wait_replayed()
        await feed.stop()
        await task

    asyncio.run(scenario())

    assert seen == [(TS + i * STEP_NS, TS + i * STEP_NS) for i in range(3)]
    assert feed.health().messages == 3


class DroppingFeed(InMemoryFeed):
    """A feed that reports its connection going down and back, as a networked one does."""

    def __init__(self) -> None:
        super().__init__([], name="dropping")
        self.listeners: list[Callable[[tuple[InstrumentId, ...], bool, str, int], None]] = []

    def watch_connection(self, listener: Callable[[tuple[InstrumentId, ...], bool, str, int], None]) -> None:
        self.listeners.append(listener)

    def report(self, connected: bool, reason: str, ts: int) -> None:
        for listener in self.listeners:
            listener((BTCUSDT, ETHUSDT), connected, reason, ts)


def test_connection_changes_of_a_feed_are_published_as_feed_status_events() -> None:
    feed = DroppingFeed()
    published: list[object] = []
    IngestionService([feed, InMemoryFeed([], name="quiet")], published.append)

    feed.report(False, "connection lost: 1006", TS)
    feed.report(True, "reconnected", TS + STEP_NS)

    assert published == [
        FeedStatusChanged(
            feed="dropping",
            instruments=(BTCUSDT, ETHUSDT),
            connected=False,
            reason="connection lost: 1006",
            ts_event=TS,
        ),
        FeedStatusChanged(
            feed="dropping",
            instruments=(BTCUSDT, ETHUSDT),
            connected=True,
            reason="reconnected",
            ts_event=TS + STEP_NS,
        ),
    ]


def test_connection_changes_are_logged_with_the_feed_instruments_and_reason_as_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = DroppingFeed()
    IngestionService([feed], lambda _: None)
    with caplog.at_level("INFO", logger="tradeplane.ingestion"):
        feed.report(False, "connection lost: 1006", TS)

    (record,) = caplog.records
    fields = (record.feed, record.instruments, record.connected, record.reason)  # type: ignore[attr-defined]
    assert fields == ("dropping", [str(BTCUSDT), str(ETHUSDT)], False, "connection lost: 1006")


@given(st.integers(1, 10), st.integers(0, 40))
def test_one_event_in_every_goes_through_the_observer_and_all_reach_the_bus(every: int, n: int) -> None:
    published: list[MarketEvent] = []
    timed: list[MarketEvent] = []
    since: list[int] = []

    def publish(event: object) -> None:
        assert isinstance(event, TradeTick)
        since.append(ingestion.handling_since)
        published.append(event)

    def wrap(sink: Callable[[MarketEvent], None]) -> Callable[[MarketEvent], None]:
        def observed(event: MarketEvent) -> None:
            timed.append(event)
            sink(event)

        return observed

    ingestion = IngestionService([], publish)
    ingestion.observe(wrap, every=every)
    events = trades(BTCUSDT, n)
    for event in events:
        ingestion.deliver(event)
    assert published == events
    assert timed == events[every - 1 :: every]
    assert since == [event.ts_init for event in events]  # the event being handled, for its orders
    assert ingestion.handling_since == 0  # between two events


def test_once_unobserved_no_event_goes_through_the_observer() -> None:
    published: list[object] = []
    timed: list[MarketEvent] = []
    ingestion = IngestionService([], published.append)
    ingestion.observe(lambda sink: timed.append, every=1)
    ingestion.unobserve()
    for event in trades(BTCUSDT, 3):
        ingestion.deliver(event)
    assert (len(published), timed) == (3, [])
    with pytest.raises(ValueError, match="every"):
        ingestion.observe(lambda sink: sink, every=0)
