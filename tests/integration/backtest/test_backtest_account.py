"""A backtest trades on a spot account, or on a margin one with --allow-short, and says which."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest

from domain.values import OrderSide
from entrypoints.backtest.outcome import outcome_json
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.settings import settings_for
from entrypoints.backtest.spec import BacktestSpec
from entrypoints.validation import validate
from tests.unit.adapters.historical.files import MINUTE, T0, kline, write


@pytest.fixture(scope="module")
def klines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = []
    for i in range(1500):
        mid = 40_000 + 800 * math.sin(i / 90)
        rows.append(kline(T0 + i * MINUTE, f"{mid:.2f},{mid + 5:.2f},{mid - 5:.2f},{mid:.2f}", "12.5"))
    return write(tmp_path_factory.mktemp("data") / "BTCUSDT-1m-2024-01.csv", rows)


def _spec(klines: Path, *, allow_short: bool) -> BacktestSpec:
    return BacktestSpec(
        data=(str(klines),),
        strategy="sma_crossover",
        params={"fast": "10", "slow": "40"},
        fraction=Decimal("0.5"),
        allow_short=allow_short,
    )


@pytest.mark.parametrize(("allow_short", "account"), [(True, "margin"), (False, "spot")])
def test_the_run_is_configured_on_the_account_it_needs(klines: Path, allow_short: bool, account: str) -> None:
    settings = settings_for(_spec(klines, allow_short=allow_short), "BTCUSDT.BINANCE")
    assert settings.broker.options["account"] == account
    validate(settings)  # a spot account refuses a strategy that sells short


def test_a_short_selling_run_sells_short_on_margin_and_says_so(klines: Path) -> None:
    outcome = run_backtest(_spec(klines, allow_short=True))
    assert outcome_json(outcome)["account"] == "margin"
    position = Decimal(0)
    lowest = Decimal(0)
    for fill in outcome.result.fills:
        position += fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        lowest = min(lowest, position)
    assert lowest < 0, "the run never went short"


def test_a_long_only_run_is_on_spot_and_never_goes_short(klines: Path) -> None:
    outcome = run_backtest(_spec(klines, allow_short=False))
    assert outcome_json(outcome)["account"] == "spot"
    assert outcome.result.fills
    position = Decimal(0)
    for fill in outcome.result.fills:
        position += fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        assert position >= 0
