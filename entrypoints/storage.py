"""Opening the configured stores: in memory, or SQL databases checked to be at the schema head."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from adapters.memory import InMemoryMarketDataRepository, InMemorySignalRepository, InMemoryTradeRepository
from adapters.persistence.database import StoreUnavailable, open_engine
from adapters.persistence.market_data_store import SqlMarketDataRepository
from adapters.persistence.migrate import DatabaseBehind, is_blank, require_head, upgrade
from adapters.persistence.signal_store import SqlSignalRepository
from adapters.persistence.trade_store import SqlTradeRepository
from application.ports import MarketDataRepository, SignalRepository, TradeRepository
from entrypoints.config import ConfigError, StorageSettings

log = logging.getLogger("tradeplane.storage")


@dataclass(slots=True)
class Stores:
    trades: TradeRepository
    signals: SignalRepository
    market_data: MarketDataRepository
    engines: dict[str, Engine] = field(default_factory=dict)

    def close(self) -> None:
        """Write what is buffered and release the connections."""
        self.market_data.close()
        self.signals.close()  # before the trades store: signals may ride its transactions
        self.trades.close()
        for engine in {id(e): e for e in self.engines.values()}.values():
            engine.dispose()


def open_engines(settings: StorageSettings) -> dict[str, Engine]:
    """Store name -> engine (stores sharing a URL share it); SQLite folders are created.

    Raises ConfigError when a database cannot be opened.
    """
    by_url: dict[str, Engine] = {}
    engines: dict[str, Engine] = {}
    for name, url in settings.urls().items():
        if url not in by_url:
            if url.startswith("sqlite:///"):
                try:
                    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise ConfigError(
                        f"[storage] {name}: cannot create the folder of {url}: {error}"
                    ) from None
            try:
                by_url[url] = open_engine(url)
            except StoreUnavailable as error:
                raise ConfigError(f"[storage] {name}: {error}") from None
        engines[name] = by_url[url]
    return engines


def build_stores(settings: StorageSettings) -> Stores:
    """The stores of ``settings``; raises ConfigError for a database that cannot be opened or
    is not at this code's schema revision (the message says to run `tradeplane migrate`)."""
    if settings.kind == "memory":
        return Stores(InMemoryTradeRepository(), InMemorySignalRepository(), InMemoryMarketDataRepository())
    engines = open_engines(settings)
    try:
        for name, engine in engines.items():
            if engine.dialect.name == "sqlite" and is_blank(engine):
                # The embedded default needs no setup: a new file starts at the head revision.
                # A database with tables (ours at an older revision, or anyone's) is never touched.
                upgrade(engine)
                log.info("created the %s database %s", name, engine.url.render_as_string(hide_password=True))
            require_head(engine, name)
    except DatabaseBehind as error:
        for engine in engines.values():
            engine.dispose()
        raise ConfigError(str(error)) from None
    market_data = SqlMarketDataRepository(
        engines["market_data"],
        batch_size=settings.market_data_batch_size,
        flush_interval_s=settings.market_data_flush_interval_s,
    )
    trades = SqlTradeRepository(engines["trades"])
    # One database for both (the default): a signal rides in the transaction of the order it
    # causes, one commit instead of two (the OMS of this process journals every order).
    shared = engines["signals"] is engines["trades"]
    signals = SqlSignalRepository(engines["signals"], unit_of_work=trades if shared else None)
    return Stores(trades, signals, market_data, engines)
