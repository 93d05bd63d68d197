"""Bad Binance files and rows: a strict read names the file, the line and the reason; a
skipping read leaves the row out and counts it."""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from adapters.historical import (
    HistoricalDataError,
    Problem,
    ReadStats,
    read_binance_csv,
    read_klines,
    read_trades,
)
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from tests.unit.adapters.historical.files import (
    KLINES_HEADER,
    MINUTE,
    T0,
    T0_US,
    TRADES_HEADER,
    kline,
    spot_trade,
    write,
)

BTC = InstrumentId("BTCUSDT.BINANCE")
GOOD_TRADES = [spot_trade(1, "100.0", "1.0", T0), spot_trade(2, "100.5", "0.5", T0 + 1)]
GOOD_KLINES = [kline(T0, "10,12,9,11"), kline(T0 + MINUTE, "11,11,10,10")]
NEXT_BAR = T0 + 2 * MINUTE

BAD_TRADE_ROWS = [
    pytest.param("3,100.0,1.0,0,1704067200002", Problem.COLUMN_COUNT, id="5 columns"),
    pytest.param("3,100.0,1.0,0,1704067200002,True,True,x", Problem.COLUMN_COUNT, id="8 columns"),
    pytest.param(",100.0,1.0,0,1704067200002,True,True", Problem.BAD_ID, id="empty id"),
    pytest.param("3,100.0,1.0,0,soon,True,True", Problem.BAD_TIMESTAMP, id="time not an integer"),
    pytest.param("3,100.0,1.0,0,1704067200002.5,True,True", Problem.BAD_TIMESTAMP, id="fractional time"),
    pytest.param("3,100.0,1.0,0,1704067200002000,True,True", Problem.BAD_TIMESTAMP, id="µs in a ms file"),
    pytest.param("3,100.0,1.0,0,-1,True,True", Problem.BAD_TIMESTAMP, id="negative time"),
    pytest.param("3,100.0,1.0,0,1704067200000,True,True", Problem.UNSORTED, id="time goes back"),
    pytest.param("3,abc,1.0,0,1704067200002,True,True", Problem.BAD_NUMBER, id="price not a number"),
    pytest.param("3,,1.0,0,1704067200002,True,True", Problem.BAD_NUMBER, id="price empty"),
    pytest.param("3,NaN,1.0,0,1704067200002,True,True", Problem.BAD_NUMBER, id="price NaN"),
    pytest.param("3,sNaN,1.0,0,1704067200002,True,True", Problem.BAD_NUMBER, id="price sNaN"),
    pytest.param("3,inf,1.0,0,1704067200002,True,True", Problem.BAD_NUMBER, id="price inf"),
    pytest.param("3,-Infinity,1.0,0,1704067200002,True,True", Problem.BAD_NUMBER, id="price -Infinity"),
    pytest.param("3,1e-50,1.0,0,1704067200002,True,True", Problem.BAD_NUMBER, id="price too fine"),
    pytest.param("3,1e30,1.0,0,1704067200002,True,True", Problem.BAD_NUMBER, id="price too large"),
    pytest.param(f"3,{'1' * 41},1.0,0,1704067200002,True,True", Problem.BAD_NUMBER, id="price too long"),
    pytest.param("3,0,1.0,0,1704067200002,True,True", Problem.NOT_POSITIVE, id="price zero"),
    pytest.param("3,-100.0,1.0,0,1704067200002,True,True", Problem.NOT_POSITIVE, id="price negative"),
    pytest.param("3,100.0,0.00000000,0,1704067200002,True,True", Problem.NOT_POSITIVE, id="qty zero"),
    pytest.param("3,100.0,-1,0,1704067200002,True,True", Problem.NOT_POSITIVE, id="qty negative"),
    pytest.param("3,100.0,1.0,0,1704067200002,yes,True", Problem.BAD_FLAG, id="flag not a boolean"),
]

BAD_KLINE_ROWS = [
    pytest.param("1704067320000,10,12,9,11", Problem.COLUMN_COUNT, id="5 columns"),
    pytest.param(kline(NEXT_BAR, "10,9,11,10"), Problem.BAD_OHLC, id="high below low"),
    pytest.param(kline(NEXT_BAR, "13,12,9,11"), Problem.BAD_OHLC, id="open above high"),
    pytest.param(kline(NEXT_BAR, "10,12,9,8"), Problem.BAD_OHLC, id="close below low"),
    pytest.param(kline(NEXT_BAR, "10,12,10.5,11"), Problem.BAD_OHLC, id="low above open"),
    pytest.param(kline(NEXT_BAR, "0,12,9,11"), Problem.NOT_POSITIVE, id="open zero"),
    pytest.param(kline(NEXT_BAR, "10,12,-9,11"), Problem.NOT_POSITIVE, id="low negative"),
    pytest.param(kline(NEXT_BAR, "10,NaN,9,11"), Problem.BAD_NUMBER, id="high NaN"),
    pytest.param(kline(NEXT_BAR, "10,Infinity,9,11"), Problem.BAD_NUMBER, id="high infinite"),
    pytest.param(kline(NEXT_BAR, "10,12,9,11", "-1"), Problem.NOT_POSITIVE, id="volume negative"),
    pytest.param(kline(NEXT_BAR, "10,12,9,11", "lots"), Problem.BAD_NUMBER, id="volume not a number"),
    pytest.param(kline(NEXT_BAR, "10,12,9,11", length=-5), Problem.BAD_INTERVAL, id="closes before open"),
    pytest.param(kline(T0 + MINUTE, "10,12,9,11"), Problem.UNSORTED, id="same bar again"),
    pytest.param(kline(T0 + MINUTE + 1, "10,12,9,11"), Problem.UNSORTED, id="overlaps"),
    pytest.param(kline(T0, "10,12,9,11"), Problem.UNSORTED, id="goes back"),
    pytest.param(
        "1704067320000,10,12,9,11,1,soon,0,1,0,0,0", Problem.BAD_TIMESTAMP, id="close_time not an integer"
    ),
]


def _raised(events: Iterable[object]) -> HistoricalDataError:
    with pytest.raises(HistoricalDataError) as caught:
        list(events)
    return caught.value


@pytest.mark.parametrize(("row", "reason"), BAD_TRADE_ROWS)
@pytest.mark.parametrize("header", [False, True])
def test_a_bad_trade_row_is_refused_naming_file_line_and_reason(
    tmp_path: Path, row: str, reason: Problem, header: bool
) -> None:
    rows = [*GOOD_TRADES, row, spot_trade(4, "1", "1", T0 + 9)]
    if header:  # a futures file: a header and no is_best_match column
        rows = [TRADES_HEADER] + [r.rsplit(",", 1)[0] if r.count(",") == 6 else r for r in rows]
    path = write(tmp_path / "BTCUSDT-trades-2024-01.csv", rows)

    error = _raised(read_trades(path, BTC))

    line = 4 if header else 3
    assert (error.path, error.line, error.reason) == (path, line, reason)
    assert f"BTCUSDT-trades-2024-01.csv, line {line}: " in str(error)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(("row", "reason"), BAD_KLINE_ROWS)
def test_a_bad_kline_row_is_refused_naming_file_line_and_reason(
    tmp_path: Path, row: str, reason: Problem
) -> None:
    path = write(tmp_path / "BTCUSDT-1m-2024-01.csv.gz", [KLINES_HEADER, *GOOD_KLINES, row])

    error = _raised(read_klines(path, BTC))

    assert (error.path, error.line, error.reason) == (path, 4, reason)


@pytest.mark.parametrize(("row", "reason"), BAD_KLINE_ROWS)
def test_skip_mode_leaves_a_bad_kline_out_and_counts_it(tmp_path: Path, row: str, reason: Problem) -> None:
    path = write(tmp_path / "k.csv", [*GOOD_KLINES, row, kline(NEXT_BAR + MINUTE, "10,10,10,10")])
    stats = ReadStats()

    bars = list(read_klines(path, BTC, skip_bad_rows=True, stats=stats))

    assert len(bars) == 3
    assert stats.events == 3
    assert stats.skipped == {reason: 1}
    assert [(e.line, e.reason) for e in stats.examples] == [(3, reason)]


def test_the_error_detail_names_the_offending_value(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", [*GOOD_TRADES, "3,0,1.0,0,1704067200002,True,True"])

    error = _raised(read_trades(path, BTC))

    assert error.detail == "price must be greater than zero (was '0')"


def test_skip_mode_counts_every_bad_row_per_reason_and_keeps_the_good_ones(tmp_path: Path) -> None:
    rows = [
        spot_trade(1, "100", "1", T0 + 10),
        spot_trade(2, "0", "1", T0 + 11),  # zero price
        spot_trade(3, "100", "1", T0 + 5),  # earlier than trade 1: out of order
        spot_trade(4, "NaN", "1", T0 + 12),
        spot_trade(5, "100", "1", T0 + 10),  # same time as trade 1: fine
        "6,100,1",  # truncated
        spot_trade(7, "100", "-2", T0 + 13),
        spot_trade(8, "101", "1", T0 + 6),  # still earlier than trade 5: out of order
        spot_trade(9, "101", "1", T0 + 14),
    ]
    path = write(tmp_path / "t.csv", rows)
    stats = ReadStats()

    ticks = list(read_trades(path, BTC, skip_bad_rows=True, stats=stats))

    assert [t.trade_id for t in ticks] == ["1", "5", "9"]
    assert stats.events == 3
    assert stats.skipped == {
        Problem.NOT_POSITIVE: 2,
        Problem.UNSORTED: 2,
        Problem.BAD_NUMBER: 1,
        Problem.COLUMN_COUNT: 1,
    }
    assert stats.skipped_total == 6
    assert [e.line for e in stats.examples] == [2, 3, 4, 6, 7, 8]


def test_skip_mode_looks_past_bad_first_rows_to_detect_the_layout(tmp_path: Path) -> None:
    rows = ["1,x,y,z,w", "1,2,3", spot_trade(1, "100", "1", T0_US), spot_trade(2, "100", "1", T0_US + 1)]
    path = write(tmp_path / "t.csv", rows)
    stats = ReadStats()

    ticks = list(read_binance_csv(path, BTC, skip_bad_rows=True, stats=stats))

    assert [t.trade_id for t in ticks if isinstance(t, TradeTick)] == ["1", "2"]
    assert (stats.kind, stats.time_unit) == ("trades", "us")
    assert stats.skipped == {Problem.COLUMN_COUNT: 2}


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        pytest.param("1,2,3,4,5", Problem.UNKNOWN_KIND, id="5 columns"),
        pytest.param(spot_trade(1, "1", "1", 10**17), Problem.BAD_TIMESTAMP, id="nanoseconds"),
        pytest.param(spot_trade(1, "1", "1", -1), Problem.BAD_TIMESTAMP, id="negative time"),
    ],
)
def test_strict_mode_refuses_a_first_row_that_shows_no_layout(
    tmp_path: Path, first: str, reason: Problem
) -> None:
    path = write(tmp_path / "t.csv", [first, *GOOD_TRADES])

    error = _raised(read_binance_csv(path, BTC))

    assert (error.line, error.reason) == (1, reason)


@pytest.mark.parametrize(
    ("rows", "reason", "line"),
    [
        pytest.param([], Problem.EMPTY_FILE, None, id="empty"),
        pytest.param(["", "  "], Problem.EMPTY_FILE, None, id="blank lines only"),
        pytest.param([TRADES_HEADER], Problem.EMPTY_FILE, None, id="header only"),
        pytest.param(
            ["agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"],
            Problem.BAD_HEADER,
            1,
            id="aggTrades header",
        ),
        pytest.param(["", "time,price", "1,2"], Problem.BAD_HEADER, 2, id="unknown header"),
    ],
)
@pytest.mark.parametrize("skip", [False, True])
def test_a_bad_file_is_refused_even_in_skip_mode(
    tmp_path: Path, rows: list[str], reason: Problem, line: int | None, skip: bool
) -> None:
    path = write(tmp_path / "f.csv", rows)

    error = _raised(read_binance_csv(path, BTC, skip_bad_rows=skip))

    assert (error.path, error.line, error.reason) == (path, line, reason)


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        pytest.param(["1,2,3,4,5", "1,2,3,4,6"], Problem.UNKNOWN_KIND, id="5 columns"),
        pytest.param([spot_trade(1, "1", "1", 10**17)], Problem.BAD_TIMESTAMP, id="nanoseconds"),
    ],
)
def test_a_file_without_one_row_that_shows_its_layout_is_refused_in_skip_mode(
    tmp_path: Path, rows: list[str], reason: Problem
) -> None:
    path = write(tmp_path / "f.csv", rows)

    error = _raised(read_binance_csv(path, BTC, skip_bad_rows=True))

    assert (error.line, error.reason) == (None, reason)
    assert "has no usable row" in error.detail


def test_a_zip_with_two_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", GOOD_TRADES[0])
        archive.writestr("b.csv", GOOD_TRADES[1])

    error = _raised(read_trades(path, BTC))

    assert error.reason is Problem.UNREADABLE
    assert "a.csv, b.csv" in error.detail


def test_a_corrupt_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.zip"
    path.write_bytes(b"PK\x03\x04 this is not a zip")

    assert _raised(read_trades(path, BTC)).reason is Problem.UNREADABLE


def test_a_truncated_gzip_is_refused_with_the_line_it_reached(tmp_path: Path) -> None:
    rows = [spot_trade(i, "100", "1", T0 + i) for i in range(1, 20_001)]
    data = gzip.compress("".join(r + "\n" for r in rows).encode())
    path = tmp_path / "t.csv.gz"
    path.write_bytes(data[: len(data) // 2])

    error = _raised(read_trades(path, BTC))

    assert error.reason is Problem.UNREADABLE
    assert error.line is not None
    assert error.line > 1


def test_bytes_that_are_not_text_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xff\xfe\x00garbage\n")

    assert _raised(read_trades(path, BTC)).reason is Problem.UNREADABLE
