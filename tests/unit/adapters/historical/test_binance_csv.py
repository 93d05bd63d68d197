"""Reading Binance dump files: layouts, headers, time units, containers, kinds and file names."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.historical import (
    BinanceFileName,
    DataKind,
    HistoricalDataError,
    Problem,
    ReadStats,
    TimeUnit,
    instrument_id_from_file_name,
    parse_binance_file_name,
    read_binance_csv,
    read_klines,
    read_trades,
    time_unit_of,
)
from domain.identifiers import InstrumentId
from domain.market_data import Bar, TradeTick
from domain.values import AggressorSide
from tests.unit.adapters.historical.files import (
    KLINES_HEADER,
    MINUTE,
    MS,
    T0,
    T0_US,
    TRADES_HEADER,
    kline,
    spot_trade,
    write,
)

BTC = InstrumentId("BTCUSDT.BINANCE")

SPOT_TRADES = [
    spot_trade(101, "42000.01000000", "0.00150000", T0, maker="True"),
    spot_trade(102, "42000.02000000", "1.00000000", T0, maker="False"),
    spot_trade(103, "41999.99000000", "0.25000000", T0 + 7, maker="True"),
]
EXPECTED_TRADES = [
    TradeTick(
        BTC, Decimal("42000.01000000"), Decimal("0.00150000"), AggressorSide.SELLER, "101", T0 * MS, T0 * MS
    ),
    TradeTick(
        BTC, Decimal("42000.02000000"), Decimal("1.00000000"), AggressorSide.BUYER, "102", T0 * MS, T0 * MS
    ),
    TradeTick(
        BTC,
        Decimal("41999.99000000"),
        Decimal("0.25000000"),
        AggressorSide.SELLER,
        "103",
        (T0 + 7) * MS,
        (T0 + 7) * MS,
    ),
]
KLINES = [
    kline(T0, "100.00,101.50,99.50,101.00", "12.5"),
    kline(T0 + MINUTE, "101.00,101.00,100.00,100.25", "0"),
]
EXPECTED_BARS = [
    Bar(
        BTC,
        Decimal("100.00"),
        Decimal("101.50"),
        Decimal("99.50"),
        Decimal("101.00"),
        Decimal("12.5"),
        MINUTE * MS,
        (T0 + MINUTE) * MS,
        (T0 + MINUTE) * MS,
    ),
    Bar(
        BTC,
        Decimal("101.00"),
        Decimal("101.00"),
        Decimal("100.00"),
        Decimal("100.25"),
        Decimal("0"),
        MINUTE * MS,
        (T0 + 2 * MINUTE) * MS,
        (T0 + 2 * MINUTE) * MS,
    ),
]


def test_spot_trades_without_header_become_trade_ticks_with_the_sellers_aggression_for_buyer_maker(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "trades.csv", SPOT_TRADES)
    stats = ReadStats()

    ticks = list(read_binance_csv(path, BTC, stats=stats))

    assert ticks == EXPECTED_TRADES
    assert (stats.path, stats.kind, stats.time_unit, stats.events) == (path, "trades", "ms", 3)
    assert stats.skipped_total == 0


def test_futures_trades_with_a_header_and_six_columns_read_the_same(tmp_path: Path) -> None:
    rows = [TRADES_HEADER] + [row.rsplit(",", 1)[0].lower() for row in SPOT_TRADES]
    path = write(tmp_path / "trades.csv", rows)

    assert list(read_binance_csv(path, BTC)) == EXPECTED_TRADES


def test_the_decimals_keep_the_text_as_written(tmp_path: Path) -> None:
    path = write(tmp_path / "trades.csv", SPOT_TRADES)

    tick = next(read_trades(path, BTC))

    assert str(tick.price) == "42000.01000000"
    assert str(tick.size) == "0.00150000"


@pytest.mark.parametrize("header", [False, True])
def test_klines_with_or_without_header_become_bars_that_close_at_close_time_plus_one(
    tmp_path: Path, header: bool
) -> None:
    path = write(tmp_path / "klines.csv", ([KLINES_HEADER] if header else []) + KLINES)
    stats = ReadStats()

    bars = list(read_binance_csv(path, BTC, stats=stats))

    assert bars == EXPECTED_BARS
    assert (stats.kind, stats.events) == ("klines", 2)


def test_a_monthly_kline_gets_the_true_length_of_its_month(tmp_path: Path) -> None:
    january = 31 * 24 * 60 * MINUTE
    path = write(tmp_path / "k.csv", [kline(T0, "1,2,1,2", length=january)])

    (bar,) = read_klines(path, BTC)

    assert bar.interval_ns == january * MS
    assert bar.ts_event == (T0 + january) * MS  # 2024-02-01T00:00:00Z


def test_microsecond_files_are_detected_and_converted_to_nanoseconds(tmp_path: Path) -> None:
    trades = write(tmp_path / "t.csv", [spot_trade(1, "1.5", "2", T0_US + 3)])
    klines = write(tmp_path / "k.csv", [kline(T0_US, "1,2,1,2", length=MINUTE * 1000)])
    stats = ReadStats()

    (tick,) = read_trades(trades, BTC, stats=stats)
    (bar,) = read_klines(klines, BTC)

    assert stats.time_unit == TimeUnit.MICROSECONDS
    assert tick.ts_event == tick.ts_init == (T0_US + 3) * 1000
    assert bar.interval_ns == MINUTE * MS
    assert bar.ts_event == (T0 + MINUTE) * MS


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (0, TimeUnit.MILLISECONDS),
        (T0, TimeUnit.MILLISECONDS),
        (10**14 - 1, TimeUnit.MILLISECONDS),
        (10**14, TimeUnit.MICROSECONDS),
        (T0_US, TimeUnit.MICROSECONDS),
        (10**17 - 1, TimeUnit.MICROSECONDS),
        (10**17, None),
        (T0 * MS, None),  # nanoseconds are not a Binance unit
        (-1, None),
    ],
)
def test_the_time_unit_is_told_by_magnitude(value: int, unit: TimeUnit | None) -> None:
    assert time_unit_of(value) is unit


def test_a_forced_time_unit_wins_over_detection(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", [spot_trade(1, "1", "1", 5_000)])

    (tick,) = read_trades(path, BTC, time_unit="ms")
    with pytest.raises(HistoricalDataError) as caught:
        list(read_trades(path, BTC, time_unit="us"))

    assert tick.ts_event == 5_000 * MS
    assert (caught.value.line, caught.value.reason) == (1, Problem.BAD_TIMESTAMP)


@pytest.mark.parametrize("name", ["BTCUSDT-trades-2024-01.csv.gz", "BTCUSDT-trades-2024-01.zip"])
def test_gzip_and_zip_files_read_like_plain_csv(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, SPOT_TRADES)

    assert list(read_trades(path, BTC)) == EXPECTED_TRADES


def test_the_container_is_told_by_content_not_by_name(tmp_path: Path) -> None:
    zipped = write(tmp_path / "BTCUSDT-1m-2024-01.zip", KLINES)
    renamed = zipped.rename(tmp_path / "klines.csv")

    assert list(read_klines(renamed, BTC)) == EXPECTED_BARS


def test_crlf_line_ends_and_blank_lines_are_harmless(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", ["", SPOT_TRADES[0], "", *SPOT_TRADES[1:], ""], newline="\r\n")

    assert list(read_trades(path, BTC)) == EXPECTED_TRADES


def test_trades_at_the_same_millisecond_are_all_kept_in_file_order(tmp_path: Path) -> None:
    rows = [spot_trade(i, "1", "1", T0) for i in range(1, 6)]
    path = write(tmp_path / "t.csv", rows)

    assert [tick.trade_id for tick in read_trades(path, BTC)] == ["1", "2", "3", "4", "5"]


def test_an_exponent_that_the_domain_accepts_is_accepted(tmp_path: Path) -> None:
    # Binance never writes one; the fast path hands it to the careful one, which agrees with the domain.
    path = write(tmp_path / "k.csv", [kline(T0, "1E+2,1.5E+2,100,150", "2.5e-3")])

    (bar,) = read_klines(path, BTC)

    assert (bar.open, bar.high, bar.volume) == (Decimal("1E+2"), Decimal("150"), Decimal("0.0025"))


@pytest.mark.parametrize(
    ("kind", "path_rows", "expected"),
    [
        (DataKind.TRADES, SPOT_TRADES, EXPECTED_TRADES),
        (DataKind.KLINES, KLINES, EXPECTED_BARS),
        ("klines", KLINES, EXPECTED_BARS),
    ],
)
def test_a_given_kind_reads_its_own_files(
    tmp_path: Path, kind: DataKind | str, path_rows: list[str], expected: list[object]
) -> None:
    path = write(tmp_path / "f.csv", path_rows)

    assert list(read_binance_csv(path, BTC, kind=kind)) == expected


def test_a_given_kind_refuses_the_other_kind(tmp_path: Path) -> None:
    headerless = write(tmp_path / "k.csv", KLINES)
    with_header = write(tmp_path / "kh.csv", [KLINES_HEADER, *KLINES])

    with pytest.raises(HistoricalDataError) as no_header:
        list(read_trades(headerless, BTC))
    with pytest.raises(HistoricalDataError) as header:
        list(read_trades(with_header, BTC))

    assert (no_header.value.line, no_header.value.reason) == (1, Problem.COLUMN_COUNT)
    assert (header.value.line, header.value.reason) == (1, Problem.BAD_HEADER)


def test_the_file_is_opened_only_when_iteration_starts(tmp_path: Path) -> None:
    events = read_trades(tmp_path / "missing.csv", BTC)

    with pytest.raises(HistoricalDataError, match=r"missing\.csv.*cannot be read") as missing:
        next(events)
    assert missing.value.reason is Problem.UNREADABLE
    with pytest.raises(HistoricalDataError, match="cannot be read"):
        next(read_trades(tmp_path, BTC))  # a directory


def test_a_bad_instrument_id_is_refused_at_the_call(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"SYMBOL\.VENUE"):
        read_trades(tmp_path / "x.csv", "btcusdt")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BTCUSDT-trades-2024-01.zip", BinanceFileName("BTCUSDT", "trades", "2024-01")),
        ("BTCUSDT-trades-2024-01-15.csv", BinanceFileName("BTCUSDT", "trades", "2024-01-15")),
        ("BTCUSDT-1m-2024-01.zip", BinanceFileName("BTCUSDT", "1m", "2024-01")),
        ("ETHBTC-1h-2023-12-31.csv.gz", BinanceFileName("ETHBTC", "1h", "2023-12-31")),
        ("1000SHIBUSDT-1mo-2024-01.zip", BinanceFileName("1000SHIBUSDT", "1mo", "2024-01")),
        ("BTCUSD_PERP-aggTrades-2024-01.zip", BinanceFileName("BTCUSD_PERP", "aggTrades", "2024-01")),
    ],
)
def test_binance_file_names_are_parsed(name: str, expected: BinanceFileName) -> None:
    assert parse_binance_file_name(Path("/data/spot/monthly") / name) == expected


def test_the_instrument_is_inferred_from_the_file_name_on_the_given_venue(tmp_path: Path) -> None:
    path = write(tmp_path / "ETHUSDT-1m-2024-01.zip", KLINES)

    (bar, _) = read_klines(path)

    assert bar.instrument_id == InstrumentId("ETHUSDT.BINANCE")
    assert instrument_id_from_file_name(path, venue="BINANCE_USDM") == "ETHUSDT.BINANCE_USDM"
    assert parse_binance_file_name(path).is_klines


@pytest.mark.parametrize("name", ["trades.csv", "BTCUSDT_trades_2024-01.zip", "BTCUSDT-trades-24-01.zip"])
def test_a_name_not_in_binance_layout_cannot_name_the_instrument(tmp_path: Path, name: str) -> None:
    with pytest.raises(HistoricalDataError) as caught:
        read_trades(tmp_path / name)

    assert caught.value.reason is Problem.BAD_FILE_NAME
    assert name in str(caught.value)


def test_a_file_resaved_with_a_byte_order_mark_still_has_its_header_recognised(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    rows = [TRADES_HEADER] + [row.rsplit(",", 1)[0] for row in SPOT_TRADES]
    path.write_bytes(b"\xef\xbb\xbf" + "".join(row + "\n" for row in rows).encode())

    assert list(read_trades(path, BTC)) == EXPECTED_TRADES
