"""What the paper/Binance parity tests drive both engines with: scripted quotes, delivered in
lockstep with the engine's orders, and the simulated Binance venue showing the same quotes.

``ScriptedBook`` is a ``MarketSource`` for ``TradingVenue``: one symbol whose book is exactly
one bid and one ask level, the quote the test shows it. ``LockstepFeed`` is a
``MarketDataFeed`` that hands the engine one quote at a time, and only once the engine has no
order working: a venue across the network answers later than the paper broker does, and the
strategy must not see the next quote before its last order is settled, or it would decide on
another position. ``simulated_binance`` serves the venue from a ``BackgroundLoop`` so that the
engine's blocking start-up calls (instruments, account) are answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from adapters.exchanges.simulator.background import BackgroundLoop
from adapters.exchanges.simulator.market import BookView, MarketFrame
from adapters.exchanges.simulator.trading import SymbolFilters, TradingVenue
from adapters.memory import ManualClock
from application.ports import FeedHealth
from domain.market_data import MarketEvent, QuoteTick

SETTLE_TIMEOUT_S = 5.0
"""The longest one order may take to be settled before the next quote (loopback: milliseconds)."""


class ScriptedBook:
    """A ``MarketSource`` of one symbol whose book is the quote last shown; it publishes nothing."""

    def __init__(self, symbol: str) -> None:
        self.symbols: tuple[str, ...] = (symbol,)
        self._view = BookView(0, [], [])

    @property
    def finished(self) -> bool:
        return False

    def show(self, quote: QuoteTick) -> None:
        """From now on the book is ``quote``: its bid and its ask, each one level deep."""
        self._view = BookView(
            self._view.last_update_id + 1,
            [(quote.bid_price, quote.bid_size)],
            [(quote.ask_price, quote.ask_size)],
        )

    def step(self, now_ms: int) -> list[MarketFrame]:
        return []

    def snapshot(self, symbol: str, limit: int) -> dict[str, Any]:
        view = self.book(symbol)
        return {
            "lastUpdateId": view.last_update_id,
            "bids": [[str(price), str(size)] for price, size in view.bids[:limit]],
            "asks": [[str(price), str(size)] for price, size in view.asks[:limit]],
        }

    def skip_next_depth(self, symbol: str | None = None) -> None:
        """Nothing to skip: no depth update is ever published."""

    def book(self, symbol: str) -> BookView:
        if symbol not in self.symbols:
            raise KeyError(symbol)
        return self._view


class LockstepFeed:
    """A ``MarketDataFeed`` over ``quotes``: each is delivered once ``settled()`` holds (no order
    working), after ``before_each(quote)`` (the venue shows it) and with the clock at its time;
    ``after_each(quote)`` runs once the engine has handled it (a test's own orders).

    ``settled`` and ``after_each`` are set by the test once the engine exists. ``done`` is set
    when every quote has been delivered and the last order settled, or when an order did not
    settle in ``SETTLE_TIMEOUT_S``: ``failure`` then says which quote it followed.
    """

    name = "lockstep"

    def __init__(
        self,
        quotes: Sequence[QuoteTick],
        clock: ManualClock,
        before_each: Callable[[QuoteTick], None] = lambda quote: None,
    ) -> None:
        self._quotes = list(quotes)
        self._clock = clock
        self._before_each = before_each
        self.settled: Callable[[], bool] = lambda: True
        self.after_each: Callable[[QuoteTick], None] = lambda quote: None
        self.failure: str | None = None
        self.done = asyncio.Event()
        self._stopped = asyncio.Event()
        self._delivered = 0
        self._connected = False

    async def run(self, sink: Callable[[MarketEvent], None]) -> None:
        self._connected = True
        try:
            for quote in self._quotes[self._delivered :]:
                if not await self._settle() or self._stopped.is_set():
                    break
                self._before_each(quote)
                self._clock.set(max(quote.ts_event, self._clock.now_ns()))
                self._delivered += 1
                sink(quote)
                self.after_each(quote)
            else:
                await self._settle()
            self.done.set()
            await self._stopped.wait()
        finally:
            self._connected = False

    async def _settle(self) -> bool:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not self.settled():
            if time.monotonic() > deadline:
                self.failure = (
                    f"an order was not settled in {SETTLE_TIMEOUT_S:g} s after quote #{self._delivered}"
                )
                return False
            await asyncio.sleep(0.001)
        return True

    async def stop(self) -> None:
        self._stopped.set()

    def health(self) -> FeedHealth:
        last = self._quotes[self._delivered - 1].ts_event if self._delivered else None
        return FeedHealth(
            name=self.name,
            connected=self._connected,
            last_message_ns=last,
            messages=self._delivered,
            reconnects=0,
            gaps=0,
            malformed=0,
        )


@contextmanager
def simulated_binance(
    book: ScriptedBook,
    *,
    api_key: str,
    api_secret: str,
    balances: Mapping[str, Decimal],
    filters: SymbolFilters,
    commission: Decimal,
) -> Iterator[TradingVenue]:
    """A ``TradingVenue`` over ``book`` (maker and taker ``commission``) served on 127.0.0.1 from
    an event loop in a thread of its own; stopped, and the thread joined, on the way out."""
    loop = BackgroundLoop("parity-venue")
    try:
        venue = TradingVenue(
            book,
            api_key=api_key,
            api_secret=api_secret,
            balances=balances,
            filters=dict.fromkeys(book.symbols, filters),
            maker_commission=commission,
            taker_commission=commission,
            ping_interval=None,
        )
        loop.run(venue.start("127.0.0.1", 0))
        try:
            yield venue
        finally:
            loop.run(venue.stop())
    finally:
        loop.close()
