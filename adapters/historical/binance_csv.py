"""Binance public dump CSVs (data.binance.vision) read as the engine's own TradeTick and Bar events.

Layouts (unquoted CSV, with or without a header row; see ``layout`` for the detection):

- trades: ``id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]`` (7 columns on
  spot, 6 with a header on futures) -> :class:`TradeTick`. ``is_buyer_maker=true`` means
  the buyer's order was resting, so the seller was the aggressor. ``quote_qty`` and
  ``is_best_match`` are not used.
- klines: ``open_time,open,high,low,close,volume,close_time,quote_volume,count,
  taker_buy_volume,taker_buy_quote_volume,ignore`` -> :class:`Bar`.

Timestamps (ms or µs, per file) become integer nanoseconds; ``ts_init`` equals
``ts_event``, as a replay sees each event when it happened. A bar's ``ts_event`` is the
instant it closes, ``close_time + 1`` unit, which is ``open_time + interval`` exactly
(Binance's ``close_time`` is the last millisecond or microsecond inside the bar), and
``interval_ns`` is ``close_time + 1 - open_time``, so monthly bars get their true lengths.
A bar is thus never seen before it is complete.

Ordering: trade times must not decrease (equal times are normal); a bar must not open
before the previous one closed. Prices and quantities are ``Decimal`` built from the text
as written, validated by the domain's own ``positive``/``non_negative``; a kline's low and
high must bound its open and close, as ``Bar.create`` requires.

Speed: a backtest replays millions of rows, so each row takes a fast path (``str.split``,
decimal caches keyed by the text, no per-field function calls on a cache hit) and builds
the NamedTuple directly. Anything the fast path does not like goes to a careful path that
applies the same rules field by field and either accepts the row or says precisely what
is wrong with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from itertools import chain
from operator import length_hint
from pathlib import Path
from typing import TypeVar, cast

from adapters.historical.errors import HistoricalDataError, Problem, ReadStats
from adapters.historical.layout import (
    KLINE_COLUMNS,
    READ_ERRORS,
    DataKind,
    Layout,
    RowError,
    Source,
    TimeUnit,
    column_detail,
    open_layout,
)
from adapters.historical.trade_blocks import read_blocks, trade_block
from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.market_data import Bar, TradeTick
from domain.values import MAX_MAGNITUDE, MAX_TEXT, ZERO, AggressorSide, non_negative, positive

_CACHE_SIZE = 1 << 16
"""Distinct price texts remembered per field; prices repeat, so most rows hit the cache."""

_MAKER_FLAGS = {"true": AggressorSide.SELLER, "false": AggressorSide.BUYER}
# is_buyer_maker -> aggressor, in the spellings Binance used over the years. The last column
# keeps its line end (the fast path never strips), hence the "\n" variants.
_AGGRESSOR = {
    spelling + end: side
    for text, side in _MAKER_FLAGS.items()
    for spelling in (text, text.capitalize(), text.upper())
    for end in ("", "\n")
}


def read_binance_csv(
    path: Path | str,
    instrument_id: InstrumentId | str | None = None,
    *,
    kind: DataKind | str | None = None,
    time_unit: TimeUnit | str | None = None,
    skip_bad_rows: bool = False,
    stats: ReadStats | None = None,
    venue: str = "BINANCE",
) -> Iterator[TradeTick | Bar]:
    """The events of one Binance trades or klines file, in file order.

    ``instrument_id`` defaults to the one the file name names (``BTCUSDT-1m-2024-01.zip``
    on ``venue``). ``kind`` and ``time_unit`` are detected unless given. The file is opened
    when iteration starts and closed when it ends (close the iterator to stop early).

    Raises HistoricalDataError naming the file and line: at once for a file name that cannot
    name the instrument, during iteration for a bad file (empty, corrupt, unknown header),
    and for a bad row unless ``skip_bad_rows``, which leaves such rows out and counts them
    per reason in ``stats`` (filled in as the file is read; counts add up if one ReadStats
    is given to several reads). A bad ``instrument_id``, ``kind`` or ``time_unit`` raises
    ValueError at once.
    """
    source = Source.of(path, instrument_id, venue, kind, time_unit, skip=skip_bad_rows, stats=stats)
    return _read(source)


def read_trades(
    path: Path | str,
    instrument_id: InstrumentId | str | None = None,
    *,
    time_unit: TimeUnit | str | None = None,
    skip_bad_rows: bool = False,
    stats: ReadStats | None = None,
    venue: str = "BINANCE",
) -> Iterator[TradeTick]:
    """:func:`read_binance_csv` for a file that must hold trades."""
    source = Source.of(
        path, instrument_id, venue, DataKind.TRADES, time_unit, skip=skip_bad_rows, stats=stats
    )
    return cast(Iterator[TradeTick], _read(source))


def read_klines(
    path: Path | str,
    instrument_id: InstrumentId | str | None = None,
    *,
    time_unit: TimeUnit | str | None = None,
    skip_bad_rows: bool = False,
    stats: ReadStats | None = None,
    venue: str = "BINANCE",
) -> Iterator[Bar]:
    """:func:`read_binance_csv` for a file that must hold klines."""
    source = Source.of(
        path, instrument_id, venue, DataKind.KLINES, time_unit, skip=skip_bad_rows, stats=stats
    )
    return cast(Iterator[Bar], _read(source))


# --- the row loops ----------------------------------------------------------------------------


_T = TypeVar("_T")


def _read(source: Source) -> Iterator[TradeTick | Bar]:
    """The rows of ``source`` as events; the file opens when iteration starts.

    Trades come in batches handed over from a list iterator, so a trade costs one generator
    resumption here; the count in ``stats`` is of the events the consumer came back for, as
    the line-by-line loop counts them.
    """
    with open_layout(source) as layout:
        if layout.kind is DataKind.KLINES:
            yield from _kline_rows(source, layout)
            return
        stats = source.stats
        for batch in _trade_batches(source, layout):
            remaining = iter(batch)
            finished = False
            try:
                yield from remaining
                finished = True
            finally:
                stats.events += len(batch) if finished else len(batch) - length_hint(remaining) - 1


_new_tuple = tuple.__new__
"""What ``TradeTick(...)`` and ``Bar(...)`` do, minus Python-level argument binding: ~100 ns
a row. The values are validated first, as ``create`` would."""

_FAST_PATH_MISS = (ValueError, KeyError, IndexError, ArithmeticError)
"""What the fast path raises on a row it cannot take (InvalidValue is a ValueError)."""


class _Slow(Exception):
    """The fast path declines a row it parsed but did not like (order, range, OHLC)."""


def _cached(
    cache: dict[str, Decimal], text: str, check: Callable[[object, str], Decimal], field: str
) -> Decimal:
    value = check(text, field)
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[text] = value
    return value


def _careful(source: Source, lineno: int, check: Callable[..., _T | None], *args: object) -> _T | None:
    """``check(*args)``; a row it refuses is raised as HistoricalDataError, or skipped and counted."""
    try:
        return check(*args)
    except RowError as bad:
        error = source.error(lineno, bad.reason, bad.detail)
        if not source.skip:
            raise error from None
        source.stats.record_skip(error)
        return None


def _trade_batches(source: Source, layout: Layout) -> Iterator[list[TradeTick]]:
    """The file's trades in batches: the probed lines one by one, then the rest in blocks
    (``trade_blocks``); a block with anything unusual in it is read line by line instead."""
    batch: list[TradeTick] = []
    try:
        last = _trade_lines(source, layout, layout.probed, layout.unit.bounds[0], batch)
        yield batch
        batch = []
        lineno = layout.rest_line  # the first line of the next block
        blocks = read_blocks(layout.rest)
        prices: dict[str, Decimal] = {}
        end = layout.unit.bounds[1]
        while True:
            try:
                block = next(blocks, None)
            except READ_ERRORS as exc:
                raise source.error(lineno, Problem.UNREADABLE, f"could not be read ({exc})") from None
            if block is None:
                return
            taken = trade_block(
                block,
                instrument_id=source.instrument_id,
                columns=layout.columns,
                aggressors=_AGGRESSOR,
                last=last,
                end=end,
                scale=layout.unit.scale,
                prices=prices,
            )
            if taken is None:
                batch = []
                last = _trade_lines(source, layout, _numbered(block, lineno), last, batch)
            else:
                batch, last = taken
            yield batch
            batch = []
            lineno += block.count("\n")
    except HistoricalDataError:
        if batch:
            yield batch  # the rows before the one refused, then the error
        raise


def _numbered(block: str, first: int) -> Iterator[tuple[int, str]]:
    """The lines of ``block`` as reading the file line by line gives them, numbered."""
    lines = block.split("\n")
    tail = lines.pop()  # "" after a final line end, else the file's unterminated last line
    numbered = enumerate((line + "\n" for line in lines), start=first)
    return chain(numbered, [(first + len(lines), tail)]) if tail else numbered


def _trade_lines(
    source: Source, layout: Layout, lines: Iterable[tuple[int, str]], last: int, out: list[TradeTick]
) -> int:
    """The trades of ``lines``, each row taken on its own, appended to ``out``; returns the last
    trade's time. A row refused raises HistoricalDataError with ``out`` holding the rows before."""
    iid, columns = source.instrument_id, layout.columns
    scale = layout.unit.scale
    end = layout.unit.bounds[1]
    prices: dict[str, Decimal] = {}
    sizes: dict[str, Decimal] = {}
    aggressors = _AGGRESSOR
    append = out.append
    lineno = 0
    try:
        for lineno, line in lines:
            fields = line.split(",")
            try:
                if len(fields) != columns:
                    raise _Slow
                time = int(fields[4])
                if not last <= time < end:
                    raise _Slow
                price = prices.get(fields[1])
                if price is None:
                    price = _cached(prices, fields[1], positive, "price")
                size = sizes.get(fields[2])
                if size is None:
                    size = _cached(sizes, fields[2], positive, "qty")
                aggressor = aggressors[fields[5]]
                trade_id = fields[0]
                if not trade_id:
                    raise _Slow
            except (*_FAST_PATH_MISS, _Slow):
                checked = _careful(source, lineno, _check_trade, fields, columns, last, layout.unit)
                if checked is None:  # a blank line or a skipped row
                    continue
                time, price, size, aggressor, trade_id = checked
            last = time
            ts = time * scale
            append(_new_tuple(TradeTick, (iid, price, size, aggressor, trade_id, ts, ts)))
    except READ_ERRORS as exc:
        raise source.error(lineno + 1, Problem.UNREADABLE, f"could not be read ({exc})") from None
    return last


def _kline_rows(source: Source, layout: Layout) -> Iterator[Bar]:
    # No cache here: bar prices repeat far less than trade prices, and five inline Decimal()
    # calls with one chained comparison beat five dictionary misses (bench/historical_csv.py).
    iid, stats = source.instrument_id, source.stats
    scale = layout.unit.scale
    low, end = layout.unit.bounds
    last = low  # the previous bar's close: the earliest the next one may open
    columns = len(KLINE_COLUMNS)
    zero, limit, max_text = ZERO, MAX_MAGNITUDE, MAX_TEXT
    previous_close_text, previous_close = "", ZERO
    events = 0
    lineno = 0
    try:
        for lineno, line in layout.lines:
            fields = line.split(",")
            try:
                # The domain's fast-path rules for five fields at once: no exponent anywhere in
                # the line (Binance never writes one), at most MAX_TEXT characters a field.
                if len(fields) != columns or "e" in line or "E" in line:
                    raise _Slow
                open_time = int(fields[0])
                close_time = int(fields[6])
                if not last <= open_time <= close_time < end:
                    raise _Slow
                o, h, lo, c, v = fields[1], fields[2], fields[3], fields[4], fields[5]
                if len(o) > max_text or len(h) > max_text or len(lo) > max_text or len(c) > max_text:
                    raise _Slow
                if len(v) > max_text:
                    raise _Slow
                # A bar usually opens at the previous close: reuse that Decimal (~150 ns).
                open_ = previous_close if o == previous_close_text else Decimal(o)
                high, low_, close, volume = Decimal(h), Decimal(lo), Decimal(c), Decimal(v)
                # Positive, finite and bounded prices with low <= open, close <= high, and a
                # volume in [0, limit): what Bar.create asks. NaN raises InvalidOperation here.
                if not (
                    zero < low_ <= open_ <= high < limit and low_ <= close <= high and zero <= volume < limit
                ):
                    raise _Slow
            except (*_FAST_PATH_MISS, _Slow):
                checked = _careful(source, lineno, _check_kline, fields, last, layout.unit)
                if checked is None:  # a blank line or a skipped row
                    continue
                open_time, close_time, open_, high, low_, close, volume = checked
            last = close_time + 1
            ts = last * scale
            previous_close_text, previous_close = fields[4], close
            yield _new_tuple(Bar, (iid, open_, high, low_, close, volume, (last - open_time) * scale, ts, ts))
            events += 1
    except READ_ERRORS as exc:
        raise source.error(lineno + 1, Problem.UNREADABLE, f"could not be read ({exc})") from None
    finally:
        stats.events += events


# --- the careful path: same rules, one field at a time, precise errors ---------------------------


def _check_trade(
    fields: list[str], columns: int, last: int, unit: TimeUnit
) -> tuple[int, Decimal, Decimal, AggressorSide, str] | None:
    if len(fields) == 1 and not fields[0].strip():
        return None
    if len(fields) != columns:
        raise RowError(Problem.COLUMN_COUNT, column_detail(DataKind.TRADES, len(fields), columns))
    trade_id = fields[0]
    if not trade_id:
        raise RowError(Problem.BAD_ID, "id is empty")
    time = _timestamp(fields[4], "time", unit)
    if time < last:
        raise RowError(Problem.UNSORTED, f"time {time} is before the previous trade's {last}")
    price = _decimal(fields[1], "price", positive)
    size = _decimal(fields[2], "qty", positive)
    aggressor = _AGGRESSOR.get(fields[5])
    if aggressor is None:
        raise RowError(Problem.BAD_FLAG, f"is_buyer_maker must be true or false (was {fields[5].strip()!r})")
    return time, price, size, aggressor, trade_id


def _check_kline(
    fields: list[str], last: int, unit: TimeUnit
) -> tuple[int, int, Decimal, Decimal, Decimal, Decimal, Decimal] | None:
    if len(fields) == 1 and not fields[0].strip():
        return None
    if len(fields) != len(KLINE_COLUMNS):
        raise RowError(Problem.COLUMN_COUNT, column_detail(DataKind.KLINES, len(fields), len(KLINE_COLUMNS)))
    open_time = _timestamp(fields[0], "open_time", unit)
    close_time = _timestamp(fields[6], "close_time", unit)
    if close_time < open_time:
        raise RowError(Problem.BAD_INTERVAL, f"close_time {close_time} is before open_time {open_time}")
    if open_time < last:
        raise RowError(Problem.UNSORTED, f"open_time {open_time} is before the previous bar's close {last}")
    open_ = _decimal(fields[1], "open", positive)
    high = _decimal(fields[2], "high", positive)
    low = _decimal(fields[3], "low", positive)
    close = _decimal(fields[4], "close", positive)
    volume = _decimal(fields[5], "volume", non_negative)
    if low > min(open_, close) or high < max(open_, close):
        raise RowError(
            Problem.BAD_OHLC, f"high {high} and low {low} do not bound open {open_} and close {close}"
        )
    return open_time, close_time, open_, high, low, close, volume


def _timestamp(text: str, field: str, unit: TimeUnit) -> int:
    try:
        value = int(text)
    except ValueError:
        raise RowError(Problem.BAD_TIMESTAMP, f"{field} must be an integer (was {text.strip()!r})") from None
    low, end = unit.bounds
    if not low <= value < end:
        raise RowError(
            Problem.BAD_TIMESTAMP,
            f"{field} {value} is not in {unit.name.lower()} like the rest of the file "
            f"(expected {low} <= {field} < {end})",
        )
    return value


def _decimal(text: str, field: str, check: Callable[[object, str], Decimal]) -> Decimal:
    try:
        return check(text, field)
    except InvalidValue as exc:
        raise RowError(_number_problem(text), str(exc)) from None


def _number_problem(text: str) -> Problem:
    try:
        value = Decimal(text)
        return Problem.NOT_POSITIVE if value.is_finite() and value <= 0 else Problem.BAD_NUMBER
    except InvalidOperation:
        return Problem.BAD_NUMBER
