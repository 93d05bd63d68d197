"""The cash follows the venue's balances of the assets the engine trades, and nothing else."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.account_sync import AccountSync
from application.messages import BalancesReported
from tests.unit.application.harness import Harness, build

Make = Callable[..., Harness]


def sync(h: Harness) -> AccountSync:
    return AccountSync(
        portfolio=h.portfolio, trades=h.trades, monitor=h.risk, clock=h.clock, assets={"BTC", "USDT"}
    )


def test_a_difference_is_applied_saved_and_logged(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    h = make(balances={"USDT": "1000"})
    account = sync(h)
    caplog.set_level(logging.WARNING, "tradeplane.account")

    account.on_balances(
        BalancesReported(balances={"USDT": Decimal("990.5"), "BTC": Decimal("0.25")}, ts_event=h.advance())
    )

    assert h.portfolio.account.balances["USDT"] == Decimal("990.5")
    assert h.portfolio.account.balances["BTC"] == Decimal("0.25")
    assert h.trades.stored_balances()["USDT"] == Decimal("990.5")
    assert account.adjustments == 2
    assert "1000 here, 990.5 at the venue" in caplog.text


def test_assets_the_engine_does_not_trade_are_not_followed(make: Make) -> None:
    h = make(balances={"USDT": "1000"})
    account = sync(h)

    changed = account.apply({"BNB": Decimal("3"), "USDT": Decimal("1000")}, why="test")

    assert not changed
    assert "BNB" not in h.portfolio.account.balances
    assert account.adjustments == 0


@given(
    start=st.decimals(min_value=0, max_value=10**9, places=8),
    venue=st.decimals(min_value=0, max_value=10**9, places=8),
)
def test_after_apply_the_balance_is_exactly_the_venues(start: Decimal, venue: Decimal) -> None:
    h = build(balances={"USDT": str(start)})  # one engine per example

    sync(h).apply({"USDT": venue}, why="test")

    assert h.portfolio.account.balances["USDT"] == venue
