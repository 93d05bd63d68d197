"""Merging historical files into one time-ordered stream: order, ties, instruments, stats."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.historical import (
    HistoricalDataError,
    Problem,
    ReadStats,
    merge_events,
    read_merged,
    read_trades,
)
from domain.identifiers import InstrumentId
from domain.market_data import Bar, TradeTick
from tests.unit.adapters.historical.files import MINUTE, MS, T0, kline, spot_trade, write

BTC = InstrumentId("BTCUSDT.BINANCE")


def test_two_months_of_trades_come_out_in_time_order(tmp_path: Path) -> None:
    # Given in the wrong order on purpose: the merge, not the caller, orders them.
    february = write(tmp_path / "BTCUSDT-trades-2024-02.zip", [spot_trade(3, "1", "1", T0 + 100)])
    january = write(
        tmp_path / "BTCUSDT-trades-2024-01.zip",
        [spot_trade(1, "1", "1", T0), spot_trade(2, "1", "1", T0 + 50)],
    )

    merged = list(read_merged([february, january]))

    assert [e.trade_id for e in merged if isinstance(e, TradeTick)] == ["1", "2", "3"]


def test_two_instruments_interleave_by_time_and_ties_keep_the_order_of_the_files(tmp_path: Path) -> None:
    btc = write(
        tmp_path / "BTCUSDT-trades-2024-01.csv",
        [spot_trade(1, "1", "1", T0), spot_trade(2, "1", "1", T0 + 2), spot_trade(3, "1", "1", T0 + 2)],
    )
    eth = write(
        tmp_path / "ETHUSDT-trades-2024-01.csv",
        [spot_trade(1, "1", "1", T0 + 1), spot_trade(2, "1", "1", T0 + 2), spot_trade(3, "1", "1", T0 + 3)],
    )

    merged = [
        (e.instrument_id.symbol, e.trade_id) for e in read_merged([eth, btc]) if isinstance(e, TradeTick)
    ]

    assert merged == [
        ("BTCUSDT", "1"),
        ("ETHUSDT", "1"),
        ("ETHUSDT", "2"),  # the tie at T0 + 2: eth was given first
        ("BTCUSDT", "2"),
        ("BTCUSDT", "3"),
        ("ETHUSDT", "3"),
    ]


def test_bars_and_trades_merge_on_event_time_so_a_bar_comes_after_the_trades_inside_it(
    tmp_path: Path,
) -> None:
    bars = write(tmp_path / "BTCUSDT-1m-2024-01.csv", [kline(T0, "1,1,1,1")])
    trades = write(
        tmp_path / "BTCUSDT-trades-2024-01.csv",
        [
            spot_trade(1, "1", "1", T0),
            spot_trade(2, "1", "1", T0 + MINUTE - 1),
            spot_trade(3, "1", "1", T0 + MINUTE),
        ],
    )

    merged = list(read_merged([bars, trades]))

    assert [type(e).__name__ for e in merged] == ["TradeTick", "TradeTick", "Bar", "TradeTick"]
    assert isinstance(merged[2], Bar)
    assert merged[2].ts_event == (T0 + MINUTE) * MS


def test_read_merged_reports_one_stats_per_file_in_the_order_given(tmp_path: Path) -> None:
    good = write(tmp_path / "BTCUSDT-trades-2024-01.csv", [spot_trade(1, "1", "1", T0)])
    bad = write(
        tmp_path / "BTCUSDT-trades-2024-02.csv",
        [spot_trade(2, "0", "1", T0 + 1), spot_trade(3, "1", "1", T0 + 2)],
    )
    stats: list[ReadStats] = []

    merged = list(read_merged([good, bad], BTC, skip_bad_rows=True, stats=stats))

    assert len(merged) == 2
    assert [(s.path, s.events, dict(s.skipped)) for s in stats] == [
        (good, 1, {}),
        (bad, 1, {Problem.NOT_POSITIVE: 1}),
    ]


def test_a_bad_row_in_any_file_stops_a_strict_merge_naming_that_file(tmp_path: Path) -> None:
    good = write(tmp_path / "BTCUSDT-trades-2024-01.csv", [spot_trade(1, "1", "1", T0)])
    bad = write(tmp_path / "BTCUSDT-trades-2024-02.csv", [spot_trade(2, "1", "1", T0 + 1), "3,1"])

    with pytest.raises(HistoricalDataError) as caught:
        list(read_merged([good, bad]))

    assert (caught.value.path, caught.value.line) == (bad, 2)


def test_merge_events_takes_any_ordered_iterables(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", [spot_trade(1, "1", "1", T0), spot_trade(3, "1", "1", T0 + 3)])
    b = write(tmp_path / "b.csv", [spot_trade(2, "1", "1", T0 + 1)])

    merged = merge_events([read_trades(a, BTC), read_trades(b, BTC)])

    assert [t.trade_id for t in merged] == ["1", "2", "3"]
