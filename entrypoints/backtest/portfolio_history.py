"""The history of several instruments as one stream: each instrument's files or stored events,
merged in event-time order.

Each instrument's events are read on their own (its ``--data`` files, merged, or the
market-data store's rows for its id: the store keeps every venue's events alike, keyed by
``SYMBOL.VENUE``), checked to hold at least one event, then all are merged on ``ts_event``.
Events at the same time come out in the order of the instruments given, then in their own
order, so a replay is the same every time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from adapters.historical import HistoricalDataError, ReadStats, merge_events, read_merged
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent
from entrypoints.backtest.formatting import format_time
from entrypoints.backtest.history import check_files
from entrypoints.backtest.spec import BacktestError
from entrypoints.config import ConfigError, Settings


@dataclass(frozen=True, slots=True)
class OpenedHistory:
    """Each instrument's first event (what kind of data drives it), and the merged stream."""

    first: Mapping[str, MarketEvent]
    events: Iterator[MarketEvent]


def check_histories(
    instruments: Sequence[str], data: Mapping[str, Sequence[str]], users: Callable[[str], str]
) -> None:
    """Every instrument needs files and every file an instrument that is used; raises
    BacktestError naming the instrument (and the strategies reading it) otherwise."""
    for instrument in instruments:
        if not data.get(instrument):
            raise BacktestError(
                f"no history for {instrument} (read by strategy {users(instrument)}):"
                f" give --data {instrument}=FILES, or --from-store",
                field="data",
            )
    unused = [instrument for instrument in data if instrument not in instruments]
    if unused:
        raise BacktestError(
            f"--data {', '.join(unused)}: no enabled strategy reads it (they read {', '.join(instruments)})",
            field="data",
        )
    for instrument in instruments:
        check_files(data[instrument], instrument)


def open_files(
    instruments: Sequence[str],
    data: Mapping[str, Sequence[str]],
    *,
    skip_bad_rows: bool,
    stats: list[ReadStats],
) -> OpenedHistory:
    """The instruments' ``--data`` files merged in time; the files of one instrument must be of
    one kind (trades or bars). Raises BacktestError for a file without an event or a bad row."""
    streams = {
        instrument: read_merged(list(data[instrument]), instrument, skip_bad_rows=skip_bad_rows, stats=stats)
        for instrument in instruments
    }
    return _merged(streams, lambda instrument: ", ".join(data[instrument]))


def open_store(
    instruments: Sequence[str],
    settings: Settings,
    *,
    start_ns: int | None,
    end_ns: int | None,
    closers: list[Callable[[], None]],
) -> OpenedHistory:
    """What live runs recorded in the market-data store of ``settings``' [storage], for each
    instrument (any venue), from ``start_ns`` to ``end_ns`` (excluded)."""
    from adapters.persistence.market_history import read_history
    from adapters.persistence.migrate import is_blank
    from entrypoints.storage import open_engines

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
    since = "the start" if start_ns is None else f"{format_time(start_ns)} UTC"
    until = "the end" if end_ns is None else f"{format_time(end_ns)} UTC"
    streams = {
        instrument: read_history(engine, InstrumentId(instrument), start_ns=start_ns, end_ns=end_ns)
        for instrument in instruments
    }
    return _merged(streams, lambda _: f"the market-data store {url} from {since} to {until}")


def _merged(streams: Mapping[str, Iterator[MarketEvent]], where: Callable[[str], str]) -> OpenedHistory:
    """Read each stream's first event (an empty one is refused, naming its instrument) and
    merge them all, ties in the order of ``streams``."""
    first: dict[str, MarketEvent] = {}
    heads = []
    for instrument, stream in streams.items():
        try:
            event = next(stream, None)
        except HistoricalDataError as error:
            raise BacktestError(str(error), field="data") from None
        if event is None:
            raise BacktestError(f"no market data for {instrument} in {where(instrument)}", field="data")
        first[instrument] = event
        heads.append(itertools.chain((event,), stream))
    events = heads[0] if len(heads) == 1 else merge_events(heads)
    return OpenedHistory(first, events)
