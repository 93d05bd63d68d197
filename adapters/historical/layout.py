"""What a Binance dump file holds: a header or none, trades or klines, ms or µs timestamps.

Detection reads the first data row, so a file needs no side information: the header (when
there is one) names the kind, else the column count does (6 or 7 trades, 12 klines); the
time unit is told by magnitude. Binance wrote milliseconds until spot switched to
microseconds on 2025-01-01: below 10**14 is milliseconds (10**14 ms is the year 5138), from
10**14 up to 10**17 microseconds (10**14 µs is 1973, before any market on Binance), and
every later row of the file must fall in the same range.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain
from pathlib import Path
from typing import TextIO

from adapters.historical.errors import HistoricalDataError, Problem, ReadStats
from adapters.historical.files import instrument_id_from_file_name, open_text
from domain.identifiers import InstrumentId

TRADE_COLUMNS = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
MICROSECONDS_FROM = 10**14
"""Times from here on are microseconds, below it milliseconds (see the module docstring)."""
TIME_LIMIT = 10**17
"""No Binance time in microseconds reaches this (the year 5138)."""
PROBE_ROWS = 1000
"""In skip mode, how many rows may precede the first one that shows the kind and time unit."""


class DataKind(StrEnum):
    """What a file holds."""

    TRADES = "trades"
    KLINES = "klines"


class TimeUnit(StrEnum):
    """The unit of a file's timestamps; ``scale`` converts to nanoseconds."""

    MILLISECONDS = "ms"
    MICROSECONDS = "us"

    @property
    def scale(self) -> int:
        return 1_000_000 if self is TimeUnit.MILLISECONDS else 1_000

    @property
    def bounds(self) -> tuple[int, int]:
        """The half-open range of values a file in this unit may hold."""
        if self is TimeUnit.MILLISECONDS:
            return 0, MICROSECONDS_FROM
        return MICROSECONDS_FROM, TIME_LIMIT


def time_unit_of(value: int) -> TimeUnit | None:
    """The unit a Binance timestamp is in, by magnitude; None if it is neither."""
    if 0 <= value < MICROSECONDS_FROM:
        return TimeUnit.MILLISECONDS
    if MICROSECONDS_FROM <= value < TIME_LIMIT:
        return TimeUnit.MICROSECONDS
    return None


@dataclass(slots=True)
class Source:
    """A file to read and how, as the caller asked; ``open_layout`` detects the rest."""

    path: Path
    instrument_id: InstrumentId
    kind: DataKind | None
    time_unit: TimeUnit | None
    skip: bool
    stats: ReadStats

    @classmethod
    def of(
        cls,
        path: Path | str,
        instrument_id: InstrumentId | str | None,
        venue: str,
        kind: DataKind | str | None,
        time_unit: TimeUnit | str | None,
        *,
        skip: bool,
        stats: ReadStats | None,
    ) -> Source:
        """What the reading functions were asked, checked: the instrument (else the one the file
        name names on ``venue``), kind and unit when given. Raises HistoricalDataError for a file
        name that names no instrument, ValueError for a bad instrument id, kind or unit."""
        file = Path(path)
        iid = (
            instrument_id_from_file_name(file, venue)
            if instrument_id is None
            else InstrumentId(instrument_id)
        )
        stats = stats if stats is not None else ReadStats()
        stats.path = file
        return cls(
            file,
            iid,
            None if kind is None else DataKind(kind),
            None if time_unit is None else TimeUnit(time_unit),
            skip,
            stats,
        )

    def error(self, line: int | None, reason: Problem, detail: str) -> HistoricalDataError:
        return HistoricalDataError(self.path, line, reason, detail)


@dataclass(slots=True)
class Layout:
    """What detection decided: the data lines (numbered), kind, column count, time unit.

    ``lines`` is every data line; a reader that takes the file in blocks instead reads the
    ``probed`` lines, then ``rest`` from ``rest_line`` on (the text stream ``lines`` draws from).
    """

    lines: Iterator[tuple[int, str]]
    kind: DataKind
    columns: int
    unit: TimeUnit
    probed: list[tuple[int, str]]
    rest: TextIO
    rest_line: int


class RowError(Exception):
    """A row's problem, before the file and line are attached."""

    def __init__(self, reason: Problem, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


READ_ERRORS = (UnicodeDecodeError, EOFError, zlib.error, zipfile.BadZipFile, OSError)
"""What a corrupt gzip or zip, or bytes that are not text, raise while being read."""


@contextmanager
def open_layout(source: Source) -> Iterator[Layout]:
    """Open the file, skip a header, detect kind and unit, hand over the remaining lines."""
    with open_text(source.path) as text:
        lines = enumerate(text, start=1)
        try:
            lineno, line = next(((n, text_line) for n, text_line in lines if text_line.strip()), (0, ""))
            if not lineno:
                raise source.error(None, Problem.EMPTY_FILE, "is empty")
            fields = line.split(",")
            kind = source.kind
            columns = None
            if not fields[0].strip().isdigit():
                kind, columns = _header_kind(source, lineno, fields)
                lineno, line = next(((n, text_line) for n, text_line in lines if text_line.strip()), (0, ""))
                if not lineno:
                    raise source.error(None, Problem.EMPTY_FILE, "has a header but no data rows")
            kind, columns, unit, probed = _probe(
                source, kind=kind, columns=columns, lineno=lineno, line=line, lines=lines
            )
        except READ_ERRORS as exc:
            raise source.error(None, Problem.UNREADABLE, f"could not be read ({exc})") from None
        source.stats.kind = kind
        source.stats.time_unit = unit
        yield Layout(chain(probed, lines), kind, columns, unit, probed, text, probed[-1][0] + 1)


def _header_kind(source: Source, lineno: int, fields: list[str]) -> tuple[DataKind, int]:
    names = tuple(name.strip().lower() for name in fields)
    if names in (TRADE_COLUMNS, TRADE_COLUMNS[:6]):
        found = DataKind.TRADES
    elif names == KLINE_COLUMNS:
        found = DataKind.KLINES
    else:
        raise source.error(
            lineno,
            Problem.BAD_HEADER,
            f"header {','.join(names)!r} is neither Binance trades ({','.join(TRADE_COLUMNS)}) "
            f"nor klines ({','.join(KLINE_COLUMNS)})",
        )
    if source.kind is not None and found is not source.kind:
        raise source.error(
            lineno, Problem.BAD_HEADER, f"header is for {found}, but {source.kind} were asked for"
        )
    return found, len(names)


def _kind_of(columns: int) -> DataKind | None:
    if columns in (6, 7):
        return DataKind.TRADES
    return DataKind.KLINES if columns == len(KLINE_COLUMNS) else None


def _probe(
    source: Source,
    *,
    kind: DataKind | None,
    columns: int | None,
    lineno: int,
    line: str,
    lines: Iterator[tuple[int, str]],
) -> tuple[DataKind, int, TimeUnit, list[tuple[int, str]]]:
    """Kind, column count and unit from the first data row that shows them.

    Strict mode: the first data row must. Skip mode: up to PROBE_ROWS rows may be bad; they
    are handed back with the rest, to be skipped and counted like any other bad row.
    """
    probed = [(lineno, line)]
    while True:
        try:
            found_kind, found_columns, unit = _probe_row(kind, columns, line.split(","), source.time_unit)
        except RowError as bad:
            if not source.skip:
                raise source.error(lineno, bad.reason, bad.detail) from None
            if len(probed) >= PROBE_ROWS:
                raise source.error(
                    lineno, bad.reason, f"no usable row in the first {PROBE_ROWS}; {bad.detail}"
                ) from None
            lineno, line = next(lines, (0, ""))
            if not lineno:
                raise source.error(None, bad.reason, f"has no usable row; {bad.detail}") from None
            probed.append((lineno, line))
        else:
            return found_kind, found_columns, unit, probed


def _probe_row(
    kind: DataKind | None, columns: int | None, fields: list[str], forced_unit: TimeUnit | None
) -> tuple[DataKind, int, TimeUnit]:
    found = _kind_of(len(fields))
    if kind is None:
        if found is None:
            raise RowError(
                Problem.UNKNOWN_KIND,
                f"has {len(fields)} columns; expected 6 or 7 (trades) or 12 (klines), or pass kind=",
            )
        kind = found
    if columns is None:
        columns = (
            len(fields) if found is kind else len(TRADE_COLUMNS if kind is DataKind.TRADES else KLINE_COLUMNS)
        )
    if len(fields) != columns:
        raise RowError(Problem.COLUMN_COUNT, column_detail(kind, len(fields), columns))
    time_field = "time" if kind is DataKind.TRADES else "open_time"
    text = fields[4 if kind is DataKind.TRADES else 0].strip()
    try:
        value = int(text)
    except ValueError:
        raise RowError(Problem.BAD_TIMESTAMP, f"{time_field} must be an integer (was {text!r})") from None
    unit = forced_unit or time_unit_of(value)
    if unit is None:
        raise RowError(
            Problem.BAD_TIMESTAMP, f"{time_field} {value} is neither milliseconds nor microseconds"
        )
    return kind, columns, unit


def column_detail(kind: DataKind, found: int, expected: int) -> str:
    names = (TRADE_COLUMNS if kind is DataKind.TRADES else KLINE_COLUMNS)[:expected]
    return f"has {found} columns; expected {expected} ({','.join(names)})"
