"""What a venue's ticker says about a symbol since the simulator started: last price, volume,
volume-weighted average, low, high and change from the first trade, and its recent trades.

Fed with the market's trade payloads (Binance format: ``p`` price, ``q`` quantity); pure.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

RECENT_TRADES = 50


class Tape:
    """The running statistics and the last ``RECENT_TRADES`` trades of one symbol."""

    def __init__(self) -> None:
        self.last: Decimal | None = None
        self.first: Decimal | None = None
        self.low: Decimal | None = None
        self.high: Decimal | None = None
        self.volume = Decimal(0)
        self.notional = Decimal(0)
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_TRADES)

    def record(self, trade: dict[str, Any]) -> None:
        """Count one trade payload."""
        price, qty = Decimal(trade["p"]), Decimal(trade["q"])
        self.last = price
        self.first = price if self.first is None else self.first
        self.low = price if self.low is None else min(self.low, price)
        self.high = price if self.high is None else max(self.high, price)
        self.volume += qty
        self.notional += price * qty
        self.recent.append(trade)

    @property
    def vwap(self) -> Decimal | None:
        return self.notional / self.volume if self.volume else None

    @property
    def change(self) -> Decimal:
        if self.last is None or self.first is None:
            return Decimal(0)
        return self.last - self.first

    @property
    def change_pct(self) -> Decimal:
        """Change in percentage points (``-0.17`` for -0.17 %), two places."""
        if self.last is None or not self.first:
            return Decimal(0)
        return (self.change * 100 / self.first).quantize(Decimal("0.01"))
