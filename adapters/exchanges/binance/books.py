"""Per-instrument feed state (de-duplication marks, the BookSync) and paced REST snapshot fetching."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx

from adapters.exchanges.binance.client import BinanceHttpClient, depth_weight
from adapters.exchanges.binance.errors import BinanceError, BinanceHttpError
from adapters.exchanges.binance.parsing import parse_depth_snapshot
from adapters.pacing import Backoff, TokenBucket
from application.ports import Clock
from domain.identifiers import InstrumentId
from domain.market_data import BookSnapshot
from domain.order_book import BookSync

_log = logging.getLogger(__name__)


class InstrumentState:
    """What the feed remembers per instrument: last trade id and quote id seen, the local book."""

    __slots__ = (
        "instrument_id",
        "last_quote_id",
        "last_snapshot_request",
        "last_trade_id",
        "snapshot_backoff",
        "snapshot_task",
        "symbol",
        "sync",
    )

    def __init__(self, instrument_id: InstrumentId, sync: BookSync | None, snapshot_backoff: Backoff) -> None:
        self.instrument_id = instrument_id
        self.symbol = instrument_id.symbol
        self.sync = sync
        self.last_trade_id = -1
        """Highest trade id passed on (trade ids only grow on one connection)."""
        self.last_quote_id = -1
        """Highest bookTicker update id passed on."""
        self.snapshot_task: asyncio.Task[None] | None = None
        self.last_snapshot_request = float("-inf")
        self.snapshot_backoff = snapshot_backoff

    def forget_marks(self) -> None:
        """After a lost connection nothing can repeat: accept whatever ids come next."""
        self.last_trade_id = -1
        self.last_quote_id = -1


class SnapshotFetcher:
    """Fetches REST depth snapshots for BookSyncs that ask for one, politely.

    Per instrument: at most one request in flight and ``min_interval`` seconds between
    requests; failures retry with backoff. For the whole feed: a REST weight budget per
    minute, and a pause of every request after a 429/418 until its ``Retry-After``.
    Results go to ``on_snapshot``; failures are logged and reported to ``on_error``.
    """

    def __init__(
        self,
        http: BinanceHttpClient,
        clock: Clock,
        *,
        name: str,
        limit: int,
        min_interval: float,
        weight_per_minute: int,
        on_snapshot: Callable[[InstrumentState, BookSnapshot], None],
        on_error: Callable[[str], None],
    ) -> None:
        self._http = http
        self._clock = clock
        self._name = name
        self._limit = limit
        self._weight = depth_weight(limit)
        self._min_interval = min_interval
        self._weights = TokenBucket(weight_per_minute / 60.0, float(weight_per_minute))
        self._on_snapshot = on_snapshot
        self._on_error = on_error
        self._paused_until = 0.0

    def request(self, state: InstrumentState) -> None:
        """Make sure a snapshot for ``state`` is on its way (no-op if one is in flight)."""
        task = state.snapshot_task
        if task is not None and not task.done():
            return
        state.snapshot_task = asyncio.get_running_loop().create_task(
            self._fetch(state), name=f"{self._name}-snapshot-{state.symbol}"
        )

    def cancel(self, state: InstrumentState) -> None:
        """Drop the request in flight, if any (the book was reset; its answer is no longer wanted)."""
        task = state.snapshot_task
        state.snapshot_task = None
        if task is not None and not task.done():
            task.cancel()

    async def _fetch(self, state: InstrumentState) -> None:
        while True:
            wait = max(
                state.last_snapshot_request + self._min_interval - time.monotonic(),
                self._paused_until - time.monotonic(),
            )
            if wait > 0:
                await asyncio.sleep(wait)
            await self._weights.acquire(self._weight)
            state.last_snapshot_request = time.monotonic()
            try:
                body = await self._http.get_depth(state.symbol, self._limit)
                snapshot = parse_depth_snapshot(body, state.instrument_id, self._clock.now_ns())
            except Exception as exc:  # venue, network or a bug: the book must never be left waiting
                delay = state.snapshot_backoff.next_delay()
                if isinstance(exc, BinanceHttpError) and exc.retry_after is not None and exc.is_rate_limited:
                    self._paused_until = time.monotonic() + exc.retry_after
                    delay = max(delay, exc.retry_after)
                message = f"depth snapshot of {state.symbol} failed: {exc!r}"
                expected = isinstance(exc, BinanceError | httpx.HTTPError | OSError)
                _log.warning("%s: %s; retrying in %.2fs", self._name, message, delay, exc_info=not expected)
                self._on_error(message)
                await asyncio.sleep(delay)
                continue
            state.snapshot_backoff.reset()
            state.snapshot_task = None  # the handler may ask for the next one right away
            self._on_snapshot(state, snapshot)
            return
