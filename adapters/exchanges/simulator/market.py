"""A seeded random-walk market (pure): a mid price walk, an L2 book around it, trades, in Binance format.

Prices and sizes are integers of ticks and lots inside, and leave as Binance's 8-decimal
strings. Each step of a symbol moves the mid by at most one tick, keeps the book inside a
window of ``depth`` ticks on each side (so it is never crossed), may print a trade against
the best level, refreshes a few levels, and reports every level change in one
``depthUpdate`` whose ``U`` is the previous ``u + 1``. Given a seed and the same ``now_ms``
values, the output is always the same.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

TRADE = "trade"
DEPTH = "depth"
BOOK_TICKER = "bookTicker"

_DEFAULT_START = {"BTCUSDT": Decimal("30000"), "ETHUSDT": Decimal("2000")}


class MarketFrame(NamedTuple):
    """One payload to publish: the symbol, its kind (trade, depth, bookTicker), the raw payload."""

    symbol: str
    kind: str
    payload: dict[str, Any]


class BookView(NamedTuple):
    """A symbol's book for inspection: update id and (price, size) levels best first."""

    last_update_id: int
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]


class MarketSource(Protocol):
    """What the simulator publishes: a random walk (``RandomWalkMarket``) or a recording."""

    symbols: tuple[str, ...]

    @property
    def finished(self) -> bool: ...

    def step(self, now_ms: int) -> list[MarketFrame]: ...

    def snapshot(self, symbol: str, limit: int) -> dict[str, Any]: ...

    def skip_next_depth(self, symbol: str | None = None) -> None: ...

    def book(self, symbol: str) -> BookView: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketParams:
    """Shape of the simulated market; the defaults give a lively, small book."""

    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("0.001")
    depth: int = 20
    """Price levels (ticks) each side of the mid that may hold orders."""
    trade_probability: float = 0.6
    level_changes: int = 3
    """Most levels refreshed per step (besides trades and the walk)."""
    max_level_lots: int = 5000
    start_prices: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError("tick_size and lot_size must be positive")
        if self.depth < 1 or self.level_changes < 0 or self.max_level_lots < 1:
            raise ValueError("depth and max_level_lots must be at least 1, level_changes at least 0")
        if not 0.0 <= self.trade_probability <= 1.0:
            raise ValueError("trade_probability must be within [0, 1]")

    def start_price(self, symbol: str) -> Decimal:
        return self.start_prices.get(symbol, _DEFAULT_START.get(symbol, Decimal(100)))


def _formatter(step: Decimal) -> tuple[Callable[[int], str], Callable[[int], Decimal]]:
    """Integer count of ``step`` -> Binance string with at least 8 decimals, and -> Decimal."""
    exponent = step.as_tuple().exponent
    places = max(8, -exponent if isinstance(exponent, int) else 8)
    unit = int(step.scaleb(places))
    scale = 10**places

    def text(count: int) -> str:
        value = count * unit
        return f"{value // scale}.{value % scale:0{places}d}"

    def number(count: int) -> Decimal:
        return Decimal(text(count))

    return text, number


class SymbolMarket:
    """The book and the tape of one symbol, driven by its own random generator."""

    def __init__(self, symbol: str, rng: random.Random, params: MarketParams) -> None:
        self.symbol = symbol
        self._rng = rng
        self._params = params
        self._price_text, self._price = _formatter(params.tick_size)
        self._size_text, self._size = _formatter(params.lot_size)
        self._mid = max(params.depth + 1, int(params.start_price(symbol) / params.tick_size))
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        for offset in range(params.depth):
            self.bids[self._mid - offset] = rng.randint(1, params.max_level_lots)
            self.asks[self._mid + 1 + offset] = rng.randint(1, params.max_level_lots)
        self.last_update_id = rng.randint(1_000, 1_000_000)
        self.last_trade_id = rng.randint(1_000, 1_000_000)
        self._top: tuple[int, int, int, int] | None = None
        self.skip_next_depth = False

    # -- stepping -----------------------------------------------------------------------

    def step(self, now_ms: int) -> list[MarketFrame]:
        """Advance one step; returns its frames (trade?, depth, bookTicker?) in that order."""
        rng = self._rng
        params = self._params
        frames: list[MarketFrame] = []
        bid_changes: dict[int, int] = {}
        ask_changes: dict[int, int] = {}
        draw = rng.random()
        self._mid = max(params.depth + 1, self._mid + (-1 if draw < 0.25 else 1 if draw >= 0.75 else 0))
        self._trim(bid_changes, ask_changes)
        if rng.random() < params.trade_probability:
            frames.append(self._trade(now_ms, bid_changes, ask_changes))
        for _ in range(rng.randint(1, params.level_changes) if params.level_changes else 0):
            self._refresh_level(bid_changes, ask_changes)
        if not self.bids:
            self._set(self.bids, bid_changes, self._mid, rng.randint(1, params.max_level_lots))
        if not self.asks:
            self._set(self.asks, ask_changes, self._mid + 1, rng.randint(1, params.max_level_lots))
        changes = len(bid_changes) + len(ask_changes)
        if changes:
            first = self.last_update_id + 1
            self.last_update_id += changes
            depth = self._depth_update(now_ms, first, bid_changes, ask_changes)
            if self.skip_next_depth:
                self.skip_next_depth = False  # applied to the book, never sent: a real gap
            else:
                frames.append(MarketFrame(self.symbol, DEPTH, depth))
        top = self._top_of_book()
        if top != self._top:
            self._top = top
            frames.append(MarketFrame(self.symbol, BOOK_TICKER, self._book_ticker(top)))
        return frames

    def _trim(self, bid_changes: dict[int, int], ask_changes: dict[int, int]) -> None:
        depth = self._params.depth
        low_bid, high_bid = self._mid - depth + 1, self._mid
        for price in [p for p in self.bids if p < low_bid or p > high_bid]:
            self._set(self.bids, bid_changes, price, 0)
        low_ask, high_ask = self._mid + 1, self._mid + depth
        for price in [p for p in self.asks if p < low_ask or p > high_ask]:
            self._set(self.asks, ask_changes, price, 0)

    def _trade(self, now_ms: int, bid_changes: dict[int, int], ask_changes: dict[int, int]) -> MarketFrame:
        rng = self._rng
        buyer_aggressed = rng.random() < 0.5
        side, changes = (self.asks, ask_changes) if buyer_aggressed else (self.bids, bid_changes)
        if not side:  # cannot happen after a step (each side keeps a level), but stay total
            self._set(side, changes, self._mid + 1 if buyer_aggressed else self._mid, 1)
        price = min(side) if buyer_aggressed else max(side)
        lots = rng.randint(1, side[price])
        self._set(side, changes, price, side[price] - lots)
        self.last_trade_id += 1
        return MarketFrame(
            self.symbol,
            TRADE,
            {
                "e": "trade",
                "E": now_ms,
                "s": self.symbol,
                "t": self.last_trade_id,
                "p": self._price_text(price),
                "q": self._size_text(lots),
                "T": now_ms,
                "m": not buyer_aggressed,
                "M": True,
            },
        )

    def _refresh_level(self, bid_changes: dict[int, int], ask_changes: dict[int, int]) -> None:
        rng = self._rng
        depth = self._params.depth
        offset = min(int(rng.expovariate(0.3)), depth - 1)  # mostly near the top, as in real books
        if rng.random() < 0.5:
            side, changes, price = self.bids, bid_changes, self._mid - offset
        else:
            side, changes, price = self.asks, ask_changes, self._mid + 1 + offset
        lots = 0 if rng.random() < 0.2 else rng.randint(1, self._params.max_level_lots)
        self._set(side, changes, price, lots)

    @staticmethod
    def _set(side: dict[int, int], changes: dict[int, int], price: int, lots: int) -> None:
        if lots > 0:
            side[price] = lots
        else:
            side.pop(price, None)
        changes[price] = lots

    def _top_of_book(self) -> tuple[int, int, int, int]:
        bid, ask = max(self.bids), min(self.asks)
        return bid, self.bids[bid], ask, self.asks[ask]

    # -- payloads -----------------------------------------------------------------------

    def _depth_update(
        self, now_ms: int, first: int, bid_changes: dict[int, int], ask_changes: dict[int, int]
    ) -> dict[str, Any]:
        price, size = self._price_text, self._size_text
        return {
            "e": "depthUpdate",
            "E": now_ms,
            "s": self.symbol,
            "U": first,
            "u": self.last_update_id,
            "b": [[price(p), size(q)] for p, q in sorted(bid_changes.items(), reverse=True)],
            "a": [[price(p), size(q)] for p, q in sorted(ask_changes.items())],
        }

    def _book_ticker(self, top: tuple[int, int, int, int]) -> dict[str, Any]:
        bid, bid_lots, ask, ask_lots = top
        price, size = self._price_text, self._size_text
        return {
            "u": self.last_update_id,
            "s": self.symbol,
            "b": price(bid),
            "B": size(bid_lots),
            "a": price(ask),
            "A": size(ask_lots),
        }

    def snapshot(self, limit: int) -> dict[str, Any]:
        """The REST depth body: ``lastUpdateId`` and the best ``limit`` levels a side."""
        price, size = self._price_text, self._size_text
        bids = sorted(self.bids.items(), reverse=True)[:limit]
        asks = sorted(self.asks.items())[:limit]
        return {
            "lastUpdateId": self.last_update_id,
            "bids": [[price(p), size(q)] for p, q in bids],
            "asks": [[price(p), size(q)] for p, q in asks],
        }

    def view(self) -> BookView:
        price, size = self._price, self._size
        return BookView(
            self.last_update_id,
            [(price(p), size(q)) for p, q in sorted(self.bids.items(), reverse=True)],
            [(price(p), size(q)) for p, q in sorted(self.asks.items())],
        )


class RandomWalkMarket:
    """Several symbols, each with its own generator derived from ``seed`` and its name."""

    def __init__(self, symbols: Iterable[str], seed: int, params: MarketParams | None = None) -> None:
        self.symbols = tuple(symbol.upper() for symbol in symbols)
        if not self.symbols or len(set(self.symbols)) != len(self.symbols):
            raise ValueError(f"symbols must be distinct and at least one, was {self.symbols}")
        params = params if params is not None else MarketParams()
        self._markets = {
            symbol: SymbolMarket(symbol, random.Random(f"{seed}:{symbol}"), params) for symbol in self.symbols
        }

    @property
    def finished(self) -> bool:
        """A random walk never runs out."""
        return False

    def step(self, now_ms: int) -> list[MarketFrame]:
        """One step of every symbol, in symbol order."""
        frames: list[MarketFrame] = []
        for market in self._markets.values():
            frames.extend(market.step(now_ms))
        return frames

    def snapshot(self, symbol: str, limit: int) -> dict[str, Any]:
        """REST depth body for ``symbol``; KeyError for an unknown symbol."""
        return self._markets[symbol].snapshot(limit)

    def skip_next_depth(self, symbol: str | None = None) -> None:
        """The next depth update of ``symbol`` (all symbols if None) changes the book but is not sent."""
        for name, market in self._markets.items():
            if symbol is None or name == symbol:
                market.skip_next_depth = True

    def book(self, symbol: str) -> BookView:
        return self._markets[symbol].view()

    def last_trade_id(self, symbol: str) -> int:
        """Id of the last trade printed for ``symbol`` (the next one is this plus one)."""
        return self._markets[symbol].last_trade_id
