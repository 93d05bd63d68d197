"""RiskMonitor: halt and resume, and post-trade risk (daily loss, drawdown, a new UTC day)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.orders import OrderType
from domain.risk import (
    NS_PER_DAY,
    RiskLimitBreached,
    RiskLimits,
    RiskReason,
    TradingState,
    TradingStateChanged,
)
from tests.builders import make_intent
from tests.unit.application.execution.support import SELL, Make, S, at

# -- halt and resume ----------------------------------------------------------------------------


def test_halt_cancels_open_orders_when_asked_and_refuses_new_ones_until_resumed(make: Make) -> None:
    h = make()
    at(h, "100")
    resting = h.submit(make_intent(order_type=OrderType.LIMIT, price="95"))
    assert (resting.status, h.orders.open_orders) == (S.ACCEPTED, {resting.client_order_id: resting})

    state = h.halt("operator pressed the kill switch", cancel_open_orders=True)

    assert state is TradingState.HALTED
    assert resting.status is S.CANCELED
    (change,) = h.of_type(TradingStateChanged)
    assert (change.previous, change.state, change.reason) == (
        TradingState.ACTIVE,
        TradingState.HALTED,
        RiskReason.KILL_SWITCH,
    )
    with pytest.raises(RiskLimitBreached) as raised:
        h.submit(make_intent())
    assert raised.value.reason is RiskReason.TRADING_HALTED

    assert h.resume() is TradingState.ACTIVE
    assert h.of_type(TradingStateChanged)[-1].state is TradingState.ACTIVE
    assert h.submit(make_intent()).status is S.FILLED


def test_halt_without_cancel_leaves_working_orders_alone(make: Make) -> None:
    h = make()
    at(h, "100")
    resting = h.submit(make_intent(order_type=OrderType.LIMIT, price="95"))

    h.halt("pause")

    assert resting.status is S.ACCEPTED
    assert h.orders.open_orders == {resting.client_order_id: resting}


# -- post-trade risk ----------------------------------------------------------------------------


def test_a_daily_loss_beyond_the_limit_turns_trading_reduce_only(make: Make) -> None:
    h = make(limits=RiskLimits(daily_loss_limit=Decimal(50)))
    at(h, "100")
    h.submit(make_intent(quantity="1"))  # at 100.01: the day opens at equity 9 999.99

    at(h, "60")  # -40.01: within the limit, still ACTIVE
    assert h.of_type(TradingStateChanged) == []
    h.advance(1_000_000_000)  # the next mark-to-market interval
    at(h, "40")  # -60.01

    assert h.trading.state is TradingState.REDUCE_ONLY
    (change,) = h.of_type(TradingStateChanged)
    assert change.reason is RiskReason.DAILY_LOSS_LIMIT
    with pytest.raises(RiskLimitBreached) as raised:
        h.submit(make_intent(quantity="0.5"))
    assert raised.value.reason is RiskReason.REDUCE_ONLY
    assert h.position() == Decimal(1)

    h.submit(make_intent(side=SELL, quantity="1"))  # reducing is still allowed
    assert h.position() == 0


def test_a_drawdown_beyond_the_limit_halts_trading(make: Make) -> None:
    h = make(limits=RiskLimits(max_drawdown_fraction=Decimal("0.005")))
    at(h, "100")
    h.submit(make_intent(quantity="1"))

    h.advance(1_000_000_000)  # past the mark-to-market interval of the first trade
    at(h, "40")

    assert h.trading.state is TradingState.HALTED
    assert h.of_type(TradingStateChanged)[-1].reason is RiskReason.MAX_DRAWDOWN
    with pytest.raises(RiskLimitBreached) as raised:
        h.submit(make_intent(side=SELL, quantity="1"))
    assert raised.value.reason is RiskReason.TRADING_HALTED


def test_a_new_utc_day_lifts_the_daily_loss_restriction_even_when_flat(make: Make) -> None:
    h = make(limits=RiskLimits(daily_loss_limit=Decimal(50)))
    at(h, "100")
    h.submit(make_intent(quantity="1"))
    h.advance(1_000_000_000)
    at(h, "40")
    assert h.of_type(TradingStateChanged)[-1].state is TradingState.REDUCE_ONLY
    h.submit(make_intent(side=SELL, quantity="1"))
    assert h.position() == 0

    h.clock.set((h.clock.now_ns() // NS_PER_DAY + 1) * NS_PER_DAY)  # 00:00 UTC the next day
    at(h, "40")

    assert h.trading.state is TradingState.ACTIVE
    assert h.of_type(TradingStateChanged)[-1].reason is RiskReason.NEW_TRADING_DAY
    assert h.submit(make_intent(quantity="1")).status is S.FILLED
