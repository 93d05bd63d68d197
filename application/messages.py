"""Events that cross the bus besides market data: broker reports and engine events.

Broker reports are what a broker adapter says happened to an order; ``BrokerReports``
(``application.execution``) applies them to the ``Order`` aggregate. Engine events are what
the engine tells observers (stores, gRPC streams, logs) after the fact. Requests to the
engine are commands (``application.commands``), not messages of this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId
from domain.intents import OrderIntent
from domain.orders import Fill, OrderEvent, OrderStatus, OrderType, TimeInForce
from domain.risk import RiskRejection
from domain.signals import Signal
from domain.values import OrderSide

# -- broker reports (broker -> BrokerReports) ----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted:
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected:
    client_order_id: ClientOrderId
    reason: str
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled:
    fill: Fill

    @property
    def client_order_id(self) -> ClientOrderId:
        return self.fill.client_order_id


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCanceled:
    client_order_id: ClientOrderId
    reason: str
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired:
    client_order_id: ClientOrderId
    reason: str
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRejected:
    client_order_id: ClientOrderId
    reason: str
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueOrder:
    """What a broker answers when asked about one order (reconciliation after a restart).

    ``fills`` are every execution the venue made of it, in order; ``status`` is the venue's
    (SUBMITTED while it is still travelling to the venue); ``reason`` says why it closed.
    """

    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId | None
    instrument_id: InstrumentId
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    price: Decimal | None
    quantity: Decimal
    filled_quantity: Decimal
    status: OrderStatus
    strategy_id: StrategyId | None = None
    fills: tuple[Fill, ...] = ()
    reason: str = ""
    ts_last: int = 0
    post_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class BalancesReported:
    """The venue's own account of some assets' totals (free + locked), after a change there.

    A real venue charges fees in other assets and moves balances for reasons the engine does
    not see (deposits, withdrawals); the portfolio takes these totals as the truth.
    """

    balances: Mapping[str, Decimal]
    ts_event: int


BrokerReport = OrderAccepted | OrderRejected | OrderFilled | OrderCanceled | OrderExpired | CancelRejected
"""Everything a broker can report about an order."""

# -- feed events (ingestion -> market state, simulated venue) ----------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedStatusChanged:
    """A market-data feed's connection for ``instruments`` went down or came back.

    While it is down, the last prices of those instruments describe a market nobody can see:
    risk refuses new orders on them and a simulated venue stops filling from them. Published
    on the bus in the order of the market events, so every consumer sees it at the same point.
    """

    feed: str
    instruments: tuple[InstrumentId, ...]
    connected: bool
    reason: str
    ts_event: int


# -- engine events (engine -> observers) ------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdated:
    """An order changed state; ``event`` is the journal entry the order recorded."""

    event: OrderEvent
    instrument_id: InstrumentId
    strategy_id: StrategyId | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionChanged:
    """A fill changed a position; figures after the fill, in the quote currency."""

    instrument_id: InstrumentId
    quantity: Decimal
    avg_entry_price: Decimal | None
    realized_pnl: Decimal
    fees: Decimal
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentRejected:
    """Pre-trade risk (or instrument validation) refused an intent; nothing was sent."""

    intent: OrderIntent
    rejections: tuple[RiskRejection, ...]
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyFailed:
    """A strategy raised; it was disabled and the engine went on."""

    strategy_id: StrategyId
    error: str
    ts_event: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalEmitted:
    signal: Signal


# -- between services (strategy workers -> execution, over Redis Streams) -----------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalDecided:
    """A strategy worker's signal, for the execution service to size and trade.

    ``key`` is the same every time this signal is decided again (a redelivered market event, a
    shard moved to another worker), so execution trades it once: the client order id derives
    from it. ``source`` is the position of the market event it was decided on in its shard's
    market stream, which lets execution apply it right after that event, as one process would.
    """

    signal: Signal
    price: Decimal
    """What the signal is sized at: the price of the event it was decided on."""
    key: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardProgress:
    """A strategy worker decided everything of ``shard`` up to the market entry ``through``: every
    ``SignalDecided`` of those events precedes this message in the shard's signals stream."""

    shard: int
    through: str
    worker: str


# -- alerts (alert service -> observers: webhooks, gRPC streams, logs) -------------------------


class AlertSeverity(Enum):
    """How urgently a person must look: now (critical) or soon (warning)."""

    CRITICAL = "critical"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One alert: a named condition (``name`` + ``labels`` identify it) with its numbers.

    ``labels`` are sorted (key, value) pairs such as ``(("feed", "binance"),)``; ``summary``
    says what is wrong with the figures that make it so. Times are the engine clock's ns;
    ``resolved_at_ns`` is None while the alert is active.
    """

    name: str
    severity: AlertSeverity
    summary: str
    labels: tuple[tuple[str, str], ...] = ()
    fired_at_ns: int
    resolved_at_ns: int | None = None

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """What makes two alerts the same one (de-duplication)."""
        return (self.name, self.labels)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRaised:
    """An alert began (``repeat`` False) or is still active and is sent again (``repeat`` True)."""

    alert: Alert
    repeat: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertResolved:
    """An alert's condition cleared; ``alert.resolved_at_ns`` says when."""

    alert: Alert
