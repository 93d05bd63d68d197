"""An engine built by the composition root (``bootstrap``) on in-memory adapters and fakes.

``build()`` makes a ``Settings`` and hands ``bootstrap`` a ``ManualClock``, an ``InMemoryFeed``
and, when asked, a fake broker or other stores, so the tests run the one wiring production
runs. The harness records every engine message on the bus and every handler failure. The
fakes are port implementations, not mocks: ``RecordingBroker`` (a venue that answers only
when the test says so) and ``ScriptedStrategy`` (a strategy whose signals are a table keyed by
price).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, TypeVar

from adapters.brokers.paper import PaperBrokerConfig
from adapters.memory import (
    InMemoryFeed,
    InMemoryMarketDataRepository,
    InMemorySignalRepository,
    InMemoryTradeRepository,
    ManualClock,
)
from application.bus import HandlerFailure, MessageBus
from application.commands import CancelAllOrders, CancelOrder, Halt, Resume, SubmitOrder, SubmitResult
from application.engine import Engine
from application.execution import BrokerReports, OrderManager, RiskMonitor, StopManager
from application.ingestion import IngestionService
from application.market_state import MarketState
from application.messages import (
    CancelRejected,
    IntentRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PositionChanged,
    SignalEmitted,
    StrategyFailed,
    VenueOrder,
)
from application.ports import BrokerHealth, MarketDataFeed, SignalRepository, TradeRepository
from application.strategy_engine import StrategyEngine
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId, VenueOrderId
from domain.instrument import Instrument
from domain.intents import OrderIntent
from domain.market_data import Bar, MarketEvent, QuoteTick, TradeTick
from domain.orders import Fill, Order, OrderStatus
from domain.portfolio import Portfolio
from domain.risk import RiskLimits, StopRules, TradingState, TradingStateChanged, TradingStateMachine
from domain.signals import Signal
from domain.strategies.base import NO_SIGNALS
from domain.values import AggressorSide, OrderSide
from entrypoints.config import BrokerSettings, EngineSettings, LoggingSettings, Settings, StorageSettings
from entrypoints.container import App, bootstrap
from entrypoints.storage import Stores
from tests.builders import BTCUSDT, ETHUSDT, STEP_NS, TS, make_instrument

M = TypeVar("M")

BTC = BTCUSDT
ETH = ETHUSDT
RECORDED = (
    SignalEmitted,
    IntentRejected,
    OrderUpdated,
    PositionChanged,
    StrategyFailed,
    TradingStateChanged,
    OrderAccepted,
    OrderRejected,
    OrderFilled,
    OrderCanceled,
    OrderExpired,
    CancelRejected,
)


def btc() -> Instrument:
    """BTCUSDT: tick 0.01, lot 0.001, min notional 10 USDT."""
    return make_instrument(lot_size="0.001", min_notional="10")


def eth() -> Instrument:
    return make_instrument(base="ETH", lot_size="0.001", min_notional="10")


# -- fakes ------------------------------------------------------------------------------------


class RecordingBroker:
    """A ``Broker`` that records submits and cancels and reports only what a test tells it to.

    As a venue asked after a restart, it knows no order (nothing it was told survives)."""

    name = "recording"

    def __init__(self, publish: Callable[[object], None], *, supports_stop_orders: bool = False) -> None:
        self._publish = publish
        self.supports_stop_orders = supports_stop_orders
        self.spot_account = False
        self.submitted: list[Order] = []
        self.canceled: list[Order] = []
        self.on_submit: Callable[[Order], None] | None = None
        self._venue_ids = 0
        self._trade_ids = 0

    def submit(self, order: Order) -> None:
        if self.on_submit is not None:
            self.on_submit(order)
        self.submitted.append(order)

    def cancel(self, order: Order) -> None:
        self.canceled.append(order)

    def query_order(self, client_order_id: ClientOrderId) -> VenueOrder | None:
        return None

    def query_open_orders(self) -> Sequence[VenueOrder]:
        return ()

    # -- what the venue says, when the test says so --------------------------------------

    def accept(self, order: Order, ts: int) -> None:
        self._venue_ids += 1
        self._publish(
            OrderAccepted(
                client_order_id=order.client_order_id,
                venue_order_id=VenueOrderId(f"V-{self._venue_ids}"),
                ts_event=ts,
            )
        )

    def fill(self, order: Order, quantity: str, price: str, ts: int, *, fee: str = "0") -> Fill:
        self._trade_ids += 1
        fill = Fill(
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            trade_id=TradeId(f"X-{self._trade_ids}"),
            side=order.side,
            quantity=Decimal(quantity),
            price=Decimal(price),
            fee=Decimal(fee),
            strategy_id=order.strategy_id,
            ts_event=ts,
        )
        self._publish(OrderFilled(fill=fill))
        return fill

    def report_canceled(self, order: Order, ts: int) -> None:
        self._publish(OrderCanceled(client_order_id=order.client_order_id, reason="canceled", ts_event=ts))

    def reject(self, order: Order, ts: int, reason: str = "insufficient balance") -> None:
        self._publish(OrderRejected(client_order_id=order.client_order_id, reason=reason, ts_event=ts))

    def expire(self, order: Order, ts: int) -> None:
        self._publish(
            OrderExpired(client_order_id=order.client_order_id, reason="IOC remainder", ts_event=ts)
        )


class ConnectedRecordingBroker(RecordingBroker):
    """A ``RecordingBroker`` that is also a ``ConnectedBroker``: it records when the engine
    connects and disconnects it (``calls``), answers ``venue_view`` from ``venue`` (a
    ``ReconcilableBroker`` the test sets, or itself), and is ``busy`` for the ids in ``busy_ids``."""

    name = "connected"

    def __init__(self, publish: Callable[[object], None], *, supports_stop_orders: bool = False) -> None:
        super().__init__(publish, supports_stop_orders=supports_stop_orders)
        self.calls: list[str] = []
        self.busy_ids: set[ClientOrderId] = set()
        self.venue: Any = None
        self.asked: list[list[ClientOrderId]] = []
        self.view_failure: Exception | None = None

    def cancel(self, order: Order) -> None:
        self.calls.append("cancel")
        super().cancel(order)

    async def connect(self) -> None:
        self.calls.append("connect")

    async def disconnect(self) -> None:
        self.calls.append("disconnect")

    def busy(self, client_order_id: ClientOrderId) -> bool:
        return client_order_id in self.busy_ids

    async def venue_view(self, client_order_ids: Sequence[ClientOrderId]) -> Any:
        self.asked.append(list(client_order_ids))
        if self.view_failure is not None:
            raise self.view_failure
        return self.venue if self.venue is not None else self

    def health(self) -> BrokerHealth:
        return BrokerHealth(name=self.name, environment="test", account="acct", connected=True)


Script = Mapping[str, OrderSide | str | Exception]
"""Price (as text) -> what the strategy says on an event at that price: a side, a target
position (a decimal string), or an exception to raise."""


class ScriptedStrategy:
    """A ``Strategy`` fake: records every event it is fed and answers from a script keyed by price.

    The price of a trade is its price, of a quote its mid, of a bar its close.
    """

    def __init__(self, strategy_id: str, *instrument_ids: InstrumentId, script: Script | None = None) -> None:
        self._id = StrategyId(strategy_id)
        self._instrument_ids = frozenset(instrument_ids or (BTC,))
        self.script: dict[str, OrderSide | str | Exception] = dict(script or {})
        self.seen: list[MarketEvent] = []
        self.resets = 0

    @property
    def id(self) -> StrategyId:
        return self._id

    @property
    def instrument_ids(self) -> frozenset[InstrumentId]:
        return self._instrument_ids

    @property
    def ready(self) -> bool:
        return True

    @property
    def warmup(self) -> int:
        return 0

    def parameters(self) -> Mapping[str, object]:
        return {}

    def on_trade(self, tick: TradeTick) -> Sequence[Signal]:
        self.seen.append(tick)
        return self._answer(tick.instrument_id, tick.price, tick.ts_event)

    def on_quote(self, quote: QuoteTick) -> Sequence[Signal]:
        self.seen.append(quote)
        return self._answer(quote.instrument_id, quote.mid, quote.ts_event)

    def on_bar(self, bar: Bar) -> Sequence[Signal]:
        self.seen.append(bar)
        return self._answer(bar.instrument_id, bar.close, bar.ts_event)

    def reset(self) -> None:
        self.resets += 1

    def _answer(self, instrument_id: InstrumentId, price: Decimal, ts: int) -> Sequence[Signal]:
        said = self.script.get(str(price))
        if said is None:
            return NO_SIGNALS
        if isinstance(said, Exception):
            raise said
        if isinstance(said, OrderSide):
            return (
                Signal(
                    strategy_id=self._id,
                    instrument_id=instrument_id,
                    side=said,
                    reason=f"scripted {said.name} at {price}",
                    ts_event=ts,
                ),
            )
        return (
            Signal(
                strategy_id=self._id,
                instrument_id=instrument_id,
                target_position=Decimal(said),
                reason=f"scripted target {said} at {price}",
                ts_event=ts,
            ),
        )


# -- the harness --------------------------------------------------------------------------------


@dataclass(repr=False)
class Harness:
    app: App
    clock: ManualClock
    feed: InMemoryFeed
    failures: list[HandlerFailure] = field(default_factory=list)
    messages: list[object] = field(default_factory=list)
    expect_failures: bool = False
    _trade_ids: int = 0

    # -- what the tests look at (the application's parts) --------------------------------

    @property
    def bus(self) -> MessageBus:
        return self.app.bus

    @property
    def engine(self) -> Engine:
        return self.app.engine

    @property
    def portfolio(self) -> Portfolio:
        return self.app.portfolio

    @property
    def market(self) -> MarketState:
        return self.app.market

    @property
    def orders(self) -> OrderManager:
        return self.app.orders

    @property
    def reports(self) -> BrokerReports:
        return self.app.reports

    @property
    def stops(self) -> StopManager:
        return self.app.stops

    @property
    def risk(self) -> RiskMonitor:
        return self.app.risk

    @property
    def trading(self) -> TradingStateMachine:
        return self.app.risk.trading

    @property
    def strategies(self) -> StrategyEngine:
        return self.app.strategies

    @property
    def ingestion(self) -> IngestionService:
        return self.app.ingestion

    @property
    def broker(self) -> Any:  # PaperBroker or RecordingBroker
        return self.app.broker

    @property
    def trades(self) -> Any:  # InMemoryTradeRepository, or the TradeRepository passed to build()
        return self.app.trades

    @property
    def signals(self) -> Any:  # InMemorySignalRepository, or the SignalRepository passed to build()
        return self.app.signals

    @property
    def market_data(self) -> Any:
        return self.app.market_data

    # -- commands, as an operator sends them ---------------------------------------------

    def submit(self, intent: OrderIntent, *, client_order_id: str | None = None) -> Order:
        """``SubmitOrder`` at the clock's next step; raises the refusal like the gRPC API does."""
        return self.try_submit(intent, client_order_id=client_order_id).unwrap()

    def try_submit(self, intent: OrderIntent, *, client_order_id: str | None = None) -> SubmitResult:
        """``SubmitOrder`` at the clock's next step; the result, refused or not."""
        self.advance()
        coid = ClientOrderId(client_order_id) if client_order_id is not None else None
        return self.bus.execute(SubmitOrder(intent=intent, client_order_id=coid))

    def cancel(self, client_order_id: str) -> Order:
        return self.bus.execute(CancelOrder(client_order_id))

    def cancel_all(self, instrument_id: InstrumentId | None = None) -> tuple[Order, ...]:
        return self.bus.execute(CancelAllOrders(instrument_id))

    def halt(self, reason: str, *, cancel_open_orders: bool = False) -> TradingState:
        state = self.bus.execute(Halt(reason))
        if cancel_open_orders:
            self.cancel_all()
        return state

    def resume(self, *, reset_peak: bool = False) -> TradingState:
        return self.bus.execute(Resume(reset_peak=reset_peak))

    # -- driving the market ------------------------------------------------------------

    def advance(self, step: int = STEP_NS) -> int:
        """Move the clock on by ``step`` and return the new time."""
        self.clock.advance(step)
        return self.clock.now_ns()

    def trade(
        self,
        price: str,
        size: str = "1",
        *,
        instrument_id: InstrumentId = BTC,
        aggressor: AggressorSide = AggressorSide.NONE,
    ) -> TradeTick:
        ts = self.advance()
        self._trade_ids += 1
        tick = TradeTick.create(
            instrument_id=instrument_id,
            price=price,
            size=size,
            aggressor=aggressor,
            trade_id=f"P-{self._trade_ids}",
            ts_event=ts,
            ts_init=ts,
        )
        self.bus.publish(tick)
        return tick

    def quote(self, bid: str, ask: str, size: str = "10", *, instrument_id: InstrumentId = BTC) -> QuoteTick:
        ts = self.advance()
        quote = QuoteTick.create(
            instrument_id=instrument_id,
            bid_price=bid,
            bid_size=size,
            ask_price=ask,
            ask_size=size,
            ts_event=ts,
            ts_init=ts,
        )
        self.bus.publish(quote)
        return quote

    def bar(self, close: str, *, instrument_id: InstrumentId = BTC) -> Bar:
        ts = self.advance()
        bar = Bar.create(
            instrument_id=instrument_id,
            open=close,
            high=close,
            low=close,
            close=close,
            volume="1",
            interval_ns=60_000_000_000,
            ts_event=ts,
            ts_init=ts,
        )
        self.bus.publish(bar)
        return bar

    # -- reading what happened -------------------------------------------------------------

    def of_type(self, message_type: type[M]) -> list[M]:
        return [m for m in self.messages if type(m) is message_type]

    def statuses(self, order: Order) -> list[OrderStatus]:
        """The journaled statuses of ``order``, in order."""
        return [event.status for event in self.trades.journal(order.client_order_id)]

    def position(self, instrument_id: InstrumentId = BTC) -> Decimal:
        position = self.portfolio.positions.get(instrument_id)
        return position.quantity if position is not None else Decimal(0)


def build(
    *,
    limits: RiskLimits | None = None,
    stop_rules: StopRules | None = None,
    broker: str = "paper",
    paper: PaperBrokerConfig | None = None,
    instruments: Iterable[Instrument] | None = None,
    balances: Mapping[str, object] | None = None,
    events: Iterable[MarketEvent] = (),
    mark_interval_ns: int = 1_000_000_000,
    start_ns: int = TS,
    restart_delay: float = 0.0,
    broker_supports_stops: bool = False,
    market_data: InMemoryMarketDataRepository | None = None,
    feeds: Sequence[MarketDataFeed] | None = None,
    trades: TradeRepository | None = None,
    signals: SignalRepository | None = None,
) -> Harness:
    """The engine of the composition root on in-memory adapters; see the module docstring.

    ``broker`` is "paper" (a PaperBroker with no latency and no fees unless ``paper`` says
    otherwise), "recording" (a RecordingBroker) or "connected" (a ConnectedRecordingBroker).
    The feed replays ``events`` and moves the clock to each event's time; ``feeds`` replaces
    it. ``trades`` replaces the in-memory trade store (e.g. a ``SqlTradeRepository`` in the
    persistence tests), ``signals`` the signals store.
    """
    if broker not in ("paper", "recording", "connected"):
        raise ValueError(f"broker must be 'paper', 'recording' or 'connected', was {broker!r}")
    paper = paper or PaperBrokerConfig(maker_fee_bps=Decimal(0), taker_fee_bps=Decimal(0))
    settings = Settings(
        source="<test harness>",
        engine=EngineSettings(
            mark_interval_ms=max(1, mark_interval_ns // 1_000_000), feed_restart_delay_s=restart_delay
        ),
        balances={asset: Decimal(str(amount)) for asset, amount in (balances or {"USDT": "10000"}).items()},
        instruments=tuple(instruments) if instruments is not None else (btc(), eth()),
        feeds=(),
        broker=BrokerSettings(kind="paper", options={f.name: getattr(paper, f.name) for f in fields(paper)}),
        strategies=(),
        risk=limits or RiskLimits(),
        stops=stop_rules or StopRules(),
        logging=LoggingSettings(),
        storage=StorageSettings(kind="memory"),
    )
    failures: list[HandlerFailure] = []
    clock = ManualClock(start_ns)
    feed = InMemoryFeed(events, clock=clock)
    app = bootstrap(
        settings,
        clock=clock,
        feeds=[feed] if feeds is None else feeds,
        broker=(
            (lambda publish: RecordingBroker(publish, supports_stop_orders=broker_supports_stops))
            if broker == "recording"
            else (
                lambda publish: ConnectedRecordingBroker(publish, supports_stop_orders=broker_supports_stops)
            )
            if broker == "connected"
            else None
        ),
        stores=Stores(
            trades if trades is not None else InMemoryTradeRepository(),
            signals if signals is not None else InMemorySignalRepository(),
            market_data if market_data is not None else InMemoryMarketDataRepository(),
        ),
        on_handler_error=lambda failure, error: failures.append(failure),
    )
    harness = Harness(app=app, clock=clock, feed=feed, failures=failures)
    for message_type in RECORDED:  # after the engine's own handlers: the order they saw
        app.bus.subscribe(message_type, harness.messages.append)
    return harness
