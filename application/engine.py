"""The engine: wires the services onto the bus, runs them, stops them cleanly, reports status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce

from application.account_sync import AccountSync
from application.bus import MessageBus
from application.commands import CancelAllOrders, CancelOrder, Halt, Resume, SubmitOrder, UpdateRiskLimits
from application.execution import BrokerReports, OrderManager, RiskMonitor, StopManager
from application.ingestion import IngestionService
from application.live_reconciliation import LiveReconciliation
from application.market_state import MarketState
from application.messages import (
    BalancesReported,
    CancelRejected,
    FeedStatusChanged,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from application.ports import (
    AccountSnapshot,
    BrokerHealth,
    Clock,
    ConnectedBroker,
    FeedHealth,
    MarketDataRepository,
    SimulatedVenue,
    TradeRepository,
)
from application.strategy_engine import StrategyEngine, StrategySlot
from domain.consolidated_quote import ConsolidatedQuote, pairs
from domain.market_data import Bar, BookDelta, BookInvalidated, BookSnapshot, QuoteTick, TradeTick
from domain.portfolio import MissingMark, Portfolio
from domain.risk import MarketDataState, TradingState
from domain.values import exact_add

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
class InstrumentData:
    """Whether one instrument's market data can be traded on now, and why not (``problem``)."""

    instrument_id: str
    connected: bool
    data_age_ns: int | None
    """None while no price has been received."""
    book_synced: bool | None
    """None for an instrument without an L2 book."""
    usable: bool
    problem: str = ""


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
    broker: BrokerHealth | None = None
    """A networked broker's connection to its venue; None for a simulated one."""
    instruments: tuple[InstrumentData, ...] = ()
    """Per traded instrument, whether its market data is usable (see ``Engine.market_data``)."""
    consolidated: tuple[ConsolidatedQuote, ...] = ()
    """The best bid and offer across venues of each asset pair traded on more than one venue."""


class Engine:
    """The one process-wide engine: feeds -> bus -> market state, stores, venue, stops, risk, strategies.

    It registers the command handlers and subscribes the services to the bus in a fixed order,
    which is part of the contract. For a trade: market state first (last price), then the
    market-data store, the simulated venue's matching (paper broker), the stop manager (held
    stops, position stops; only while it has one to watch), the risk monitor (marks,
    revaluation), and last the strategies. So the same events always give the same signals,
    orders and fills, and a strategy sees a stop exit of the same trade among the working
    orders. Broker reports go to ``BrokerReports``.
    """

    def __init__(
        self,
        *,
        bus: MessageBus,
        clock: Clock,
        ingestion: IngestionService,
        market: MarketState,
        market_data: MarketDataRepository | None,
        venue: SimulatedVenue | None,
        orders: OrderManager,
        reports: BrokerReports,
        stops: StopManager,
        risk: RiskMonitor,
        strategies: StrategyEngine,
        portfolio: Portfolio,
        trades: TradeRepository,
        connected: ConnectedBroker | None = None,
        reconciliation: LiveReconciliation | None = None,
        account: AccountSync | None = None,
    ) -> None:
        """``market_data`` None records nothing (a backtest replays what is stored already);
        ``venue`` is the simulated venue that must see the market, if the broker is one;
        ``connected`` the networked broker to connect at start and disconnect at stop, if it is
        one, ``reconciliation`` what asks it about the orders while the engine runs, and
        ``account`` what makes the cash follow the venue's balances."""
        self._bus = bus
        self._clock = clock
        self._ingestion = ingestion
        self._market = market
        self._market_data = market_data
        self._venue = venue
        self._orders = orders
        self._reports = reports
        self._risk = risk
        self._strategies = strategies
        self._portfolio = portfolio
        self._trades = trades
        self._connected = connected
        self._reconciliation = reconciliation
        self._reconciling: asyncio.Task[None] | None = None
        self._started_ns: int | None = None
        self._stopped = asyncio.Event()
        self._stopped_slots: list[StrategySlot] = []
        self._closers: list[Callable[[], None]] = []
        self._wire(stops)
        if account is not None:
            bus.subscribe(BalancesReported, account.on_balances)

    def _wire(self, stops: StopManager) -> None:
        bus, market, orders, reports, risk = self._bus, self._market, self._orders, self._reports, self._risk
        bus.handle(SubmitOrder, orders.submit)
        bus.handle(CancelOrder, orders.cancel)
        bus.handle(CancelAllOrders, orders.cancel_all)
        bus.handle(Halt, risk.halt)
        bus.handle(Resume, risk.resume)
        bus.handle(UpdateRiskLimits, risk.update_limits)
        bus.subscribe(TradeTick, market.on_trade)
        bus.subscribe(QuoteTick, market.on_quote)
        bus.subscribe(BookSnapshot, market.on_book_snapshot)
        bus.subscribe(BookDelta, market.on_book_delta)
        bus.subscribe(BookInvalidated, market.on_book_invalidated)
        bus.subscribe(Bar, market.on_bar)
        bus.subscribe(FeedStatusChanged, market.on_feed_status)
        store = self._market_data
        if store is not None:
            bus.subscribe(TradeTick, store.append)
            bus.subscribe(QuoteTick, store.append)
            bus.subscribe(Bar, store.append)
        venue = self._venue
        if venue is not None:
            bus.subscribe(TradeTick, venue.on_trade)
            bus.subscribe(QuoteTick, venue.on_quote)
            bus.subscribe(BookSnapshot, venue.on_book_snapshot)
            bus.subscribe(BookDelta, venue.on_book_delta)
            bus.subscribe(BookInvalidated, venue.on_book_invalidated)
            bus.subscribe(Bar, venue.on_bar)
            bus.subscribe(FeedStatusChanged, venue.on_feed_status)
        bus.subscribe(TradeTick, risk.on_trade)
        stops.attach(bus, before=risk.on_trade)  # on trades only while it has something to watch
        bus.subscribe(Bar, risk.on_bar)
        strategies = self._strategies
        bus.subscribe(TradeTick, strategies.on_trade)
        bus.subscribe(QuoteTick, strategies.on_quote)
        bus.subscribe(Bar, strategies.on_bar)
        bus.subscribe(OrderAccepted, reports.on_accepted)
        bus.subscribe(OrderRejected, reports.on_rejected)
        bus.subscribe(OrderFilled, reports.on_filled)
        bus.subscribe(OrderCanceled, reports.on_canceled)
        bus.subscribe(OrderExpired, reports.on_expired)
        bus.subscribe(CancelRejected, reports.on_cancel_rejected)

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._started_ns is not None and not self._stopped.is_set()

    async def start(self) -> None:
        """Connect the feeds; strategies warm up on the live stream (their ``ready`` flag)."""
        self._started_ns = self._clock.now_ns()
        self._stopped.clear()
        for slot in self._stopped_slots:  # a restart resumes what the last stop paused
            slot.active = True
        self._stopped_slots = []
        if self._connected is not None:  # order updates flow before anything can trade
            await self._connected.connect()
        if self._reconciliation is not None:
            self._reconciling = asyncio.create_task(self._reconciliation.run(), name="reconciliation")
        self._ingestion.start()
        log.info(
            "engine started: %d feed(s), %d strateg(ies)",
            len(self._ingestion.feeds),
            len(self._strategies.slots),
        )

    async def stop(self, *, cancel_open_orders: bool = True) -> None:
        """Stop feeds and strategies, optionally cancel working orders, flush the stores."""
        if self._stopped.is_set():
            return
        await self._ingestion.stop()
        self._stopped_slots = [slot for slot in self._strategies.slots if slot.active]
        for slot in self._stopped_slots:
            slot.active = False
        if cancel_open_orders and self._orders.open_orders:
            canceled = self._bus.execute(CancelAllOrders())
            log.info("canceled %d open order(s) on stop", len(canceled))
        if self._venue is not None:  # a simulated venue: what is still travelling arrives now
            self._venue.advance_to_end()
        if self._reconciling is not None:
            self._reconciling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciling
            self._reconciling = None
        if self._connected is not None:  # the answers still owed (the cancels above) arrive first
            await self._connected.disconnect()
        if self._market_data is not None:
            self._market_data.flush()
        self.snapshot_account()
        self._stopped.set()
        log.info("engine stopped")

    def snapshot_account(self) -> AccountSnapshot | None:
        """Record the account now (equity, its peak, realized P&L, fees) in the trades store,
        committed: the live equity curve. None while an asset cannot be valued yet."""
        portfolio = self._portfolio
        try:
            equity = portfolio.revalue()
        except MissingMark:
            return None
        positions = portfolio.positions.values()
        snapshot = AccountSnapshot(
            ts_ns=self._clock.now_ns(),
            equity=equity,
            peak_equity=portfolio.peak_equity,
            realized_pnl=reduce(exact_add, (p.realized_pnl for p in positions), Decimal(0)),
            fees=reduce(exact_add, (p.fees for p in positions), Decimal(0)),
        )
        self._trades.save_account_snapshot(snapshot)
        self._trades.commit()
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

    @property
    def reconciliation(self) -> LiveReconciliation | None:
        """What checks the orders with a networked broker while the engine runs, if any."""
        return self._reconciliation

    def market_data(self) -> tuple[InstrumentData, ...]:
        """Per traded instrument, whether its data is usable: the feed connected, the book in
        sync, the last price no older than the risk limit ``max_data_age_ns``. The same test
        pre-trade risk applies, so health, the status and the refusals always agree."""
        now = self._clock.now_ns()
        max_age = self._orders.limits.max_data_age_ns
        market = self._market
        return tuple(
            _instrument_data(market.data_state(iid), now, max_age)
            for iid in sorted(self._portfolio.instruments)
        )

    def data_usable(self) -> bool:
        """True when the market data of every traded instrument is usable (``market_data``)."""
        return all(instrument.usable for instrument in self.market_data())

    def status(self) -> EngineStatus:
        portfolio = self._portfolio
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
        orders, trading = self._orders, self._risk.trading
        now = self._clock.now_ns()
        return EngineStatus(
            running=self.running,
            uptime_ns=now - self._started_ns if self._started_ns is not None else 0,
            trading_state=trading.state,
            trading_reason=trading.message,
            equity=equity,
            drawdown=portfolio.drawdown(equity) if equity is not None else Decimal(0),
            positions=tuple(positions),
            open_orders=len(orders.open_orders),
            orders_submitted=orders.stats.orders_submitted,
            fills=self._reports.stats.fills,
            risk_rejections=orders.stats.risk_rejections,
            signals=sum(slot.signals for slot in self._strategies.slots),
            trades_seen=self._market.trades_seen,
            feeds=tuple(self._ingestion.health()),
            handler_errors=self._bus.stats.handler_errors,
            last_prices={str(iid): last.price for iid, last in sorted(self._market.last_trades.items())},
            broker=self._connected.health() if self._connected is not None else None,
            instruments=self.market_data(),
            consolidated=self.consolidated_quotes(),
        )

    def consolidated_quotes(self) -> tuple[ConsolidatedQuote, ...]:
        """For each asset pair traded on several venues, the best bid and offer across them,
        counting only venues whose data is usable (the risk guard's rule)."""
        instruments = list(self._portfolio.instruments.values())
        now = self._clock.now_ns()
        max_age = self._orders.limits.max_data_age_ns
        views = []
        for base, quote in pairs(instruments):
            if sum(1 for i in instruments if i.base == base and i.quote == quote) > 1:
                views.append(
                    self._market.consolidated(base, quote, instruments, now_ns=now, max_age_ns=max_age)
                )
        return tuple(views)


def _instrument_data(state: MarketDataState, now_ns: int, max_age_ns: int | None) -> InstrumentData:
    problem = state.problem(now_ns, max_age_ns)
    return InstrumentData(
        instrument_id=str(state.instrument_id),
        connected=state.connected,
        data_age_ns=state.age_ns(now_ns),
        book_synced=state.book_synced,
        usable=problem is None,
        problem="" if problem is None else problem[1],
    )
