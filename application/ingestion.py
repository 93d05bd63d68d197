"""The ingestion service: owns the market-data feeds and publishes what they normalize."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol, runtime_checkable

from application.messages import FeedStatusChanged
from application.ports import FeedHealth, MarketDataFeed
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent

log = logging.getLogger("tradeplane.ingestion")

ConnectionListener = Callable[[tuple[InstrumentId, ...], bool, str, int], None]
"""Told ``(instruments, connected, reason, ts_ns)`` when a connection goes down or comes back."""

Sink = Callable[[MarketEvent], None]
"""Where the feeds hand their market events."""

NEVER = sys.maxsize
"""The countdown of an ingestion nothing observes: it never reaches the observer's path."""


@runtime_checkable
class ReportsConnection(Protocol):
    """A feed that says when its connection for some instruments goes down or comes back, at
    the point of its event stream where it happens (a networked feed; a replay never drops)."""

    def watch_connection(self, listener: ConnectionListener) -> None: ...


class IngestionService:
    """Runs every feed as a task that streams into ``publish`` (the bus).

    A feed that crashes (it should not: feeds reconnect on their own) is logged and
    restarted after ``restart_delay`` seconds, so one bad venue never stops the engine.
    A feed that reports its connection (``ReportsConnection``) has each change published as a
    ``FeedStatusChanged`` between its market events, so every consumer sees it in order.

    ``handling_since`` is the ``ts_init`` of the market event being handled (0 between two
    events), so an observer can tell what an order sent now was caused by, and when its frame
    arrived.
    """

    def __init__(
        self,
        feeds: Sequence[MarketDataFeed],
        publish: Callable[[MarketEvent | FeedStatusChanged], None],
        *,
        restart_delay: float = 5.0,
    ) -> None:
        self._feeds = list(feeds)
        self._publish = publish
        self._restart_delay = restart_delay
        self._tasks: list[asyncio.Task[None]] = []
        self._timed: Sink = publish
        self._every = NEVER
        self._left = NEVER
        self.handling_since = 0
        self.crashes = 0
        for feed in self._feeds:
            if isinstance(feed, ReportsConnection):
                feed.watch_connection(partial(self._connection_changed, feed.name))

    @property
    def feeds(self) -> Sequence[MarketDataFeed]:
        return tuple(self._feeds)

    def deliver(self, event: MarketEvent) -> None:
        """What every feed hands its events to: the bus, and one event in ``every`` (see
        ``observe``) the observer's wrapper of it. Per event: a countdown and two stores."""
        self.handling_since = event.ts_init
        left = self._left - 1
        if left:
            self._left = left
            self._publish(event)
        else:
            self._left = self._every
            self._timed(event)
        self.handling_since = 0

    def observe(self, wrap: Callable[[Sink], Sink], *, every: int = 1) -> None:
        """Put ``wrap(publish)`` between the feeds and the bus for one market event in
        ``every`` (the others go straight to the bus), running feeds included, so an observer
        (metrics) can time a sample of events from frame to handled at no cost to the rest."""
        if every < 1:
            raise ValueError(f"every must be 1 or more (was {every})")
        self._timed = wrap(self._publish)
        self._every = self._left = every

    def unobserve(self) -> None:
        """The feeds publish straight to the bus again."""
        self._timed = self._publish
        self._every = self._left = NEVER

    def start(self) -> None:
        """Start one supervised task per feed (call from inside the event loop)."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._supervise(feed), name=f"feed:{feed.name}") for feed in self._feeds
        ]

    def _connection_changed(
        self, feed: str, instruments: tuple[InstrumentId, ...], connected: bool, reason: str, ts_ns: int
    ) -> None:
        log.log(
            logging.INFO if connected else logging.WARNING,
            "feed %s %s for %d instrument(s): market data %s (%s)",
            feed,
            "reconnected" if connected else "disconnected",
            len(instruments),
            "usable again once fresh" if connected else "not usable, new orders refused",
            reason,
            extra={
                "feed": feed,
                "instruments": [str(i) for i in instruments],
                "connected": connected,
                "reason": reason,
            },
        )
        self._publish(
            FeedStatusChanged(
                feed=feed, instruments=tuple(instruments), connected=connected, reason=reason, ts_event=ts_ns
            )
        )

    async def _supervise(self, feed: MarketDataFeed) -> None:
        while True:
            try:
                await feed.run(self.deliver)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                self.crashes += 1
                log.exception("feed %s crashed; restarting in %.1fs", feed.name, self._restart_delay)
                await asyncio.sleep(self._restart_delay)

    async def stop(self) -> None:
        """Stop every feed, then their tasks."""
        for feed in self._feeds:
            try:
                await feed.stop()
            except Exception:
                log.exception("feed %s failed to stop cleanly", feed.name)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def health(self) -> list[FeedHealth]:
        return [feed.health() for feed in self._feeds]
