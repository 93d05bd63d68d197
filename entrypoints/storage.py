"""Opening the configured stores: in memory, or SQL databases checked to be at the schema head."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.memory import InMemoryMarketDataRepository, InMemorySignalRepository, InMemoryTradeRepository
from application.ports import MarketDataRepository, SignalRepository, TradeRepository
from entrypoints.config import ConfigError, StorageSettings

if TYPE_CHECKING:  # SQLAlchemy and the SQL stores are imported when a SQL store is opened:
    # an in-memory run (every backtest) never loads them.
    from sqlalchemy.engine import Engine

    from adapters.persistence.trade_store import SqlTradeRepository

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


def where_state_lives(settings: StorageSettings) -> str:
    """Where ``settings`` keep the engine's state, for the line printed at start: the data
    folder, and any store whose URL puts it elsewhere (a password in a URL is masked)."""
    if settings.kind == "memory":
        return "nothing is kept"
    defaults = replace(settings, trades_url="", signals_url="", market_data_url="").urls()
    elsewhere: dict[str, list[str]] = {}
    for name, url in settings.urls().items():
        if url != defaults[name]:
            elsewhere.setdefault(_shown(url), []).append(name.replace("_", " "))
    places = [f"state kept in {os.path.join(settings.data_dir, '')}"]
    places += [f"{' and '.join(names)} in {url}" for url, names in elsewhere.items()]
    return "; ".join(places)


def _shown(url: str) -> str:
    """A database URL as an operator may read it: a SQLite file's path, or the URL with its
    password masked (one that does not parse is shown as its scheme only)."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.split("://", 1)[0] + "://..."


def trades_journal_path(settings: StorageSettings) -> Path:
    """The trades journal of ``settings``' trades database: beside a SQLite file, else in the
    data folder under a name of that database's URL (one journal per database)."""
    url = settings.urls()["trades"]
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///") + ".trades-journal")
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return Path(settings.data_dir) / f"trades-{digest}.journal"


def _trades_store(engine: Engine, settings: StorageSettings) -> SqlTradeRepository:
    from adapters.persistence.trade_journal import JournalSettings
    from adapters.persistence.trade_store import SqlTradeRepository

    mode = settings.trades_commit  # checked when the settings were read
    path = trades_journal_path(settings)
    if mode == "sync":
        if path.exists():  # what a journaled run left unapplied reaches the tables first
            SqlTradeRepository(engine, journal=JournalSettings(path)).close()
        return SqlTradeRepository(engine)
    return SqlTradeRepository(engine, journal=JournalSettings(path, fsync=mode == "journal+fsync"))


def open_engines(settings: StorageSettings) -> dict[str, Engine]:
    """Store name -> engine (stores sharing a URL share it); SQLite folders are created.

    Raises ConfigError when a database cannot be opened.
    """
    by_url: dict[str, Engine] = {}
    engines: dict[str, Engine] = {}
    for name, url in settings.urls().items():
        if url not in by_url:
            by_url[url] = _open_engine(name, url)
        engines[name] = by_url[url]
    return engines


def _open_engine(name: str, url: str) -> Engine:
    from adapters.persistence.database import StoreUnavailable, open_engine

    if url.startswith("sqlite:///"):
        try:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"[storage] {name}: cannot create the folder of {url}: {error}") from None
    try:
        return open_engine(url)
    except StoreUnavailable as error:
        raise ConfigError(f"[storage] {name}: {error}") from None


def build_market_data_store(settings: StorageSettings) -> tuple[MarketDataRepository, Callable[[], None]]:
    """The market-data store alone, and what closes it: for a process that records the market
    and holds no orders (the ingestion service), so the trades store and its journal stay the
    execution service's own. Raises ConfigError as ``build_stores`` does."""
    if settings.kind == "memory":
        memory = InMemoryMarketDataRepository()
        return memory, lambda: None
    from adapters.persistence.market_data_store import SqlMarketDataRepository
    from adapters.persistence.migrate import DatabaseBehind, is_blank, require_head, upgrade

    engine = _open_engine("market_data", settings.urls()["market_data"])
    try:
        if engine.dialect.name == "sqlite" and is_blank(engine):
            upgrade(engine)
        require_head(engine, "market_data")
    except DatabaseBehind as error:
        engine.dispose()
        raise ConfigError(str(error)) from None
    store = SqlMarketDataRepository(
        engine,
        batch_size=settings.market_data_batch_size,
        flush_interval_s=settings.market_data_flush_interval_s,
    )

    def close() -> None:
        store.close()
        engine.dispose()

    return store, close


def build_stores(settings: StorageSettings) -> Stores:
    """The stores of ``settings``; raises ConfigError for a database that cannot be opened or
    is not at this code's schema revision (the message says to run `tradeplane migrate`)."""
    if settings.kind == "memory":
        return Stores(InMemoryTradeRepository(), InMemorySignalRepository(), InMemoryMarketDataRepository())
    from adapters.persistence.market_data_store import SqlMarketDataRepository
    from adapters.persistence.migrate import DatabaseBehind, is_blank, require_head, upgrade
    from adapters.persistence.signal_store import SqlSignalRepository
    from adapters.persistence.trade_journal import JournalBusy

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
    try:
        trades = _trades_store(engines["trades"], settings)
    except (JournalBusy, OSError) as error:
        for engine in engines.values():
            engine.dispose()
        raise ConfigError(f"[storage] trades: {error}") from None
    # One database for both (the default): a signal rides in the transaction of the order it
    # causes, one commit instead of two (the OMS of this process journals every order).
    shared = engines["signals"] is engines["trades"]
    signals = SqlSignalRepository(engines["signals"], unit_of_work=trades if shared else None)
    return Stores(trades, signals, market_data, engines)
