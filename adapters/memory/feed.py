"""An in-memory market-data feed: replays a fixed list of events (tests, backtests, demos)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from adapters.memory.clock import ManualClock
from application.ports import FeedHealth
from domain.market_data import MarketEvent


class InMemoryFeed:
    """The ``MarketDataFeed`` port over a list of events, handed to the sink in order.

    ``run`` replays the events not yet delivered, yielding to the event loop every
    ``yield_every`` events so ``stop`` can interrupt it, then stays "connected" until
    ``stop`` as a live feed would. Given a ``ManualClock``, it moves the clock to each
    event's ``ts_event`` before delivering it (the clock of a replay; never backwards).
    ``wait_replayed`` returns once every event has been delivered.
    """

    def __init__(
        self,
        events: Iterable[MarketEvent] = (),
        *,
        name: str = "memory",
        clock: ManualClock | None = None,
        yield_every: int = 100,
    ) -> None:
        if yield_every < 1:
            raise ValueError(f"yield_every must be at least 1 (was {yield_every})")
        self.name = name
        self._events = list(events)
        self._clock = clock
        self._yield_every = yield_every
        self._position = 0
        self._connected = False
        self._stopping = False
        self._last_message_ns: int | None = None
        self._stopped = asyncio.Event()
        self._replayed = asyncio.Event()

    async def run(self, sink: Callable[[MarketEvent], None]) -> None:
        """Deliver the remaining events, then wait for ``stop``."""
        self._connected = True
        try:
            events = self._events
            while self._position < len(events) and not self._stopping:
                event = events[self._position]
                self._position += 1
                clock = self._clock
                if clock is not None and event.ts_event > clock.now_ns():
                    clock.set(event.ts_event)
                self._last_message_ns = event.ts_event
                sink(event)
                if self._position % self._yield_every == 0:
                    await asyncio.sleep(0)
            self._replayed.set()
            if not self._stopping:
                await self._stopped.wait()
        finally:
            self._connected = False

    async def wait_replayed(self) -> None:
        """Return once every event has been handed to the sink."""
        await self._replayed.wait()

    async def stop(self) -> None:
        self._stopping = True
        self._stopped.set()

    def health(self) -> FeedHealth:
        return FeedHealth(
            name=self.name,
            connected=self._connected,
            last_message_ns=self._last_message_ns,
            messages=self._position,
            reconnects=0,
            gaps=0,
            malformed=0,
        )
