"""Opening Binance dump files (.csv, .csv.gz, .zip) as text, and reading what their names say.

The container is told by the file's first bytes, not its suffix, so a renamed or
re-compressed download still opens; the names follow data.binance.vision:
``BTCUSDT-trades-2024-01.zip``, ``BTCUSDT-1m-2024-01-15.zip``.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, NamedTuple, TextIO

from adapters.historical.errors import HistoricalDataError, Problem
from domain.errors import InvalidValue
from domain.identifiers import InstrumentId

ENCODING = "utf-8-sig"
"""Binance writes ASCII; the -sig variant also accepts a file re-saved with a BOM."""

_ZIP_MAGIC = b"PK"
_GZIP_MAGIC = b"\x1f\x8b"
_NAME = re.compile(
    r"(?P<symbol>[A-Za-z0-9]+(?:_[A-Za-z0-9]+)?)"
    r"-(?P<data_type>trades|aggTrades|\d+(?:s|m|h|d|w|mo|M))"
    r"-(?P<period>\d{4}-\d{2}(?:-\d{2})?)"
    r"(?:\.csv)?(?:\.zip|\.gz)?"
)


@contextmanager
def open_text(path: Path) -> Iterator[TextIO]:
    """``path`` opened for reading lines of text, whatever its container.

    Raises HistoricalDataError (UNREADABLE) for a file that cannot be opened or read (missing,
    no permission, a directory, an I/O error), or a zip that is corrupt or does not hold
    exactly one file.
    """
    try:
        with path.open("rb") as probe:
            magic = probe.read(2)
    except OSError as exc:
        raise HistoricalDataError(
            path, None, Problem.UNREADABLE, f"cannot be read ({exc.strerror or exc})"
        ) from None
    with ExitStack() as stack:
        if magic == _ZIP_MAGIC:
            binary = _only_member(stack, path)
            yield stack.enter_context(io.TextIOWrapper(binary, encoding=ENCODING))
        elif magic == _GZIP_MAGIC:
            yield stack.enter_context(gzip.open(path, "rt", encoding=ENCODING))
        else:
            yield stack.enter_context(path.open(encoding=ENCODING))


def _only_member(stack: ExitStack, path: Path) -> IO[bytes]:
    """The one file inside the zip at ``path``, opened on ``stack``."""
    try:
        archive = stack.enter_context(zipfile.ZipFile(path))
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            names = ", ".join(info.filename for info in members) or "nothing"
            raise HistoricalDataError(
                path, None, Problem.UNREADABLE, f"holds {names}; expected exactly one CSV file"
            )
        return stack.enter_context(archive.open(members[0]))
    except (zipfile.BadZipFile, NotImplementedError) as exc:  # corrupt; a compression zipfile lacks
        raise HistoricalDataError(path, None, Problem.UNREADABLE, f"is not a valid zip ({exc})") from None


class BinanceFileName(NamedTuple):
    """The parts of a data.binance.vision file name."""

    symbol: str
    data_type: str
    """``trades``, ``aggTrades`` or a kline interval such as ``1m``, ``1h``, ``1d``."""
    period: str
    """``YYYY-MM`` for a monthly file, ``YYYY-MM-DD`` for a daily one."""

    @property
    def is_klines(self) -> bool:
        return self.data_type[0].isdigit()


def parse_binance_file_name(path: Path | str) -> BinanceFileName:
    """Split ``BTCUSDT-1m-2024-01.zip`` into symbol, data type and period.

    Raises HistoricalDataError (BAD_FILE_NAME) for a name not in Binance's layout.
    """
    name = Path(path).name
    match = _NAME.fullmatch(name)
    if match is None:
        raise HistoricalDataError(
            path,
            None,
            Problem.BAD_FILE_NAME,
            f"name {name!r} is not like SYMBOL-trades-YYYY-MM[-DD].zip or SYMBOL-1m-YYYY-MM[-DD].zip",
        )
    return BinanceFileName(match["symbol"].upper(), match["data_type"], match["period"])


def instrument_id_from_file_name(path: Path | str, venue: str = "BINANCE") -> InstrumentId:
    """The instrument a Binance file name is about: ``BTCUSDT-trades-2024-01.zip`` ->
    ``BTCUSDT.BINANCE``. The venue is the caller's: the name does not say spot or futures.

    Raises HistoricalDataError (BAD_FILE_NAME) for a name not in Binance's layout.
    """
    symbol = parse_binance_file_name(path).symbol
    try:
        return InstrumentId.of(symbol, venue)
    except InvalidValue as exc:
        raise HistoricalDataError(path, None, Problem.BAD_FILE_NAME, str(exc)) from None
