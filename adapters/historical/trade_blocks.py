"""Binance trade rows read a block of text at a time: C-level splits and maps instead of a Python
loop per row, for the backtester's millions of rows.

A block is a run of whole lines (``read_blocks``). ``trade_block`` turns one into TradeTicks in
a handful of passes over columns, or answers None when anything in it is unusual (a blank
line, a wrong column count, a bad number, flag, id or time, times out of order): the caller
then reads that block line by line with the careful rules, which accept what they accept and
name the file and line of what they refuse. A block taken here gives exactly the events the
line-by-line reader would: the same Decimals (built from the same text by the same rules),
ids, sides and timestamps.

How the columns are found without splitting each line: ``block.split(",")`` gives one flat
list in which a line's last field and the next line's first are one item, ``"last\\nfirst"``.
With ``columns`` fields a line those joints fall every ``columns - 1`` items; if there are as
many joints holding a line end as the block has line ends, every line has exactly
``columns`` fields, and each column is a slice of the flat list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import islice, repeat
from operator import contains, le
from typing import TextIO

from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.values import MAX_MAGNITUDE, MAX_TEXT, ZERO, AggressorSide, positive

BLOCK_CHARS = 1 << 16
"""Characters read at a time (~800 trade rows): large enough to amortize, small enough that a
block the careful path has to redo costs little."""

CACHE_SIZE = 1 << 16
"""Distinct price texts remembered across blocks; prices repeat, so most rows hit the cache."""

_new_tuple = tuple.__new__
"""``TradeTick(...)`` minus Python-level argument binding; the values are validated first."""


def read_blocks(text: TextIO, size: int | None = None) -> Iterator[str]:
    """The rest of ``text`` in blocks of whole lines (each ending with a line end, except perhaps
    the file's last), of about ``size`` characters (default BLOCK_CHARS)."""
    size = size or BLOCK_CHARS
    rest = ""
    while chunk := text.read(size):
        if rest:
            chunk = rest + chunk
        cut = chunk.rfind("\n") + 1
        rest = chunk[cut:]
        if cut:
            yield chunk[:cut]
    if rest:
        yield rest


def trade_block(
    block: str,
    *,
    instrument_id: InstrumentId,
    columns: int,
    aggressors: dict[str, AggressorSide],
    last: int,
    end: int,
    scale: int,
    prices: dict[str, Decimal],
) -> tuple[list[TradeTick], int] | None:
    """The block's trades and the last one's time, or None if any row needs the careful path.

    ``last`` is the previous trade's time and ``end`` the bound of the file's unit: every time
    must be in ``[last, end)`` and not decrease. ``prices`` caches price texts between blocks.
    """
    if columns < 6:
        return None
    if not block.endswith("\n"):  # the file's last line: as if it ended like the others
        block += "\n"
    rows = block.count("\n")
    step = columns - 1
    flat = block.split(",")
    if len(flat) != rows * step + 1:
        return None
    joints = flat[step::step]  # "last field\nnext first field", the final one "last field\n"
    if not all(map(contains, joints, repeat("\n"))):
        return None  # some line has more or fewer fields than ``columns`` (or is blank)
    ends = "\n".join(joints).split("\n")  # last0, first1, last1, first2, ..., last(n-1), ""
    ids = ends[1:-1:2]
    ids.insert(0, flat[0])
    if not all(ids):
        return None
    makers = ends[0::2] if columns == 6 else flat[5::step]
    try:
        times = list(map(int, flat[4::step]))
        sides = list(map(aggressors.__getitem__, makers))
    except (ValueError, KeyError):
        return None
    if not (last <= times[0] and times[-1] < end and all(map(le, times, islice(times, 1, None)))):
        return None
    price_values = _cached_decimals(flat[1::step], prices, "price")
    size_values = _decimals(flat[2::step], "qty")
    if price_values is None or size_values is None:
        return None
    stamps = list(map(scale.__mul__, times))
    ticks = list(
        map(
            _new_tuple,
            repeat(TradeTick),
            zip(repeat(instrument_id), price_values, size_values, sides, ids, stamps, stamps),
        )
    )
    return ticks, times[-1]


def _cached_decimals(texts: list[str], cache: dict[str, Decimal], field: str) -> list[Decimal] | None:
    """``positive(text, field)`` for each text, remembering the values; None if one is refused."""
    missing = list(set(texts).difference(cache))
    if missing:
        if len(cache) + len(missing) > CACHE_SIZE:
            cache.clear()
            missing = list(set(texts))
        found = _decimals(missing, field)
        if found is None:
            return None
        cache.update(zip(missing, found, strict=True))
    return list(map(cache.__getitem__, texts))


def _decimals(texts: list[str], field: str) -> list[Decimal] | None:
    """``positive(text, field)`` for each text, or None if one is refused.

    The domain's fast path for all texts at once (plain notation, at most MAX_TEXT characters,
    in ``(0, MAX_MAGNITUDE)``), else ``positive`` itself text by text.
    """
    try:
        if max(map(len, texts)) <= MAX_TEXT:
            joined = "".join(texts)
            if "e" not in joined and "E" not in joined:
                values = list(map(Decimal, texts))
                if min(values) > ZERO and max(values) < MAX_MAGNITUDE:  # NaN raises here
                    return values
    except ArithmeticError:  # InvalidOperation: not a number, or a NaN compared
        pass
    return _one_by_one(texts, field, positive)


def _one_by_one(
    texts: list[str], field: str, check: Callable[[object, str], Decimal]
) -> list[Decimal] | None:
    try:
        return [check(text, field) for text in texts]
    except InvalidValue:
        return None
