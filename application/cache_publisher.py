"""What other processes read from the shared cache: book tops, positions, the risk state.

Quotes reach the cache from ``MarketState``; this service adds, as JSON under stable keys,

- ``book_top:{instrument}``: best bid and ask with sizes, written when the top changes;
- ``position:{instrument}``: quantity, average entry, realized P&L and fees, after each fill;
- ``risk_state``: the trading state, its reason, equity, the day's opening equity and the
  peak, after each fill and each state change.

Decimals are exact strings. It is wired only when the cache is shared (Redis): with the
in-process cache nobody else could read it, and the hot path pays nothing.
"""

from __future__ import annotations

import json

from application.messages import PositionChanged
from application.ports import Cache, EventBus
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookSnapshot
from domain.order_book import OrderBook
from domain.risk import TradingStateChanged, TradingStateMachine
from domain.values import plain


class CachePublisher:
    """Subscribes to the bus and keeps the shared cache's keys current."""

    def __init__(
        self, *, cache: Cache, books: dict[InstrumentId, OrderBook], trading: TradingStateMachine
    ) -> None:
        self._cache = cache
        self._books = books  # MarketState's books (already updated when our handler runs)
        self._trading = trading
        self._tops: dict[InstrumentId, tuple[object, ...]] = {}

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(BookSnapshot, self.on_book)
        bus.subscribe(BookDelta, self.on_book)
        bus.subscribe(PositionChanged, self.on_position)
        bus.subscribe(TradingStateChanged, self.on_trading_state)

    def on_book(self, event: BookSnapshot | BookDelta) -> None:
        book = self._books.get(event.instrument_id)
        if book is None or not book.synced:
            return
        bid, ask = book.best_bid(), book.best_ask()
        top = (bid, ask)
        if self._tops.get(event.instrument_id) == top:
            return
        self._tops[event.instrument_id] = top
        value = {
            "bid": None if bid is None else plain(bid[0]),
            "bid_size": None if bid is None else plain(bid[1]),
            "ask": None if ask is None else plain(ask[0]),
            "ask_size": None if ask is None else plain(ask[1]),
            "ts": event.ts_event,
        }
        self._cache.set(f"book_top:{event.instrument_id}", json.dumps(value))

    def on_position(self, change: PositionChanged) -> None:
        value = {
            "quantity": plain(change.quantity),
            "avg_entry_price": None if change.avg_entry_price is None else plain(change.avg_entry_price),
            "realized_pnl": plain(change.realized_pnl),
            "fees": plain(change.fees),
            "ts": change.ts_event,
        }
        self._cache.set(f"position:{change.instrument_id}", json.dumps(value))
        self._write_risk_state()

    def on_trading_state(self, change: TradingStateChanged) -> None:
        self._write_risk_state()

    def _write_risk_state(self) -> None:
        snapshot = self._trading.snapshot()
        value = {
            "state": snapshot.state.value,
            "reason": None if snapshot.reason is None else snapshot.reason.value,
            "message": snapshot.message,
            "since": snapshot.since_ns,
            "equity": None if snapshot.equity is None else plain(snapshot.equity),
            "opening_equity": None if snapshot.opening_equity is None else plain(snapshot.opening_equity),
            "peak_equity": None if snapshot.peak_equity is None else plain(snapshot.peak_equity),
        }
        self._cache.set("risk_state", json.dumps(value))
