"""The block reader of trades agrees with the line-by-line reader, row for row: the same events,
the same error (file, line, reason, detail) and the same skip counts, for files mixing valid
rows with every kind of bad one, blocks of any size, with or without a header."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.historical import HistoricalDataError, ReadStats, read_trades, trade_blocks
from adapters.historical.binance_csv import _trade_lines
from adapters.historical.layout import DataKind, Source, open_layout
from domain.market_data import TradeTick
from tests.unit.adapters.historical.files import MS, T0, TRADES_HEADER

_PRICES = ("42000.01000000", "42000.02000000", "0.00000001", "7", "1_0", " 3.5", "1e2")
_BAD_NUMBERS = ("abc", "0", "-1", "NaN", "Infinity", "", "1" * 41, "1e999", "0.0")
_FLAGS = ("True", "False", "true", "false", "TRUE", "FALSE")


@st.composite
def _rows(draw: st.DrawFn, columns: int) -> list[str]:
    """Rows of a trades file: mostly valid, with blank lines and every kind of bad field."""
    rows, time = [], T0
    for index in range(draw(st.integers(1, 60))):
        time += draw(st.sampled_from((0, 0, 1, 5, -3)))
        fields = [
            str(index + 1),
            draw(st.sampled_from(_PRICES)),
            draw(st.sampled_from(_PRICES)),
            "0.1",
            str(time),
            draw(st.sampled_from(_FLAGS)),
            "True",
        ][:columns]
        fault = draw(st.integers(0, 12))
        if fault == 1:
            fields[draw(st.sampled_from((1, 2)))] = draw(st.sampled_from(_BAD_NUMBERS))
        elif fault == 2:
            fields[0] = ""
        elif fault == 3:
            fields[4] = draw(st.sampled_from(("x", "1.5", str(T0 * 1000), "-1")))
        elif fault == 4:
            fields[5] = draw(st.sampled_from(("maybe", "1", "")))
        elif fault == 5:
            fields = fields[: draw(st.integers(1, columns - 1))] if draw(st.booleans()) else [*fields, "x"]
        elif fault == 6:
            fields = [draw(st.sampled_from(("", " ", "\t")))]
        rows.append(",".join(fields))
    return rows


def _events(read: Iterator[TradeTick]) -> tuple[list[TradeTick], tuple[object, ...] | None]:
    events: list[TradeTick] = []
    try:
        for event in read:
            events.append(event)
    except HistoricalDataError as error:
        return events, (error.path, error.line, error.reason, error.detail)
    return events, None


def _line_by_line(path: Path, skip: bool, stats: ReadStats) -> Iterator[TradeTick]:
    """The reference: every row through the careful line-by-line loop."""
    source = Source.of(path, "BTCUSDT.BINANCE", "BINANCE", DataKind.TRADES, None, skip=skip, stats=stats)
    with open_layout(source) as layout:
        out: list[TradeTick] = []
        try:
            _trade_lines(source, layout, layout.lines, layout.unit.bounds[0], out)
        finally:
            stats.events += len(out)
            yield from out


def _stats(stats: ReadStats) -> tuple[object, ...]:
    return (stats.events, dict(stats.skipped), [str(e) for e in stats.examples], stats.kind, stats.time_unit)


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    columns=st.sampled_from((6, 7)),
    header=st.booleans(),
    final_newline=st.booleans(),
    skip=st.booleans(),
    block=st.integers(1, 400),
)
def test_blocks_give_the_events_errors_and_counts_of_the_line_by_line_reader(
    data: st.DataObject, *, columns: int, header: bool, final_newline: bool, skip: bool, block: int
) -> None:
    rows = data.draw(_rows(columns))
    text = "\n".join(([TRADES_HEADER] if header and columns == 6 else []) + rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_text(text + ("\n" if final_newline else ""), newline="")
        with patch.object(trade_blocks, "BLOCK_CHARS", block):
            new_stats, old_stats = ReadStats(), ReadStats()
            new = _events(read_trades(path, "BTCUSDT.BINANCE", skip_bad_rows=skip, stats=new_stats))
            old = _events(_line_by_line(path, skip, old_stats))

    assert new == old
    assert _stats(new_stats) == _stats(old_stats)


def test_a_valid_file_read_in_small_blocks_is_every_row_exactly() -> None:
    rows = [f"{i},4200{i % 7}.{i:08d},0.{i:08d},0,{T0 + i // 3},{_FLAGS[i % 2]},True" for i in range(1, 2001)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_text("\n".join(rows) + "\n")
        with patch.object(trade_blocks, "BLOCK_CHARS", 1000):
            ticks = list(read_trades(path, "BTCUSDT.BINANCE"))

    assert [(t.trade_id, format(t.price, "f"), format(t.size, "f"), t.ts_event) for t in ticks] == [
        (str(i), f"4200{i % 7}.{i:08d}", f"0.{i:08d}", (T0 + i // 3) * MS) for i in range(1, 2001)
    ]
