"""Several historical files as one time-ordered stream, as a backtest needs them.

A k-way merge on ``ts_event`` (``heapq.merge``): each input is already in order (the readers
refuse or skip rows that are not), so the output is too, and memory stays at one event per
input. Events with equal ``ts_event`` come out in the order of their inputs, then in file
order, so a replay is the same every time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TypeVar

from adapters.historical.binance_csv import read_binance_csv
from adapters.historical.errors import ReadStats
from adapters.historical.layout import DataKind, TimeUnit
from domain.identifiers import InstrumentId
from domain.market_data import Bar, MarketEvent, TradeTick

E = TypeVar("E", bound=MarketEvent)

_ts_event = attrgetter("ts_event")


def merge_events(streams: Iterable[Iterable[E]]) -> Iterator[E]:
    """The events of every stream in ``ts_event`` order; ties keep the order of ``streams``.

    Each stream must itself be in ``ts_event`` order (the readers of this package ensure it).
    """
    return heapq.merge(*streams, key=_ts_event)


def read_merged(
    paths: Sequence[Path | str],
    instrument_id: InstrumentId | str | None = None,
    *,
    kind: DataKind | str | None = None,
    time_unit: TimeUnit | str | None = None,
    skip_bad_rows: bool = False,
    stats: list[ReadStats] | None = None,
    venue: str = "BINANCE",
) -> Iterator[TradeTick | Bar]:
    """Read and merge Binance files: months of one instrument, or several instruments.

    ``instrument_id`` applies to every file; None infers each from its file name. One
    :class:`ReadStats` per path, in the order of ``paths``, is appended to ``stats``. Every
    file is opened at the first ``next()`` and stays open until the stream ends or is closed.
    Raises HistoricalDataError as :func:`read_binance_csv` does.
    """
    streams = []
    for path in paths:
        file_stats = ReadStats()
        if stats is not None:
            stats.append(file_stats)
        streams.append(
            read_binance_csv(
                path,
                instrument_id,
                kind=kind,
                time_unit=time_unit,
                skip_bad_rows=skip_bad_rows,
                stats=file_stats,
                venue=venue,
            )
        )
    if len(streams) == 1:
        return streams[0]  # nothing to merge: no heap between the reader and the caller
    return merge_events(streams)
