"""``ObservedMarket``: a market source that lets the trading venue see every step it publishes.

The market-data simulator steps the market and publishes its frames; wrapped in this, each
step's frames also reach the venue first, so the account's orders fill at the prices the
engine sees on the streams.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.exchanges.simulator.market import BookView, MarketFrame, MarketSource


class ObservedMarket:
    """A ``MarketSource`` passing ``inner``'s frames through, after handing them to ``on_frames``."""

    def __init__(self, inner: MarketSource, on_frames: Callable[[list[MarketFrame]], None]) -> None:
        self.inner = inner
        self.symbols = inner.symbols
        self._on_frames = on_frames

    @property
    def finished(self) -> bool:
        return self.inner.finished

    def step(self, now_ms: int) -> list[MarketFrame]:
        frames = self.inner.step(now_ms)
        if frames:
            self._on_frames(frames)
        return frames

    def snapshot(self, symbol: str, limit: int) -> dict[str, Any]:
        return self.inner.snapshot(symbol, limit)

    def skip_next_depth(self, symbol: str | None = None) -> None:
        self.inner.skip_next_depth(symbol)

    def book(self, symbol: str) -> BookView:
        return self.inner.book(symbol)
