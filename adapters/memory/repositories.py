"""In-memory stores for market data, signals, trades and backtest results: the fakes of the
tests, and the store of runs that keep nothing (``[storage] kind = "memory"``)."""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from application.ports import AccountSnapshot, BacktestRecord, OrderQuery, check_signal_key
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, highest_sequence
from domain.market_data import MarketEvent
from domain.orders import Fill, Order, OrderEvent, OrderStatus
from domain.positions import Position
from domain.risk import RiskLimits, TradingSnapshot
from domain.signals import Signal


class InMemoryMarketDataRepository:
    """Keeps the last ``capacity`` market events: bounded, so memory stays flat on long runs."""

    __slots__ = ("_events", "append", "appended")

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 (was {capacity})")
        self._events: deque[MarketEvent] = deque(maxlen=capacity)
        self.append = self._events.append  # the per-tick call: a bound C method, no Python frame

    def flush(self) -> None:
        """Nothing to write: memory is the store."""

    def close(self) -> None:
        """Nothing to release."""

    def recent(self, limit: int = 100) -> list[MarketEvent]:
        return list(self._events)[-limit:]

    def __len__(self) -> int:
        return len(self._events)


class InMemorySignalRepository:
    """Every signal, in arrival order; or, given a ``capacity``, the last ``capacity`` of them
    (a backtest, which counts its signals elsewhere, keeps memory flat however long it runs).

    A signal with a key is kept once per key; with a ``capacity`` only the last ``capacity``
    keys are remembered (a key older than that is no longer recognised, as its signal is gone).
    """

    __slots__ = ("_capacity", "_keys", "_signals")

    def __init__(self, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 1:
            raise ValueError(f"capacity must be at least 1 (was {capacity})")
        self._capacity = capacity
        self._signals: deque[Signal] = deque(maxlen=capacity)
        self._keys: dict[str, None] = {}  # insertion-ordered: the oldest key goes first

    def add(self, signal: Signal, key: str | None = None) -> None:
        if key is not None:
            check_signal_key(key)
            keys = self._keys
            if key in keys:
                return  # a copy: the first one wins
            keys[key] = None
            if self._capacity is not None and len(keys) > self._capacity:
                del keys[next(iter(keys))]
        self._signals.append(signal)

    def has_key(self, key: str) -> bool:
        return key in self._keys

    def commit(self) -> None:
        """Nothing pending: memory is the store."""

    def close(self) -> None:
        """Nothing to release."""

    def list(self, *, strategy_id: StrategyId | None = None, limit: int = 1000) -> Sequence[Signal]:
        selected = [s for s in self._signals if strategy_id is None or s.strategy_id == strategy_id]
        return selected[-limit:]

    def __len__(self) -> int:
        return len(self._signals)


class InMemoryTradeRepository:
    """Orders by client order id, the append-only order-event journal, fills, the latest
    position per instrument and balances. Memory is durable enough for itself: ``commit``
    only counts.

    Given ``recent_orders``, it keeps every working order but only the ``recent_orders`` most
    recently added ones besides (and their events): a backtest, which reads back only its
    fills, then holds memory flat however many orders it sends. Every fill is kept.
    """

    __slots__ = (
        "_fills",
        "_journal",
        "_orders",
        "_prune_at",
        "_recent",
        "_snapshots",
        "balances",
        "commits",
        "positions",
        "risk_limits",
        "trading_state",
    )

    def __init__(self, recent_orders: int | None = None) -> None:
        if recent_orders is not None and recent_orders < 1:
            raise ValueError(f"recent_orders must be at least 1 (was {recent_orders})")
        self._recent = recent_orders
        self._prune_at = recent_orders + recent_orders // 4 if recent_orders is not None else None
        self._orders: dict[ClientOrderId, Order] = {}
        self._journal: list[OrderEvent] = []
        self._fills: list[Fill] = []
        self.positions: dict[InstrumentId, tuple[Decimal, Decimal, Decimal, Decimal, int]] = {}
        self.balances: dict[str, Decimal] = {}
        self.trading_state: TradingSnapshot | None = None
        self.risk_limits: RiskLimits | None = None
        self._snapshots: list[AccountSnapshot] = []
        self.commits = 0

    def clear(self) -> None:
        """Forget every order, event, fill, position, balance, snapshot and the trading state."""
        self._orders.clear()
        self._journal.clear()
        self._fills.clear()
        self.positions.clear()
        self.balances = {}
        self.trading_state = None
        self.risk_limits = None
        self._snapshots.clear()

    def close(self) -> None:
        """Nothing to release."""

    def save_account_snapshot(self, snapshot: AccountSnapshot) -> None:
        self._snapshots.append(snapshot)

    def account_snapshots(self, *, since_ns: int = 0, limit: int = 100_000) -> list[AccountSnapshot]:
        return [s for s in self._snapshots if s.ts_ns >= since_ns][-limit:] if limit > 0 else []

    def save_position(self, position: Position) -> None:
        self.positions[position.instrument_id] = position.state()

    def save_balances(self, balances: Mapping[str, Decimal], ts_ns: int) -> None:
        self.balances = dict(balances)

    def save_trading_state(self, snapshot: TradingSnapshot, limits: RiskLimits, ts_ns: int) -> None:
        self.trading_state = snapshot
        self.risk_limits = limits

    def stored_risk_limits(self) -> RiskLimits | None:
        return self.risk_limits

    def stored_trading_state(self) -> TradingSnapshot | None:
        return self.trading_state

    def commit(self) -> None:
        self.commits += 1

    def open_orders(self) -> Sequence[Order]:
        return [order for order in self._orders.values() if not order.status.is_terminal]

    def stored_positions(self) -> Mapping[InstrumentId, tuple[Decimal, Decimal, Decimal, Decimal, int]]:
        return dict(self.positions)

    def stored_balances(self) -> Mapping[str, Decimal]:
        return dict(self.balances)

    def max_sequence(self, prefix: str) -> int:
        return highest_sequence(self._orders, prefix)

    def add_order(self, order: Order) -> None:
        if order.client_order_id in self._orders:
            raise ValueError(f"order {order.client_order_id} is already stored")
        self._orders[order.client_order_id] = order
        if self._prune_at is not None and len(self._orders) > self._prune_at:
            self._forget_old_orders()

    def _forget_old_orders(self) -> None:
        """Keep the working orders and the ``recent_orders`` newest, with their events. Run once
        the count has grown by a quarter, not on every order: each pass costs the orders it reads."""
        assert self._recent is not None
        newest = len(self._orders) - self._recent
        self._orders = {
            coid: order
            for i, (coid, order) in enumerate(self._orders.items())
            if i >= newest or not order.status.is_terminal
        }
        kept = self._orders
        self._journal = [event for event in self._journal if event.client_order_id in kept]
        self._prune_at = len(kept) + max(self._recent, len(kept)) // 4 + 1

    def append_order_event(self, event: OrderEvent) -> None:
        self._journal.append(event)

    def add_fill(self, fill: Fill) -> None:
        self._fills.append(fill)

    def get_order(self, client_order_id: ClientOrderId) -> Order | None:
        return self._orders.get(client_order_id)

    def list_orders(
        self, *, instrument_id: InstrumentId | None = None, status: OrderStatus | None = None
    ) -> Sequence[Order]:
        return [
            order
            for order in self._orders.values()
            if (instrument_id is None or order.instrument_id == instrument_id)
            and (status is None or order.status is status)
        ]

    def list_fills(self, *, instrument_id: InstrumentId | None = None) -> Sequence[Fill]:
        return [f for f in self._fills if instrument_id is None or f.instrument_id == instrument_id]

    def query_orders(self, query: OrderQuery) -> list[Order]:
        def key(order: Order) -> tuple[int, str]:
            return (order.ts_init, order.client_order_id)

        matching = [
            order
            for order in self._orders.values()
            if (query.instrument_id is None or order.instrument_id == query.instrument_id)
            and (query.status is None or order.status is query.status)
            and (query.strategy_id is None or order.strategy_id == query.strategy_id)
            and not (query.open_only and order.status.is_terminal)
            and (query.before is None or key(order) < query.before)
        ]
        return sorted(matching, key=key, reverse=True)[: max(0, query.limit)]

    def find_by_venue_order_id(self, venue_order_id: str) -> Order | None:
        return next((o for o in self._orders.values() if o.venue_order_id == venue_order_id), None)

    def journal(self, client_order_id: ClientOrderId | None = None) -> list[OrderEvent]:
        return [e for e in self._journal if client_order_id is None or e.client_order_id == client_order_id]


class InMemoryBacktestResults:
    """``BacktestResults`` in a dict: the fake of the tests and the store of a run that keeps nothing."""

    def __init__(self) -> None:
        self._runs: dict[str, BacktestRecord] = {}
        self._lock = threading.Lock()

    def save(self, record: BacktestRecord) -> str:
        run_id = record.run_id or uuid.uuid4().hex
        with self._lock:
            if run_id in self._runs:
                raise ValueError(f"backtest run {run_id} is stored already")
            self._runs[run_id] = replace(record, run_id=run_id)
        return run_id

    def get(self, run_id: str) -> BacktestRecord | None:
        with self._lock:
            return self._runs.get(run_id)

    def list(self, *, strategy: str | None = None, limit: int = 50) -> Sequence[BacktestRecord]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1 (was {limit})")
        with self._lock:
            runs = [r for r in self._runs.values() if strategy is None or r.strategy == strategy]
        runs.sort(key=lambda r: (r.created_ns, r.run_id), reverse=True)
        return [replace(r, trades=()) for r in runs[:limit]]
