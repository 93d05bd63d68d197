"""The backtest report: the PNG charts, the self-contained HTML page, result.json, the table."""

from __future__ import annotations

import base64
import json
import re
import struct
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from domain.orders import Fill
from domain.performance import DAY_NS, PerformanceReport, compute_performance
from domain.values import OrderSide
from entrypoints.backtest.charts import (
    BUCKETS,
    EQUITY_SIZE,
    PRICE_SIZE,
    downsample_extreme,
    downsample_last,
)
from entrypoints.backtest.formatting import format_duration, format_metrics_table, format_money
from entrypoints.backtest.report import write_report
from tests.builders import make_fill

D = Decimal
T0 = 19_675 * DAY_NS  # 2023-11-14T00:00:00Z
MINUTE = 60 * 10**9
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PARAMETERS = {"strategy": "sma_crossover", "fast": "10", "slow": "30"}


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which a PNG must start with."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class _Resources(HTMLParser):
    """Every tag's src and href, and the scripts' own src, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [value or "" for name, value in attrs if name in {"src", "href"}]


def assert_self_contained(page: str) -> None:
    """Nothing the page loads comes from elsewhere: every src/href is inline data or in-page."""
    parser = _Resources()
    parser.feed(page)
    assert "link" not in parser.tags
    assert [url for url in parser.urls if not url.startswith(("data:", "#"))] == []


def fills() -> list[Fill]:
    return [
        make_fill(
            side=OrderSide.BUY, quantity="1", price="100", fee="0.1", trade_id="T-1", ts_event=T0 + DAY_NS
        ),
        make_fill(
            side=OrderSide.SELL,
            quantity="2",
            price="110",
            fee="0.2",
            trade_id="T-2",
            ts_event=T0 + 3 * DAY_NS,
        ),
        make_fill(
            side=OrderSide.BUY, quantity="1", price="104", fee="0.1", trade_id="T-3", ts_event=T0 + 5 * DAY_NS
        ),
    ]


def prices() -> list[tuple[int, Decimal]]:
    return [(T0 + i * DAY_NS // 4, D(100) + D(i % 11)) for i in range(29)]


def equity() -> list[tuple[int, Decimal]]:
    values = ["1000", "1000", "1004.9", "1009.8", "1002", "1005.8", "1006", "1010", "1012.5"]
    return [(T0 + i * DAY_NS, D(v)) for i, v in enumerate(values)]


def metrics(points: list[tuple[int, Decimal]], fill_list: list[Fill]) -> PerformanceReport:
    return compute_performance(points, fill_list, starting_capital=D(1000))


def test_write_report_writes_four_files_of_the_documented_shape(tmp_path: Path) -> None:
    report = metrics(equity(), fills())
    files = write_report(
        tmp_path / "run-1",
        title="SMA crossover <BTCUSDT>",
        metrics=report,
        equity_curve=equity(),
        prices=prices(),
        parameters=PARAMETERS,
        fills=fills(),
        currency="USDT",
    )

    assert files.directory == tmp_path / "run-1"
    assert sorted(p.name for p in files.directory.iterdir()) == [
        "equity.png",
        "price.png",
        "report.html",
        "result.json",
    ]
    equity_png = files.equity_png.read_bytes()
    price_png = files.price_png.read_bytes()
    assert png_size(equity_png) == EQUITY_SIZE == (1200, 700)
    assert png_size(price_png) == PRICE_SIZE == (1200, 600)

    page = files.html.read_text(encoding="utf-8")
    # The images are inlined, byte for byte (price.png where scripts do not run), never linked.
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [base64.b64decode(data) for data in embedded] == [equity_png, price_png]
    assert "equity.png" not in page
    assert "price.png" not in page
    # Self-contained: plotly.js inlined, no stylesheet link, nothing fetched.
    assert_self_contained(page)
    assert re.search(r'Plotly\.newPlot\(\s*"price-chart"', page)
    # The title is escaped, the metrics, parameters and trades are there.
    assert "SMA crossover &lt;BTCUSDT&gt;" in page
    assert "<BTCUSDT>" not in page
    for label in (
        "Total return",
        "Sharpe ratio",
        "Sortino ratio",
        "Calmar ratio",
        "Max drawdown",
        "Win rate",
    ):
        assert f"<th>{label}</th>" in page
    assert "1.25 %" in page  # total return: 1012.5 / 1000 − 1
    assert f"{report.sharpe_ratio:,.2f}</td>" in page
    assert "<th>slow</th><td>30</td>" in page
    assert "Trades (2)" in page
    assert "2023-11-15 00:00:00" in page  # the first trade's entry

    result = json.loads(files.result_json.read_text(encoding="utf-8"))
    assert result["title"] == "SMA crossover <BTCUSDT>"
    assert result["parameters"] == PARAMETERS
    assert result["metrics"] == report.as_dict(trades=False)
    assert result["trades"] == [trade.as_dict() for trade in report.trades]
    assert result["metrics"]["total_return"] == "0.0125"


def test_a_report_with_no_trades_and_no_prices_still_renders(tmp_path: Path) -> None:
    points = [(T0, D(1000)), (T0 + DAY_NS, D(1000))]
    report = metrics(points, [])
    files = write_report(
        tmp_path, title="idle", metrics=report, equity_curve=points, prices=[], parameters={}
    )
    assert png_size(files.equity_png.read_bytes()) == EQUITY_SIZE
    assert png_size(files.price_png.read_bytes()) == PRICE_SIZE
    page = files.html.read_text(encoding="utf-8")
    assert "No closed trades." in page
    assert "No parameters." in page
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 2
    assert json.loads(files.result_json.read_text())["trades"] == []


def test_an_empty_run_renders(tmp_path: Path) -> None:
    report = compute_performance([], [], starting_capital=D(1000))
    files = write_report(tmp_path, title="empty", metrics=report, equity_curve=[], prices=[], parameters={})
    assert png_size(files.equity_png.read_bytes()) == EQUITY_SIZE


def test_trade_markers_come_from_the_trades_when_no_fills_are_given(tmp_path: Path) -> None:
    report = metrics(equity(), fills())
    files = write_report(
        tmp_path, title="t", metrics=report, equity_curve=equity(), prices=prices(), parameters=PARAMETERS
    )
    assert png_size(files.price_png.read_bytes()) == PRICE_SIZE


def test_a_year_of_minute_bars_renders(tmp_path: Path) -> None:
    # ~500k points, as a year of one-minute bars; downsampling keeps this well under a second.
    n = 500_000
    walk = 30_000 + np.cumsum(np.random.default_rng(7).normal(0, 5, n))
    series = [(T0 + i * MINUTE, D(f"{p:.2f}")) for i, p in enumerate(walk)]
    points = series[::10]
    report = compute_performance(points, [], starting_capital=points[0][1])
    files = write_report(
        tmp_path, title="long", metrics=report, equity_curve=points, prices=series, parameters={}
    )
    assert png_size(files.price_png.read_bytes()) == PRICE_SIZE
    assert report.periods == 348  # 500k minutes ≈ 347.2 days: 347 whole days and a partial one


def test_downsampling_bounds_the_points_and_keeps_the_extremes() -> None:
    times = np.arange(100_000, dtype=np.int64) * MINUTE
    values = np.sin(np.arange(100_000) / 500.0) * 100
    values[12_345] = 1_000.0  # a spike
    values[54_321] = -1_000.0
    out_times, out_values = downsample_extreme(times, values)
    assert len(out_values) <= 2 * BUCKETS
    assert out_values.max() == 1_000.0
    assert out_values.min() == -1_000.0
    assert np.all(np.diff(out_times) >= 0)
    last_times, last_values = downsample_last(times, values)
    assert len(last_values) <= BUCKETS
    assert (last_times[-1], last_values[-1]) == (times[-1], values[-1])
    _, max_values = downsample_extreme(times, values, keep="max")
    assert len(max_values) <= BUCKETS
    assert max_values.max() == 1_000.0
    # Short series are drawn as they are.
    short = np.arange(10, dtype=np.int64)
    assert downsample_extreme(short, short.astype(float))[1].tolist() == list(range(10))


def test_the_terminal_table_lists_every_section_aligned() -> None:
    report = metrics(equity(), fills())
    table = format_metrics_table(report)
    lines = table.splitlines()
    for section in ("Run", "Returns and risk", "Trades", "Sampling"):
        assert section in lines
    assert any(line.split() == ["Total", "return", "1.25", "%"] for line in lines)
    assert any(line.startswith("  Closed trades") and line.endswith(" 2") for line in lines)
    rows = [line for line in lines if line.startswith("  ")]
    assert len({len(line) for line in rows}) == 1  # values right-aligned in one column


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (None, "n/a"),
        (1_500_000_000, "1.5s"),
        (3_725 * 10**9, "1h 02m 05s"),
        (2 * DAY_NS + 3_600 * 10**9 * 3 + 60 * 10**9 * 4, "2d 03h 04m"),
    ],
)
def test_format_duration(ns: int | None, text: str) -> None:
    assert format_duration(ns) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(D("12345.678"), "12,345.68"), (D("-1.005"), "-1.00"), (D("0.000012345"), "0.00001234"), (None, "n/a")],
)
def test_format_money(value: Decimal | None, text: str) -> None:
    assert format_money(value) == text
