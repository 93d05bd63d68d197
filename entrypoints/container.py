"""The composition root: one dependency-injector container and ``bootstrap(settings)``.

Only this module knows how the pieces fit; everything else takes plain constructor
arguments. The CLI, the demo, the gRPC server, the benchmarks and the tests all call
``bootstrap``; tests and backtests hand it their clock, feeds, broker or stores (fakes of the
ports) instead of patching anything, so there is one wiring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dependency_injector import containers, providers

from adapters.brokers.paper import VenueLog
from adapters.memory import InMemoryCache
from adapters.system_clock import LiveClock
from application.account_sync import AccountSync
from application.alerts import AlertService
from application.bus import HandlerFailure, MessageBus
from application.cache_publisher import CachePublisher
from application.engine import Engine
from application.execution import (
    BrokerReports,
    HeldStops,
    OrderJournal,
    OrderManager,
    RiskMonitor,
    StopManager,
)
from application.ingestion import IngestionService
from application.live_reconciliation import LiveReconciliation
from application.market_state import MarketState
from application.ports import (
    Broker,
    Cache,
    Clock,
    ConnectedBroker,
    MarketDataFeed,
    MarketDataRepository,
    ReconcilableBroker,
    SignalRepository,
    SimulatedVenue,
    TradeRepository,
)
from application.reconciliation import reconcile
from application.recovery import recover
from application.strategy_engine import StrategyEngine
from domain.errors import DomainError
from domain.instrument import InstrumentRegistry
from domain.portfolio import Portfolio
from domain.risk import PositionStops, PreTradeRisk, TradingStateMachine
from domain.sizing import FixedFraction, FixedQuantity, Sizer, VolatilityTarget
from entrypoints import feeds
from entrypoints.alerts import build_alert_service
from entrypoints.brokers import (
    broker_closer,
    build_broker,
    build_instruments,
    connected,
    reconcile_interval_s,
    starting_balances,
)
from entrypoints.config import ConfigError, RedisSettings, Settings, SizingSettings
from entrypoints.logs import log_handler_failure
from entrypoints.storage import Stores, build_stores
from entrypoints.strategy_entries import build_strategy

BrokerFactory = Callable[[Callable[[object], None]], ReconcilableBroker]
"""Builds a broker given where it publishes its reports (the bus's ``publish``)."""

SIZERS: dict[str, type[Any]] = {
    "fixed_quantity": FixedQuantity,
    "fixed_fraction": FixedFraction,
    "volatility_target": VolatilityTarget,
}


def build_sizer(settings: SizingSettings) -> Sizer:
    """A sizer from its config table; raises ConfigError naming the kind or option."""
    cls = SIZERS.get(settings.kind)
    if cls is None:
        raise ConfigError(f"sizing kind {settings.kind!r} is unknown; known: {', '.join(sorted(SIZERS))}")
    try:
        return cls(**{key: str(value) for key, value in settings.options.items()})  # type: ignore[no-any-return]
    except (TypeError, ValueError) as error:
        raise ConfigError(f"sizing {settings.kind}: {error}") from None


def build_feeds(settings: Settings, clock: Clock) -> list[MarketDataFeed]:
    return [feeds.build_feed(feed, clock) for feed in settings.feeds]


def build_venue_log(settings: Settings) -> VenueLog | None:
    """The paper venue's own memory when the engine keeps its state (SQL stores); else none."""
    if settings.storage.kind != "sql" or settings.broker.kind != "paper":
        return None
    return VenueLog(settings.storage.venue_log_path())


def _live_reconciliation(
    settings: Settings, orders: OrderManager, reports: BrokerReports, broker: ConnectedBroker | None
) -> LiveReconciliation | None:
    if broker is None:
        return None
    interval = reconcile_interval_s(settings)
    return LiveReconciliation(orders=orders, reports=reports, broker=broker, interval_s=interval)


def _account_sync(
    *,
    settings: Settings,
    portfolio: Portfolio,
    trades: TradeRepository,
    risk: RiskMonitor,
    clock: Clock,
    broker: ConnectedBroker | None,
) -> AccountSync | None:
    """The cash follows a networked venue's balances of the assets traded and valued."""
    if broker is None:
        return None
    assets = {settings.engine.valuation_currency}
    for instrument in portfolio.instruments.values():
        assets.update((instrument.base, instrument.quote))
    return AccountSync(portfolio=portfolio, trades=trades, monitor=risk, clock=clock, assets=assets)


def simulated_venue(broker: Broker) -> SimulatedVenue | None:
    """The broker itself when it is a venue simulated in-process, which must see the market."""
    return broker if isinstance(broker, SimulatedVenue) else None


def build_cache(settings: RedisSettings) -> Cache:
    """Redis when ``[redis] cache = true`` (the engine goes on, degraded, while it is away)."""
    if not settings.cache:
        return InMemoryCache()
    from adapters.redis.cache import RedisCache

    return RedisCache(settings.url, prefix=settings.prefix)


def _mark_interval_ns(settings: Settings) -> int:
    return settings.engine.mark_interval_ms * 1_000_000


def _market_data(stores: Stores, record: bool) -> MarketDataRepository | None:
    return stores.market_data if record else None


@dataclass(frozen=True, slots=True, kw_only=True)
class App:
    """The wired application: the engine to run, and the services the entry points hand out.

    Each entry point takes what it uses: the gRPC services their queries and the command bus,
    a backtest the bus, the portfolio and the stores, the tests whatever they look at.
    """

    engine: Engine
    bus: MessageBus
    clock: Clock
    instruments: InstrumentRegistry
    portfolio: Portfolio
    market: MarketState
    strategies: StrategyEngine
    orders: OrderManager
    reports: BrokerReports
    stops: StopManager
    risk: RiskMonitor
    broker: ReconcilableBroker
    venue: SimulatedVenue | None
    account: AccountSync | None
    ingestion: IngestionService
    trades: TradeRepository
    signals: SignalRepository
    market_data: MarketDataRepository
    cache: Cache
    alerts: AlertService
    """The alert rules over this engine; ``start``/``stop`` it beside the engine (``alerts_running``)."""

    def close(self) -> None:
        """Release what the application holds (stores, the venue's log, the shared cache)."""
        self.engine.close()


class Container(containers.DeclarativeContainer):
    """Production wiring with the embedded defaults (SQLite or in-memory stores, paper broker)."""

    settings = providers.Dependency(instance_of=Settings)
    record_market_data = providers.Object(True)
    clock = providers.Singleton(LiveClock)
    on_handler_error = providers.Object(log_handler_failure)
    bus = providers.Singleton(MessageBus, on_error=on_handler_error)
    instruments = providers.Singleton(build_instruments, settings)
    cache = providers.Singleton(build_cache, settings.provided.redis)
    market = providers.Singleton(MarketState, cache=cache)
    stores = providers.Singleton(build_stores, settings.provided.storage)
    trades = stores.provided.trades
    signals = stores.provided.signals
    venue_log = providers.Singleton(build_venue_log, settings)
    broker = providers.Singleton(build_broker, settings, bus.provided.publish, instruments, venue_log, clock)
    venue = providers.Singleton(simulated_venue, broker)
    connected_broker = providers.Singleton(connected, broker)
    portfolio = providers.Singleton(
        Portfolio,
        instruments=instruments,
        valuation_currency=settings.provided.engine.valuation_currency,
        balances=providers.Callable(starting_balances, settings, broker),
    )
    pre_trade = providers.Singleton(PreTradeRisk, settings.provided.risk)
    trading = providers.Singleton(TradingStateMachine, settings.provided.risk)
    position_stops = providers.Singleton(PositionStops, settings.provided.stops)
    risk = providers.Singleton(
        RiskMonitor,
        trading=trading,
        risk=pre_trade,
        portfolio=portfolio,
        trades=trades,
        bus=bus,
        clock=clock,
        mark_interval_ns=providers.Callable(_mark_interval_ns, settings),
    )
    held_stops = providers.Singleton(HeldStops)
    journal = providers.Singleton(OrderJournal, trades=trades, bus=bus)
    orders = providers.Singleton(
        OrderManager,
        bus=bus,
        broker=broker,
        portfolio=portfolio,
        market=market,
        risk=pre_trade,
        monitor=risk,
        clock=clock,
        journal=journal,
        held_stops=held_stops,
        order_id_prefix=settings.provided.engine.order_id_prefix,
    )
    reports = providers.Singleton(
        BrokerReports, journal=journal, trades=trades, portfolio=portfolio, monitor=risk, bus=bus, clock=clock
    )
    stops = providers.Singleton(
        StopManager,
        held_stops=held_stops,
        orders=orders,
        commands=bus,
        portfolio=portfolio,
        stops=position_stops,
    )
    strategies = providers.Singleton(
        StrategyEngine,
        commands=bus,
        events=bus,
        signals=signals,
        portfolio=portfolio,
        working_quantity=orders.provided.working_quantity,
    )
    feeds = providers.Singleton(build_feeds, settings, clock)
    ingestion = providers.Singleton(
        IngestionService,
        feeds,
        bus.provided.publish,
        restart_delay=settings.provided.engine.feed_restart_delay_s,
    )
    reconciliation = providers.Singleton(_live_reconciliation, settings, orders, reports, connected_broker)
    account = providers.Singleton(
        _account_sync,
        settings=settings,
        portfolio=portfolio,
        trades=trades,
        risk=risk,
        clock=clock,
        broker=connected_broker,
    )
    engine = providers.Singleton(
        Engine,
        bus=bus,
        clock=clock,
        ingestion=ingestion,
        market=market,
        market_data=providers.Callable(_market_data, stores, record_market_data),
        venue=venue,
        orders=orders,
        reports=reports,
        stops=stops,
        risk=risk,
        strategies=strategies,
        portfolio=portfolio,
        trades=trades,
        connected=connected_broker,
        reconciliation=reconciliation,
        account=account,
    )
    alerts = providers.Singleton(
        build_alert_service,
        settings.provided.alerts,
        bus=bus,
        clock=clock,
        engine=engine,
        risk=risk,
        strategies=strategies,
        reports=reports,
        broker=broker.provided.name,
        reconciliation=reconciliation,
        trades=trades,
        market_data=stores.provided.market_data,
    )
    app = providers.Singleton(
        App,
        engine=engine,
        bus=bus,
        clock=clock,
        instruments=instruments,
        portfolio=portfolio,
        market=market,
        strategies=strategies,
        orders=orders,
        reports=reports,
        stops=stops,
        risk=risk,
        broker=broker,
        venue=venue,
        account=account,
        ingestion=ingestion,
        trades=trades,
        signals=signals,
        market_data=stores.provided.market_data,
        cache=cache,
        alerts=alerts,
    )


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    feeds: Sequence[MarketDataFeed] | None = None,
    broker: BrokerFactory | None = None,
    stores: Stores | None = None,
    on_handler_error: Callable[[HandlerFailure, BaseException], None] | None = None,
    record_market_data: bool = True,
    reset_state: bool = False,
) -> App:
    """Build the application for ``settings``; every keyword replaces one port's adapter.

    ``clock`` and ``feeds`` replace the live ones (tests, backtests); ``broker`` builds the
    broker instead of the configured one; ``stores`` replaces the configured stores;
    ``on_handler_error`` hears of every bus handler that raised (the default logs it);
    ``record_market_data`` False keeps market events out of the market-data store (a backtest
    replays what is stored already). With SQL stores the last run's state is loaded and
    reconciled with the broker; ``reset_state`` first deletes the trades store's orders,
    fills, positions, balances and trading state, and the paper venue's log (before loading,
    never after). Raises ConfigError for a strategy, sizer, feed, broker or store the
    configuration gets wrong.
    """
    container = Container(settings=settings)
    if clock is not None:
        container.clock.override(providers.Object(clock))
    if feeds is not None:
        container.feeds.override(providers.Object(list(feeds)))
    if broker is not None:
        container.broker.override(providers.Singleton(broker, container.bus.provided.publish))
    if stores is not None:
        container.stores.override(providers.Object(stores))
    if on_handler_error is not None:
        container.on_handler_error.override(providers.Object(on_handler_error))
    container.record_market_data.override(providers.Object(record_market_data))
    opened = container.stores()  # opened (and checked at head) before anything is cleared
    venue_log = container.venue_log() if broker is None else None
    if reset_state and venue_log is not None:
        venue_log.clear()  # before the venue replays it
    try:
        app: App = container.app()
    except BaseException:
        opened.close()  # opened before the part that failed (a bad venue log, say)
        raise
    app.engine.on_close(opened.close)
    if venue_log is not None:
        app.engine.on_close(venue_log.close)
    release = broker_closer(app.broker)
    if release is not None:  # a networked broker's blocking client, kept for reconciliation at start
        app.engine.on_close(release)
    try:
        _finish(app, settings, reset_state=reset_state)
    except BaseException:
        app.close()  # whatever failed after the engine was built leaves nothing open
        raise
    return app


def _finish(app: App, settings: Settings, *, reset_state: bool) -> None:
    """Strategies, the shared cache's publisher, and (on SQL stores) the last run's state."""
    cache = app.cache
    if not isinstance(cache, InMemoryCache):  # shared: other processes read it
        CachePublisher(cache=cache, books=app.market.books, trading=app.risk.trading).attach(app.bus)
        app.engine.on_close(cache.close)
    for entry in settings.strategies:
        live = isinstance(app.clock, LiveClock)  # a replay retrains ML models at once, deterministically
        strategy, closer = build_strategy(entry, replay=not live)
        if closer is not None:
            app.engine.on_close(closer)
        slot = app.strategies.add(strategy, sizer=build_sizer(entry.sizing), allow_short=entry.allow_short)
        slot.active = entry.enabled
    if settings.storage.kind != "sql":
        return
    if reset_state:
        app.trades.clear()
    try:
        recover(
            trades=app.trades,
            portfolio=app.portfolio,
            orders=app.orders,
            risk=app.risk,
            order_id_prefix=settings.engine.order_id_prefix,
        )
    except (ValueError, TypeError, ArithmeticError, DomainError) as error:  # a corrupt row
        url = settings.storage.urls()["trades"]
        raise ConfigError(
            f"the trades store ({url}) holds a value this engine cannot read"
            f" ({type(error).__name__}: {error}); restore a backup or start afresh (--reset-state)"
        ) from None
    reconcile(app.orders, app.reports, app.broker)
    if app.account is not None:  # the stored cash was the last run's; the venue's is now's
        venue_balances = starting_balances(settings, app.broker)
        if app.account.apply(venue_balances, why="the venue's account at start"):
            app.trades.save_balances(app.portfolio.account.balances, app.clock.now_ns())
            app.risk.commit_trades()


__all__ = ["App", "Container", "HandlerFailure", "bootstrap", "build_sizer"]
