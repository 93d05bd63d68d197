"""What can be wrong with a historical data file, the error that says where, and read statistics.

A backtest on silently mangled data is worse than none, so every problem names the file, the
1-based line and a stable ``reason`` code; in skip mode the same codes key the skip counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

MAX_EXAMPLES = 10
"""How many skipped rows :class:`ReadStats` keeps as examples (the counts are complete)."""


class Problem(StrEnum):
    """Why a file or a row was refused; stable codes for callers and skip counts."""

    # The whole file: raised even with skip_bad_rows, as no row of it can be trusted.
    EMPTY_FILE = "empty_file"
    UNREADABLE = "unreadable"  # corrupt gzip/zip, not one CSV in the zip, not UTF-8
    BAD_HEADER = "bad_header"  # a header that is neither Binance trades nor klines
    UNKNOWN_KIND = "unknown_kind"  # no header and a column count that fits neither kind
    BAD_FILE_NAME = "bad_file_name"  # the instrument was to be inferred from a non-Binance name
    # One row: skipped and counted with skip_bad_rows.
    COLUMN_COUNT = "column_count"
    BAD_ID = "bad_id"
    BAD_TIMESTAMP = "bad_timestamp"  # not an integer, or outside the file's unit (ms or µs)
    BAD_NUMBER = "bad_number"  # not a decimal, NaN, infinite, too long, too fine, too large
    NOT_POSITIVE = "not_positive"  # a zero or negative price or quantity, a negative volume
    BAD_FLAG = "bad_flag"  # is_buyer_maker not true/false
    UNSORTED = "unsorted"  # earlier than the row before (trades) or overlapping it (klines)
    BAD_INTERVAL = "bad_interval"  # a kline that closes before it opens
    BAD_OHLC = "bad_ohlc"  # low above open/close or high below them


class HistoricalDataError(ValueError):
    """A historical data file or one of its rows is unusable.

    ``path`` is the file, ``line`` the 1-based line (None when the whole file is at fault),
    ``reason`` a :class:`Problem` and ``detail`` a sentence naming the offending value.
    """

    def __init__(self, path: Path | str, line: int | None, reason: Problem, detail: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        self.detail = detail
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {detail} [{reason}]")


@dataclass(slots=True)
class ReadStats:
    """What reading one file found; complete once its iterator is exhausted or closed.

    ``kind`` and ``time_unit`` are what was detected (or forced); ``skipped`` counts the
    rows left out per reason in skip mode and ``examples`` keeps the first few of them, so
    an operator can look at the actual lines.
    """

    path: Path | None = None
    kind: str | None = None
    time_unit: str | None = None
    events: int = 0
    skipped: Counter[Problem] = field(default_factory=Counter)
    examples: list[HistoricalDataError] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def record_skip(self, error: HistoricalDataError) -> None:
        self.skipped[error.reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(error)
