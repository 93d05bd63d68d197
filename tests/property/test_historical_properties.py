"""Properties of the Binance reader: exact decimals, agreement with the domain's validated
constructors, and a merged stream that is ordered, stable and complete."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from adapters.historical import ReadStats, read_klines, read_merged, read_trades
from domain.identifiers import InstrumentId
from domain.market_data import Bar, TradeTick
from domain.values import AggressorSide
from tests.unit.adapters.historical.files import MINUTE, MS, T0, kline, spot_trade, write

BTC = InstrumentId("BTCUSDT.BINANCE")


@st.composite
def binance_decimals(draw: st.DrawFn, *, allow_zero: bool = False) -> str:
    """Plain-notation decimal text as Binance writes it: no sign, no exponent, trailing zeros
    kept (``42000.01000000``), integer part without leading zeros, up to 18 places."""
    whole = draw(st.integers(0, 10**15))
    places = draw(st.integers(0, 18))
    fraction = draw(st.integers(0, 10**places - 1)) if places else 0
    text = f"{whole}.{fraction:0{places}d}" if places else str(whole)
    if not allow_zero and Decimal(text) == 0:
        text = f"{whole}.{'0' * places}1" if places else "1"
    return text


@given(
    rows=st.lists(st.tuples(binance_decimals(), binance_decimals(), st.booleans()), min_size=1, max_size=20)
)
def test_any_trade_decimal_round_trips_exactly_and_matches_trade_tick_create(
    rows: list[tuple[str, str, bool]],
) -> None:
    lines = [
        spot_trade(i, price, qty, T0 + i, "True" if maker else "False")
        for i, (price, qty, maker) in enumerate(rows)
    ]
    with tempfile.TemporaryDirectory() as folder:
        ticks = list(read_trades(write(Path(folder) / "t.csv.gz", lines), BTC))

    assert [(format(t.price, "f"), format(t.size, "f")) for t in ticks] == [
        (price, qty) for price, qty, _ in rows
    ]
    assert ticks == [
        TradeTick.create(
            instrument_id=BTC,
            price=price,
            size=qty,
            aggressor=AggressorSide.SELLER if maker else AggressorSide.BUYER,
            trade_id=str(i),
            ts_event=(T0 + i) * MS,
            ts_init=(T0 + i) * MS,
        )
        for i, (price, qty, maker) in enumerate(rows)
    ]


@given(
    bars=st.lists(
        st.tuples(st.lists(binance_decimals(), min_size=4, max_size=4), binance_decimals(allow_zero=True)),
        min_size=1,
        max_size=20,
    )
)
def test_any_kline_round_trips_exactly_and_matches_bar_create(bars: list[tuple[list[str], str]]) -> None:
    rows = []
    for prices, volume in bars:
        low, first, second, high = sorted(prices, key=Decimal)  # a consistent bar
        rows.append((first, high, low, second, volume))
    lines = [kline(T0 + i * MINUTE, ",".join(row[:4]), row[4]) for i, row in enumerate(rows)]
    with tempfile.TemporaryDirectory() as folder:
        read = list(read_klines(write(Path(folder) / "k.csv", lines), BTC))

    assert [tuple(format(v, "f") for v in (b.open, b.high, b.low, b.close, b.volume)) for b in read] == rows
    assert read == [
        Bar.create(
            instrument_id=BTC,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=v,
            interval_ns=MINUTE * MS,
            ts_event=(T0 + (i + 1) * MINUTE) * MS,
            ts_init=(T0 + (i + 1) * MINUTE) * MS,
        )
        for i, (o, h, lo, c, v) in enumerate(rows)
    ]


@given(
    files=st.lists(
        st.tuples(st.lists(st.integers(0, 3), min_size=1, max_size=25), st.booleans()),
        min_size=1,
        max_size=4,
    )
)
def test_the_merged_stream_is_every_row_ordered_by_time_then_file_then_line(
    files: list[tuple[list[int], bool]],
) -> None:
    """Each file: steps between its trade times (0 makes ties) and whether it is in µs."""
    expected = []
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, (steps, micros) in enumerate(files):
            lines, time = [], T0
            for position, step in enumerate(steps):
                time += step
                trade_id = index * 1000 + position
                lines.append(spot_trade(trade_id, "1", "1", time * 1000 if micros else time))
                expected.append((time * MS, index, position, str(trade_id)))
            paths.append(write(Path(folder) / f"BTCUSDT-trades-2024-0{index + 1}.csv", lines))
        stats: list[ReadStats] = []

        merged = list(read_merged(paths, stats=stats))

    assert [(e.ts_event, e.trade_id) for e in merged if isinstance(e, TradeTick)] == [
        (ts, trade_id) for ts, _, _, trade_id in sorted(expected)
    ]
    assert sum(s.events for s in stats) == len(expected)
