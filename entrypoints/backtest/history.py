"""Where a backtest's events come from: history files (checked first) or the market-data store."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from adapters.historical import (
    HistoricalDataError,
    ReadStats,
    instrument_id_from_file_name,
    parse_binance_file_name,
    read_merged,
)
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent
from entrypoints.backtest.formatting import format_time
from entrypoints.backtest.spec import BacktestError, BacktestSpec
from entrypoints.config import ConfigError, load_settings


def open_events(
    spec: BacktestSpec, stats: list[ReadStats], closers: list[Callable[[], None]]
) -> tuple[str, Iterator[MarketEvent]]:
    """The instrument and the time-ordered events of ``spec``: its files, or the store.

    Raises BacktestError when the instrument cannot be told or the files do not fit together;
    ``stats`` collects the files' read counts, ``closers`` what to release after the run.
    """
    if spec.from_store and not spec.instrument:
        raise BacktestError("--from-store needs --instrument SYMBOL.VENUE", field="instrument")
    try:
        instrument_id = spec.instrument or str(instrument_id_from_file_name(spec.data[0]))
    except (HistoricalDataError, ValueError) as error:
        raise BacktestError(
            f"{error}; give --instrument SYMBOL.VENUE",
            field="instrument",
            problem=f"{error}; give the instrument as SYMBOL.VENUE",
        ) from None
    events: Iterator[MarketEvent]
    if spec.from_store:
        events = _store_events(spec, instrument_id, closers)
    else:
        check_files(spec.data, instrument_id)
        events = read_merged(list(spec.data), instrument_id, skip_bad_rows=spec.skip_bad_rows, stats=stats)
    return instrument_id, events


def check_files(paths: Sequence[str], instrument_id: str) -> None:
    """One run replays one instrument and one kind of data: files named for another symbol,
    a mix of trades and klines, or the same file twice would silently corrupt the history."""
    resolved = [Path(path).resolve() for path in paths]
    twice = sorted({str(p) for p in resolved if resolved.count(p) > 1})
    if twice:
        raise BacktestError(f"--data: {', '.join(twice)} given more than once", field="data")
    symbol = instrument_id.partition(".")[0]
    kinds = set()
    for path in paths:
        try:
            name = parse_binance_file_name(path)
        except HistoricalDataError:
            continue  # not a Binance name: nothing to check it against
        if name.symbol != symbol:
            raise BacktestError(
                f"--data: {Path(path).name} holds {name.symbol}, not {instrument_id} (one instrument a run)",
                field="data",
            )
        kinds.add(name.is_klines)
    if len(kinds) > 1:
        raise BacktestError("--data: trades and klines in one run; replay one kind of data", field="data")


def describe_source(spec: BacktestSpec) -> str:
    """Where ``spec`` reads its events, in words for a message: its files, or the store's range."""
    if not spec.from_store:
        return ", ".join(spec.data)
    since = "the start" if spec.start_ns is None else f"{format_time(spec.start_ns)} UTC"
    until = "the end" if spec.end_ns is None else f"{format_time(spec.end_ns)} UTC"
    return f"the market-data store for {spec.instrument} from {since} to {until}"


def _store_events(
    spec: BacktestSpec, instrument_id: str, closers: list[Callable[[], None]]
) -> Iterator[MarketEvent]:
    """What a live run recorded in the market-data store of ``spec.config`` (its [storage])."""
    from adapters.persistence.market_history import read_history
    from adapters.persistence.migrate import is_blank
    from entrypoints.storage import open_engines

    try:
        settings = load_settings(Path(spec.config), environ={}) if spec.config else load_settings(environ={})
    except ConfigError as error:
        raise BacktestError(f"--from-store: {error}") from None
    if settings.storage.kind != "sql":
        raise BacktestError("--from-store: the configuration keeps no market data ([storage] kind is memory)")
    url = settings.storage.urls()["market_data"]
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise BacktestError(f"--from-store: no market-data store at {url}", field="data")
    try:
        engine = open_engines(replace(settings.storage, trades_url=url, signals_url=url))["market_data"]
    except ConfigError as error:
        raise BacktestError(f"--from-store: {error}") from None
    closers.append(engine.dispose)
    if is_blank(engine):
        raise BacktestError(f"--from-store: {url} holds no market data (no tables)", field="data")
    return read_history(engine, InstrumentId(instrument_id), start_ns=spec.start_ns, end_ns=spec.end_ns)
