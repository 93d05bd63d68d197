"""The engine: wires the services onto the bus, runs them, stops them cleanly, reports status."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from application.bus import MessageBus
from application.execution import ExecutionEngine
from application.ingestion import IngestionService
from application.market_state import MarketState
from application.messages import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from application.ports import AccountSnapshot, Clock, FeedHealth, MarketDataRepository, TradeRepository
from application.strategy_engine import StrategyEngine, StrategySlot
from domain.intents import OrderIntent
from domain.market_data import Bar, BookDelta, BookInvalidated, BookSnapshot, QuoteTick, TradeTick
from domain.portfolio import MissingMark, Portfolio
from domain.risk import TradingState, TradingStateMachine

log = logging.getLogger("tradeplane.engine")


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionStatus:
    instrument_id: str
    quantity: Decimal
    avg_entry_price: Decimal | None
    realized_pnl: Decimal
    unrealized_pnl: Decimal | None
    fees: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStatus:
    """One snapshot of everything an operator looks at first."""

    running: bool
    uptime_ns: int
    trading_state: TradingState
    trading_reason: str
    equity: Decimal | None
    drawdown: Decimal
    positions: tuple[PositionStatus, ...]
    open_orders: int
    orders_submitted: int
    fills: int
    risk_rejections: int
    signals: int
    trades_seen: int
    feeds: tuple[FeedHealth, ...]
    handler_errors: int
    last_prices: dict[str, Decimal]


class Engine:
    """The one process-wide engine: feeds -> bus -> market state, stores, broker, strategies, OMS.

    Subscription order on the bus is fixed here and is part of the contract: for a trade,
    market state first (last price), then the market-data store, the paper broker's
    matching (when given), the OMS (marks, held stops, position stops), and last the
    strategies. The same events therefore always give the same signals, orders and fills.
    """

    def __init__(
        self,
        *,
        bus: MessageBus,
        clock: Clock,
        market: MarketState,
        market_data: MarketDataRepository,
        trades: TradeRepository,
        strategies: StrategyEngine,
        execution: ExecutionEngine,
        portfolio: Portfolio,
        trading: TradingStateMachine,
        ingestion: IngestionService,
        broker_handlers: object | None = None,
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.market = market
        self.market_data = market_data
        self.trades = trades
        self.strategies = strategies
        self.execution = execution
        self.portfolio = portfolio
        self.trading = trading
        self.ingestion = ingestion
        self._started_ns: int | None = None
        self._stopped = asyncio.Event()
        self._stopped_slots: list[StrategySlot] = []
        self._closers: list[Callable[[], None]] = []
        self._broker = broker_handlers
        self._wire(broker_handlers)

    @property
    def broker(self) -> object | None:
        """The broker adapter whose market-data handlers are wired (the paper venue), if any."""
        return self._broker

    def _wire(self, broker: object | None) -> None:
        bus, market, store = self.bus, self.market, self.market_data
        execution, strategies = self.execution, self.strategies
        bus.subscribe(TradeTick, market.on_trade)
        bus.subscribe(TradeTick, store.append)
        bus.subscribe(QuoteTick, market.on_quote)
        bus.subscribe(QuoteTick, store.append)
        bus.subscribe(BookSnapshot, market.on_book_snapshot)
        bus.subscribe(BookDelta, market.on_book_delta)
        bus.subscribe(BookInvalidated, market.on_book_invalidated)
        bus.subscribe(Bar, market.on_bar)
        bus.subscribe(Bar, store.append)
        if broker is not None:
            for message_type, name in (
                (TradeTick, "on_trade"),
                (QuoteTick, "on_quote"),
                (BookSnapshot, "on_book_snapshot"),
                (BookDelta, "on_book_delta"),
                (BookInvalidated, "on_book_invalidated"),
                (Bar, "on_bar"),
            ):
                handler = getattr(broker, name, None)
                if handler is not None:
                    bus.subscribe(message_type, handler)
        bus.subscribe(TradeTick, execution.on_trade)
        bus.subscribe(TradeTick, strategies.on_trade)
        bus.subscribe(QuoteTick, strategies.on_quote)
        bus.subscribe(Bar, execution.on_bar)
        bus.subscribe(Bar, strategies.on_bar)
        bus.subscribe(OrderIntent, strategies.on_intent)
        bus.subscribe(OrderIntent, execution.on_intent)
        bus.subscribe(OrderAccepted, execution.on_accepted)
        bus.subscribe(OrderRejected, execution.on_rejected)
        bus.subscribe(OrderFilled, execution.on_filled)
        bus.subscribe(OrderCanceled, execution.on_canceled)
        bus.subscribe(OrderExpired, execution.on_expired)
        bus.subscribe(CancelRejected, execution.on_cancel_rejected)

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._started_ns is not None and not self._stopped.is_set()

    async def start(self) -> None:
        """Connect the feeds; strategies warm up on the live stream (their ``ready`` flag)."""
        self._started_ns = self.clock.now_ns()
        self._stopped.clear()
        for slot in self._stopped_slots:  # a restart resumes what the last stop paused
            slot.active = True
        self._stopped_slots = []
        self.ingestion.start()
        log.info(
            "engine started: %d feed(s), %d strateg(ies)",
            len(self.ingestion.feeds),
            len(self.strategies.slots),
        )

    async def stop(self, *, cancel_open_orders: bool = True) -> None:
        """Stop feeds and strategies, optionally cancel working orders, flush the stores."""
        if self._stopped.is_set():
            return
        await self.ingestion.stop()
        self._stopped_slots = [slot for slot in self.strategies.slots if slot.active]
        for slot in self._stopped_slots:
            slot.active = False
        if cancel_open_orders and self.execution.open_orders:
            canceled = self.execution.cancel_all()
            log.info("canceled %d open order(s) on stop", len(canceled))
        settle = getattr(self._broker, "advance_to", None)
        if settle is not None:  # a simulated venue: what is still travelling arrives now
            settle(2**63 - 1)
        self.market_data.flush()
        self.snapshot_account()
        self._stopped.set()
        log.info("engine stopped")

    def snapshot_account(self) -> AccountSnapshot | None:
        """Record the account now (equity, its peak, realized P&L, fees) in the trades store,
        committed: the live equity curve. None while an asset cannot be valued yet."""
        portfolio = self.portfolio
        try:
            equity = portfolio.revalue()
        except MissingMark:
            return None
        positions = portfolio.positions.values()
        snapshot = AccountSnapshot(
            ts_ns=self.clock.now_ns(),
            equity=equity,
            peak_equity=portfolio.peak_equity,
            realized_pnl=sum((p.realized_pnl for p in positions), Decimal(0)),
            fees=sum((p.fees for p in positions), Decimal(0)),
        )
        self.trades.save_account_snapshot(snapshot)
        self.trades.commit()
        return snapshot

    def on_close(self, closer: Callable[[], None]) -> None:
        """Register what ``close`` releases (store connections, writer threads)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Release the engine's resources, last registered first; after ``stop``, at exit."""
        while self._closers:
            self._closers.pop()()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    # -- observation ----------------------------------------------------------------------

    def status(self) -> EngineStatus:
        portfolio = self.portfolio
        try:
            equity: Decimal | None = portfolio.equity()
        except MissingMark:
            equity = None
        positions = []
        for iid, position in sorted(portfolio.positions.items()):
            mark = portfolio.marks.get(iid)
            positions.append(
                PositionStatus(
                    instrument_id=str(iid),
                    quantity=position.quantity,
                    avg_entry_price=position.avg_entry_price,
                    realized_pnl=position.realized_pnl,
                    unrealized_pnl=position.unrealized_pnl(mark) if mark is not None else None,
                    fees=position.fees,
                )
            )
        stats = self.execution.stats
        now = self.clock.now_ns()
        return EngineStatus(
            running=self.running,
            uptime_ns=now - self._started_ns if self._started_ns is not None else 0,
            trading_state=self.trading.state,
            trading_reason=self.trading.message,
            equity=equity,
            drawdown=portfolio.drawdown(equity) if equity is not None else Decimal(0),
            positions=tuple(positions),
            open_orders=len(self.execution.open_orders),
            orders_submitted=stats.orders_submitted,
            fills=stats.fills,
            risk_rejections=stats.risk_rejections,
            signals=sum(slot.signals for slot in self.strategies.slots),
            trades_seen=self.market.trades_seen,
            feeds=tuple(self.ingestion.health()),
            handler_errors=self.bus.stats.handler_errors,
            last_prices={str(iid): last.price for iid, last in sorted(self.market.last_trades.items())},
        )
