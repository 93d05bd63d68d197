"""A long backtest's report end to end: hundreds of trades from kline files, read back for the chart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from entrypoints.backtest.charts import MAX_MARKERS, PRICE_SIZE, PRICE_TRADES, price_figure
from entrypoints.backtest.report import write_report
from entrypoints.backtest.report_market import market_for
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import BacktestSpec
from tests.unit.adapters.historical.files import MINUTE, T0, kline, write
from tests.unit.entrypoints.backtest.test_report import assert_self_contained, png_size
from tests.unit.entrypoints.backtest.test_report_charts import markers_drawn

BARS = 8_000


@pytest.fixture(scope="module")
def random_walk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Minute bars of a seeded random walk: a fast SMA crossover trades it hundreds of times."""
    walk = 40_000 * np.exp(np.cumsum(np.random.default_rng(11).normal(0, 0.001, BARS + 1)))
    rows = []
    for i in range(BARS):
        open_, close = round(float(walk[i]), 2), round(float(walk[i + 1]), 2)
        ohlc = f"{open_:.2f},{max(open_, close) + 4:.2f},{min(open_, close) - 4:.2f},{close:.2f}"
        rows.append(kline(T0 + i * MINUTE, ohlc, f"{5 + i % 9}.25"))
    return write(tmp_path_factory.mktemp("data") / "BTCUSDT-1m-2024-01.csv", rows)


def test_a_long_run_report_is_readable_and_interactive(random_walk: Path, tmp_path: Path) -> None:
    spec = BacktestSpec(
        data=(str(random_walk),), strategy="sma_crossover", params={"fast": "5", "slow": "20"}
    )
    outcome = run_backtest(spec)
    trades = outcome.metrics.trades
    assert len(trades) > 2 * PRICE_TRADES  # a long run: far more trades than price.png shows
    market = market_for(outcome)
    assert market is not None
    assert market.events == BARS
    assert market.volumes.sum() == sum(5 + i % 9 + 0.25 for i in range(BARS))
    prices = next(iter(outcome.result.prices.values()))

    files = write_report(
        tmp_path / "report",
        title="sma_crossover fast=5 slow=20 on BTCUSDT.BINANCE",
        metrics=outcome.metrics,
        equity_curve=outcome.result.equity_curve,
        prices=prices,
        parameters={"strategy": "sma_crossover", "fast": "5", "slow": "20"},
        fills=outcome.result.fills,
        instrument=outcome.instrument,
        currency=outcome.quote,
        market=market,
    )

    assert png_size(files.price_png.read_bytes()) == PRICE_SIZE
    figure = price_figure(title="t", prices=prices, trades=trades, fills=outcome.result.fills)
    assert markers_drawn(figure) <= MAX_MARKERS
    assert f"the last {PRICE_TRADES} of {len(trades)} trades" in figure.get_suptitle()

    page = files.html.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "Buy and hold over the same span" in page
    call = re.search(r'Plotly\.newPlot\(\s*"price-chart",\s*(\[.*?\]),\s*\{', page, re.S)
    assert call is not None
    traces = {trace["name"]: trace for trace in json.loads(call.group(1))}
    assert {"Price", "SMA(5)", "SMA(20)", "Volume"} <= set(traces)
    segments = [name for name in traces if name.startswith(("Winning trades", "Losing trades"))]
    counts = [int(name.rsplit("(", 1)[1].rstrip(")")) for name in segments]
    assert sum(counts) == len(trades)
