"""Ports: what the application needs from the outside world, as ``typing.Protocol``s.

Every port has an in-memory adapter in ``adapters/memory/`` (the test fake and the
embedded default). Repositories are synchronous: handlers on the bus are synchronous
and ordered, and a store that must wait on I/O batches in its adapter instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar, runtime_checkable

from application.commands import Command
from application.messages import FeedStatusChanged, VenueOrder
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId
from domain.instrument import Instrument
from domain.market_data import (
    Bar,
    BookDelta,
    BookInvalidated,
    BookSnapshot,
    MarketEvent,
    QuoteTick,
    TradeTick,
)
from domain.orders import Fill, Order, OrderEvent, OrderStatus
from domain.positions import Position
from domain.risk import RiskLimits, TradingSnapshot
from domain.signals import Signal

E = TypeVar("E")
R = TypeVar("R")


@runtime_checkable
class Clock(Protocol):
    """Where time comes from: the wall clock live, the events' own timestamps in a backtest."""

    def now_ns(self) -> int: ...


class EventBus(Protocol):
    """Synchronous, ordered publish/subscribe keyed by message type.

    Handlers run in subscription order; a message published from inside a handler is
    queued and delivered after the current one, so one input sequence always yields one
    output sequence.
    """

    def subscribe(
        self,
        message_type: type[E],
        handler: Callable[[E], None],
        *,
        before: Callable[[E], None] | None = None,
    ) -> None:
        """After the handlers already subscribed, or just before ``before``."""
        ...

    def unsubscribe(self, message_type: type[E], handler: Callable[[E], None]) -> None:
        """Stop delivering to ``handler`` (observers that come and go, e.g. gRPC streams)."""
        ...

    def publish(self, message: object) -> None: ...

    def wants(self, message_type: type) -> bool:
        """True when someone subscribed to ``message_type``: lets a publisher skip building
        a notification nobody reads (the order path builds several per order)."""
        ...


class CommandBus(Protocol):
    """Runs a command (``application.commands``) by its one handler, now, and returns its result."""

    def execute(self, command: Command[R]) -> R: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentFeedHealth:
    """One instrument's data on a feed: is its book verified, how fresh, how often rebuilt."""

    instrument_id: InstrumentId
    book_verified: bool
    """The local book matches the venue's (sequence or checksum checked); False without a book."""
    last_message_ns: int | None
    gaps: int = 0
    """Sequence gaps seen (messages lost on the way)."""
    checksum_failures: int = 0
    resubscriptions: int = 0
    """Times the book was rebuilt from a fresh snapshot after a gap, a checksum failure or staleness."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedHealth:
    """What an operator needs to know about one market-data connection."""

    name: str
    connected: bool
    last_message_ns: int | None
    messages: int
    reconnects: int
    gaps: int
    malformed: int
    last_error: str = ""
    unknown: int = 0
    """Well-formed messages of a kind this adapter does not use (a venue may add kinds at any time)."""
    checksum_failures: int = 0
    instruments: tuple[InstrumentFeedHealth, ...] = ()
    """Per instrument, for feeds that report it (in subscription order)."""


class MarketDataFeed(Protocol):
    """A venue connection that streams normalized market events into a sink until stopped.

    ``run`` connects, subscribes and keeps the connection alive on its own (reconnect with
    backoff, resubscribe, book resync); it returns only after ``stop``.
    """

    name: str

    async def run(self, sink: Callable[[MarketEvent], None]) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> FeedHealth: ...


class Broker(Protocol):
    """Executes orders. Calls return at once; outcomes arrive later as broker reports
    (``application.messages``) published on the bus, for the paper broker and a real one alike.

    ``supports_stop_orders`` says whether the venue holds stop orders itself; when it does
    not, the engine holds them and sends them as market or limit orders once triggered.
    """

    name: str
    supports_stop_orders: bool

    @property
    def spot_account(self) -> bool:
        """The account is spot (sells only what it holds, pays only with what it has): pre-trade
        risk then checks the free balances before anything is sent, as the venue would."""
        ...

    def submit(self, order: Order) -> None: ...

    def cancel(self, order: Order) -> None: ...


class ReconcilableBroker(Broker, Protocol):
    """A broker that answers for its orders: what recovery asks after a restart.

    The broker is the truth for what was filled and what is still working; see
    ``application.reconciliation`` for the rules applied to its answers.
    """

    def query_order(self, client_order_id: ClientOrderId) -> VenueOrder | None:
        """The venue's view of one order, or None when the venue has no record of it."""
        ...

    def query_open_orders(self) -> Sequence[VenueOrder]:
        """Every order working at the venue, oldest first."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerHealth:
    """How a networked broker's connection to its venue stands (``GetStatus``, status lines).

    ``unknown_outcomes`` counts requests whose outcome the venue has not told yet (a timeout, a
    5xx): their orders stay in flight while the broker asks. ``rate_limited`` counts the
    venue's 429/418 answers; ``blocked_until_ns`` is when the venue lets it send again (0: now).
    """

    name: str
    environment: str
    account: str
    connected: bool
    requests_in_flight: int = 0
    unknown_outcomes: int = 0
    rate_limited: int = 0
    blocked_until_ns: int = 0
    used_weight: int = 0
    reconnects: int = 0
    clock_offset_ms: int = 0
    last_error: str = ""


@runtime_checkable
class ConnectedBroker(Protocol):
    """A broker that talks to a real venue over the network, from the engine's event loop.

    ``connect`` opens what must stay open while the engine trades (the venue's stream of order
    updates) and returns once it is live; ``disconnect`` waits (bounded) for the answers still
    owed and closes. ``busy`` is True while a request about the order has no answer yet: such an
    order is not reconciled, because the venue's view of it is about to change.
    ``venue_view`` asks the venue about ``client_order_ids`` and its open orders without
    blocking the loop, and returns the answers as a ``ReconcilableBroker`` that
    ``application.reconciliation`` can read synchronously.
    """

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    def busy(self, client_order_id: ClientOrderId) -> bool: ...

    async def venue_view(self, client_order_ids: Sequence[ClientOrderId]) -> ReconcilableBroker: ...

    def health(self) -> BrokerHealth: ...


class InstrumentProvider(Protocol):
    """Instruments as the venue defines them (tick, lot, minimums), so orders meet its filters."""

    def instruments(self, instrument_ids: Sequence[InstrumentId]) -> Sequence[Instrument]:
        """One per id, in order; raises ValueError naming an id the venue does not list."""
        ...


@runtime_checkable
class SimulatedVenue(Protocol):
    """A venue simulated in-process (the paper broker): it fills against the market data the
    engine sees, and its time is the events' time (latency is counted in event time).

    A broker says it is one by implementing this protocol; the engine then hands it every
    market event before the strategies see the event.
    """

    def on_trade(self, tick: TradeTick) -> None: ...

    def on_quote(self, quote: QuoteTick) -> None: ...

    def on_bar(self, bar: Bar) -> None: ...

    def on_book_snapshot(self, snapshot: BookSnapshot) -> None: ...

    def on_book_delta(self, delta: BookDelta) -> None: ...

    def on_book_invalidated(self, event: BookInvalidated) -> None: ...

    def on_feed_status(self, event: FeedStatusChanged) -> None:
        """A feed went down or came back: a venue never fills from a market nobody can see."""
        ...

    def advance_to(self, ts_ns: int) -> None:
        """Let every submit and cancel due by ``ts_ns`` arrive (the end of a replay)."""
        ...

    def advance_to_end(self) -> None:
        """Let everything still travelling to the venue arrive now (the engine is stopping)."""
        ...


class MarketDataRepository(Protocol):
    """The market-data store: appended in batches so ingestion never waits on it."""

    def append(self, event: MarketEvent) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None:
        """Write what is buffered and release the store's resources."""
        ...


SIGNAL_KEY_MAX_LENGTH = 255
"""The longest idempotency key a signals store keeps (the width of its column)."""


def check_signal_key(key: str) -> None:
    """ValueError unless ``key`` can be stored as a signal's key: refused when added, a bad
    key never reaches a transaction it would fail (with the order it rides with)."""
    if not 0 < len(key) <= SIGNAL_KEY_MAX_LENGTH or "\0" in key:
        raise ValueError(
            f"a signal key is 1 to {SIGNAL_KEY_MAX_LENGTH} characters, no NUL (was {len(key)} long)"
        )


class SignalRepository(Protocol):
    """The signals store: every signal a strategy emitted, in order.

    ``add`` may buffer: a store on the trades store's database writes a signal in the same
    transaction as the order it causes (the OMS commits before anything reaches the broker).
    ``commit`` makes every signal added so far durable (nothing to do when none is pending);
    the strategy engine calls it before it moves on from the market event that produced them.

    A signal decided in another process may be delivered twice; it comes with a ``key`` (the
    same on every copy) and is stored once per key: a later ``add`` with a stored key is
    ignored (the first one wins). ``has_key`` is how a caller tells a copy before acting on it.
    """

    def add(self, signal: Signal, key: str | None = None) -> None:
        """Store ``signal`` (once per ``key``; ValueError for a key ``check_signal_key`` refuses)."""
        ...

    def has_key(self, key: str) -> bool:
        """True once a signal with ``key`` was added: pending, committed, or stored by an
        earlier run of the process."""
        ...

    def commit(self) -> None: ...

    def list(self, *, strategy_id: StrategyId | None = None, limit: int = 1000) -> Sequence[Signal]: ...

    def close(self) -> None:
        """Commit what is pending and release the store's resources."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderQuery:
    """One page of orders, newest first by (ts_init, client_order_id); ``before`` is the key
    of the last order of the previous page (strictly older ones follow)."""

    instrument_id: InstrumentId | None = None
    status: OrderStatus | None = None
    strategy_id: StrategyId | None = None
    open_only: bool = False
    before: tuple[int, str] | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSnapshot:
    """The account at one moment, for the equity curve of a live run (valuation currency)."""

    ts_ns: int
    equity: Decimal
    peak_equity: Decimal
    realized_pnl: Decimal
    fees: Decimal


class TradeRepository(Protocol):
    """The trades store: orders, their append-only event journal, fills, positions, balances.

    Writes since the last ``commit`` form one unit of work; ``commit`` makes them durable
    together (a fill, its order events, the position and the balances it changed) or raises
    and keeps none. The OMS commits before anything leaves for the broker, so an order the
    broker sees is always in the journal.
    """

    def add_order(self, order: Order) -> None: ...

    def append_order_event(self, event: OrderEvent) -> None: ...

    def add_fill(self, fill: Fill) -> None: ...

    def save_position(self, position: Position) -> None: ...

    def save_balances(self, balances: Mapping[str, Decimal], ts_ns: int) -> None: ...

    def save_trading_state(self, snapshot: TradingSnapshot, limits: RiskLimits, ts_ns: int) -> None:
        """The post-trade risk state (and, for the record, the limits in force)."""
        ...

    def stored_risk_limits(self) -> RiskLimits | None:
        """The limits in force when the trading state was last saved, for the record."""
        ...

    def save_account_snapshot(self, snapshot: AccountSnapshot) -> None: ...

    def account_snapshots(self, *, since_ns: int = 0, limit: int = 100_000) -> Sequence[AccountSnapshot]:
        """Snapshots at or after ``since_ns``, oldest first, at most ``limit`` (the latest)."""
        ...

    def commit(self) -> None: ...

    def get_order(self, client_order_id: ClientOrderId) -> Order | None: ...

    def list_orders(
        self, *, instrument_id: InstrumentId | None = None, status: OrderStatus | None = None
    ) -> Sequence[Order]: ...

    def list_fills(self, *, instrument_id: InstrumentId | None = None) -> Sequence[Fill]: ...

    def query_orders(self, query: OrderQuery) -> Sequence[Order]:
        """At most ``query.limit`` orders matching it, newest first (filtered by the store)."""
        ...

    def find_by_venue_order_id(self, venue_order_id: str) -> Order | None: ...

    # -- what a restart reads back (application/recovery.py) --

    def open_orders(self) -> Sequence[Order]:
        """Orders not in a terminal state, rebuilt from their journal."""
        ...

    def stored_positions(self) -> Mapping[InstrumentId, tuple[Decimal, Decimal, Decimal, Decimal, int]]:
        """The position projection as last committed: ``Position.state()`` per instrument."""
        ...

    def stored_balances(self) -> Mapping[str, Decimal]: ...

    def stored_trading_state(self) -> TradingSnapshot | None: ...

    def max_sequence(self, prefix: str) -> int:
        """The highest n of the stored client order ids ``{prefix}-{n}`` (0 when none)."""
        ...

    # -- lifecycle --

    def clear(self) -> None:
        """Delete every order, fill, position, balance and the trading state (a fresh account)."""
        ...

    def close(self) -> None:
        """Release the store's resources (what was not committed is lost, as in a crash)."""
        ...


class Cache(Protocol):
    """Latest values other processes may read: quotes, positions, risk state."""

    def set_quote(self, quote: QuoteTick) -> None: ...

    def get_quote(self, instrument_id: InstrumentId) -> QuoteTick | None: ...

    def set(self, key: str, value: str) -> None: ...

    def get(self, key: str) -> str | None: ...

    def close(self) -> None:
        """Write what is pending and release the connection."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestRecord:
    """One backtest run as stored: what ran (strategy, parameters, data files, instrument),
    over which span of event time (nanoseconds), and how it did.

    Money is exact (``capital``, ``final_equity`` in the quote currency; ``total_return`` a
    fraction); ``sharpe`` is None when the run was too short to have one. ``metrics`` is the
    run's ``PerformanceReport.as_dict(trades=False)`` and ``trades`` its round trips'
    ``as_dict()``: JSON-safe, decimals as exact strings. ``run_id`` is empty until stored.
    """

    run_id: str = ""
    created_ns: int
    strategy: str
    instrument_id: str
    params: Mapping[str, str]
    data: tuple[str, ...]
    first_ts: int
    last_ts: int
    events: int
    capital: Decimal
    final_equity: Decimal
    total_return: Decimal
    sharpe: float | None
    max_drawdown: float
    trade_count: int
    metrics: Mapping[str, object]
    trades: tuple[Mapping[str, object], ...] = ()


class BacktestResults(Protocol):
    """Stored backtest runs, listable. Safe to call from any thread."""

    def save(self, record: BacktestRecord) -> str:
        """Store ``record``; returns its run id (a new uuid4 hex when ``record.run_id`` is empty).

        Raises ValueError for a run id that is already stored.
        """
        ...

    def get(self, run_id: str) -> BacktestRecord | None:
        """The run with its metrics and trades, or None."""
        ...

    def list(self, *, strategy: str | None = None, limit: int = 50) -> Sequence[BacktestRecord]:
        """Newest first (by ``created_ns``), at most ``limit``, of one strategy when given.

        The records carry their metrics but not their trades (``trades`` is empty: there may
        be thousands); ``get`` has them. Raises ValueError for a ``limit`` below 1.
        """
        ...
