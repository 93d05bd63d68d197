"""The composition root: one dependency-injector container and ``bootstrap(settings)``.

Only this module knows how the pieces fit; everything else takes plain constructor
arguments. The CLI, the demo, the benchmarks and the tests all call ``bootstrap``; tests
and backtests override the clock or the feeds instead of patching anything.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from dependency_injector import containers, providers

from adapters.brokers.paper import PaperBroker, PaperBrokerConfig, VenueLog, VenueLogError
from adapters.exchanges.binance import BinanceFeedConfig, BinanceMarketDataFeed
from adapters.memory import InMemoryCache, LiveClock
from application.bus import HandlerFailure, MessageBus
from application.cache_publisher import CachePublisher
from application.engine import Engine
from application.execution import ExecutionEngine
from application.ingestion import IngestionService
from application.market_state import MarketState
from application.ports import Cache, Clock, MarketDataFeed
from application.reconciliation import reconcile
from application.recovery import recover
from application.strategy_engine import StrategyEngine
from domain.errors import DomainError, InvalidParameter
from domain.identifiers import InstrumentId, strategy_id
from domain.instrument import InstrumentRegistry
from domain.portfolio import Portfolio
from domain.risk import PositionStops, PreTradeRisk, TradingStateMachine
from domain.sizing import FixedFraction, FixedQuantity, Sizer, VolatilityTarget
from domain.strategies import create_strategy
from entrypoints.config import ConfigError, FeedSettings, RedisSettings, Settings, SizingSettings
from entrypoints.logs import log_handler_failure
from entrypoints.storage import build_stores

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
    return [_feed(feed, clock) for feed in settings.feeds]


def _feed(feed: FeedSettings, clock: Clock) -> MarketDataFeed:
    if feed.kind != "binance":
        raise ConfigError(f"feed kind {feed.kind!r} is unknown; known: binance")
    options = dict(feed.options)
    options["instrument_ids"] = tuple(InstrumentId(i) for i in options.get("instrument_ids", ()))
    if "streams" in options:
        options["streams"] = tuple(options["streams"])
    try:
        config = BinanceFeedConfig(**options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"[feeds.binance]: {error}") from None
    return BinanceMarketDataFeed(config, clock=clock, rng=random.Random())


def build_venue_log(settings: Settings) -> VenueLog | None:
    """The paper venue's own memory when the engine keeps its state (SQL stores); else none."""
    return VenueLog(settings.storage.venue_log_path()) if settings.storage.kind == "sql" else None


def build_broker(
    settings: Settings, bus: MessageBus, instruments: InstrumentRegistry, venue_log: VenueLog | None
) -> PaperBroker:
    if settings.broker.kind != "paper":
        raise ConfigError(f"broker kind {settings.broker.kind!r} is unknown; known: paper")
    try:
        config = PaperBrokerConfig.from_mapping(settings.broker.options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"[broker]: {error}") from None
    # A store that outlives the process needs venue ids that do not repeat across runs.
    prefix = f"PAPER-{time.time_ns() // 1_000_000:x}" if settings.storage.kind == "sql" else "PAPER"
    try:
        return PaperBroker(
            publish=bus.publish, instruments=instruments, config=config, id_prefix=prefix, log=venue_log
        )
    except VenueLogError as error:
        raise ConfigError(f"[broker]: {error}") from None


def build_cache(settings: RedisSettings) -> Cache:
    """Redis when ``[redis] cache = true`` (the engine goes on, degraded, while it is away)."""
    if not settings.cache:
        return InMemoryCache()
    from adapters.redis.cache import RedisCache

    return RedisCache(settings.url, prefix=settings.prefix)


def _mark_interval_ns(settings: Settings) -> int:
    return settings.engine.mark_interval_ms * 1_000_000


def _bus() -> MessageBus:
    return MessageBus(on_error=log_handler_failure)


class Container(containers.DeclarativeContainer):
    """Production wiring with the embedded defaults (in-memory stores, paper broker)."""

    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(LiveClock)
    bus = providers.Singleton(_bus)
    instruments = providers.Singleton(InstrumentRegistry, settings.provided.instruments)
    portfolio = providers.Singleton(
        Portfolio,
        instruments=instruments,
        valuation_currency=settings.provided.engine.valuation_currency,
        balances=settings.provided.balances,
    )
    cache = providers.Singleton(build_cache, settings.provided.redis)
    market = providers.Singleton(MarketState, cache=cache)
    stores = providers.Singleton(build_stores, settings.provided.storage)
    market_data = stores.provided.market_data
    signals = stores.provided.signals
    trades = stores.provided.trades
    venue_log = providers.Singleton(build_venue_log, settings)
    broker = providers.Singleton(build_broker, settings, bus, instruments, venue_log)
    risk = providers.Singleton(PreTradeRisk, settings.provided.risk)
    trading = providers.Singleton(TradingStateMachine, settings.provided.risk)
    stops = providers.Singleton(PositionStops, settings.provided.stops)
    execution = providers.Singleton(
        ExecutionEngine,
        bus=bus,
        broker=broker,
        trades=trades,
        portfolio=portfolio,
        market=market,
        risk=risk,
        trading=trading,
        clock=clock,
        stops=stops,
        order_id_prefix=settings.provided.engine.order_id_prefix,
        mark_interval_ns=providers.Callable(_mark_interval_ns, settings),
    )
    strategies = providers.Singleton(
        StrategyEngine,
        bus=bus,
        signals=signals,
        portfolio=portfolio,
        working_quantity=execution.provided.working_quantity,
    )
    feeds = providers.Singleton(build_feeds, settings, clock)
    ingestion = providers.Singleton(IngestionService, feeds, bus.provided.publish)
    engine = providers.Singleton(
        Engine,
        bus=bus,
        clock=clock,
        market=market,
        market_data=market_data,
        trades=trades,
        strategies=strategies,
        execution=execution,
        portfolio=portfolio,
        trading=trading,
        ingestion=ingestion,
        broker_handlers=broker,
    )


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    feeds: Sequence[MarketDataFeed] | None = None,
    reset_state: bool = False,
) -> Engine:
    """Build the engine for ``settings``; ``clock``/``feeds`` replace the live ones (tests, backtests).

    With SQL stores the last run's state is loaded and reconciled with the paper venue's own
    record; ``reset_state`` first deletes the trades store's orders, fills, positions, balances
    and trading state, and the paper venue's log (before loading, never after).
    Raises ConfigError for a strategy, sizer, feed or broker the configuration gets wrong.
    """
    container = Container(settings=settings)
    if clock is not None:
        container.clock.override(providers.Object(clock))
    if feeds is not None:
        container.feeds.override(providers.Object(list(feeds)))
    stores = container.stores()  # opened (and checked at head) before anything is cleared
    venue_log = container.venue_log()
    if reset_state and venue_log is not None:
        venue_log.clear()  # before the venue replays it
    try:
        engine: Engine = container.engine()
    except BaseException:
        stores.close()  # opened before the part that failed (a bad venue log, say)
        raise
    engine.on_close(stores.close)
    if venue_log is not None:
        engine.on_close(venue_log.close)
    try:
        _finish(engine, container, settings, reset_state=reset_state)
    except BaseException:
        engine.close()  # whatever failed after the engine was built leaves nothing open
        raise
    return engine


def _finish(engine: Engine, container: Container, settings: Settings, *, reset_state: bool) -> None:
    """Strategies, the shared cache's publisher, and (on SQL stores) the last run's state."""
    cache = container.cache()
    if not isinstance(cache, InMemoryCache):  # shared: other processes read it
        CachePublisher(cache=cache, books=engine.market.books, trading=engine.trading).attach(engine.bus)
        engine.on_close(cache.close)  # type: ignore[attr-defined]
    for entry in settings.strategies:
        try:
            strategy = create_strategy(
                entry.kind,
                strategy_id=strategy_id(entry.id),
                instrument_ids=[InstrumentId(i) for i in entry.instruments],
                params=entry.params,
            )
        except (InvalidParameter, ValueError) as error:
            raise ConfigError(f"strategy {entry.id}: {error}") from None
        slot = engine.strategies.add(strategy, sizer=build_sizer(entry.sizing), allow_short=entry.allow_short)
        slot.active = entry.enabled
    if settings.storage.kind != "sql":
        return
    if reset_state:
        clear = getattr(engine.trades, "clear", None)
        if clear is not None:
            clear()
    try:
        recover(
            trades=engine.trades,
            portfolio=engine.portfolio,
            execution=engine.execution,
            order_id_prefix=settings.engine.order_id_prefix,
        )
    except (ValueError, TypeError, ArithmeticError, DomainError) as error:  # a corrupt row
        url = settings.storage.urls()["trades"]
        raise ConfigError(
            f"the trades store ({url}) holds a value this engine cannot read"
            f" ({type(error).__name__}: {error}); restore a backup or start afresh (--reset-state)"
        ) from None
    reconcile(engine.execution, container.broker())


__all__ = ["Container", "HandlerFailure", "bootstrap", "build_sizer"]
