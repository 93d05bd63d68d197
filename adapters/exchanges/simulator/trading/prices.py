"""What the venue remembers of each symbol's public trades: the last price and the average price.

The average (volume weighted over the last ``avgPriceMins`` minutes, as the NOTIONAL filter
uses for MARKET orders) falls back to the book's mid price while no trade has printed.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from adapters.exchanges.simulator.market import BookView


class PriceTracker:
    """Last and average trade price per symbol, from the trades the venue observed.

    Trades older than ``horizon_minutes`` are forgotten as new ones arrive, so memory stays
    bounded however long the market runs.
    """

    def __init__(self, horizon_minutes: int = 5) -> None:
        self._horizon_ms = max(1, horizon_minutes) * 60_000
        self._last: dict[str, Decimal] = {}
        self._window: dict[str, deque[tuple[int, Decimal, Decimal]]] = {}
        self._sums: dict[str, tuple[Decimal, Decimal]] = {}

    def observe(self, symbol: str, price: Decimal, qty: Decimal, time_ms: int) -> None:
        self._last[symbol] = price
        self._window.setdefault(symbol, deque()).append((time_ms, price, qty))
        notional, volume = self._sums.get(symbol, (Decimal(0), Decimal(0)))
        self._sums[symbol] = (notional + price * qty, volume + qty)
        self._forget(symbol, time_ms - self._horizon_ms)

    def last(self, symbol: str, book: BookView) -> Decimal | None:
        """The last trade price, else the book's mid, else None (an empty book)."""
        return self._last.get(symbol, _mid(book))

    def average(self, symbol: str, book: BookView, *, now_ms: int, minutes: int) -> Decimal | None:
        """Volume-weighted average over the last ``minutes`` (0: the last price)."""
        if minutes <= 0:
            return self.last(symbol, book)
        window = self._window.get(symbol)
        if window:
            horizon = now_ms - minutes * 60_000
            notional, volume = self._sums[symbol]
            for time_ms, price, qty in window:
                if time_ms >= horizon:
                    break
                notional, volume = notional - price * qty, volume - qty
            if volume > 0:
                return notional / volume
        return self.last(symbol, book)

    def _forget(self, symbol: str, before_ms: int) -> None:
        window = self._window[symbol]
        notional, volume = self._sums[symbol]
        while window and window[0][0] < before_ms:
            _, price, qty = window.popleft()
            notional, volume = notional - price * qty, volume - qty
        self._sums[symbol] = (notional, volume)


def _mid(book: BookView) -> Decimal | None:
    if book.bids and book.asks:
        return (book.bids[0][0] + book.asks[0][0]) / 2
    if book.bids or book.asks:
        return (book.bids or book.asks)[0][0]
    return None
