"""ExecutionEngine: stop orders held engine-side, position stops, halt/resume and post-trade risk."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from application.messages import IntentRejected, OrderFilled
from domain.orders import OrderStatus, OrderType
from domain.risk import (
    NS_PER_DAY,
    STOPS_STRATEGY_ID,
    RiskLimitBreached,
    RiskLimits,
    RiskReason,
    StopRules,
    TradingState,
    TradingStateChanged,
)
from domain.sizing import FixedQuantity
from domain.values import OrderSide
from tests.builders import make_intent
from tests.unit.application.harness import BTC, Harness, ScriptedStrategy

BUY = OrderSide.BUY
SELL = OrderSide.SELL
S = OrderStatus

Make = Callable[..., Harness]


def at(h: Harness, price: str, spread: str = "0.01", size: str = "10") -> None:
    """The market trades at ``price`` with a quote ``spread`` either side of it."""
    p, d = Decimal(price), Decimal(spread)
    h.quote(str(p - d), str(p + d), size)
    h.trade(price)


# -- stop orders held engine-side -----------------------------------------------------------------


def test_a_stop_market_order_is_held_until_a_trade_crosses_its_stop_then_sent(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(make_intent(side=SELL, order_type=OrderType.STOP_MARKET, stop_price="95"))

    assert h.broker.submitted == []
    assert order.status is S.INITIALIZED
    assert h.orders.held_stops == (order,)
    assert h.trades.get_order(order.client_order_id) is order
    assert h.statuses(order) == [S.INITIALIZED]
    assert h.orders.working_quantity(BTC) == Decimal(-1)

    h.trade("95.01")
    assert h.broker.submitted == []

    h.trade("95")
    assert h.broker.submitted == [order]
    assert order.status is S.SUBMITTED
    assert order.triggered_price == Decimal(95)
    assert order.effective_type is OrderType.MARKET
    assert h.orders.held_stops == ()
    assert h.stops.triggered == 1
    assert h.statuses(order) == [S.INITIALIZED, S.INITIALIZED, S.SUBMITTED]
    assert h.trades.journal(order.client_order_id)[1].reason.startswith("TRIGGERED")

    h.broker.accept(order, h.advance())
    h.broker.fill(order, "1", "94.9", h.advance())
    assert order.status is S.FILLED
    assert h.position() == Decimal(-1)


def test_a_stop_limit_buy_triggers_at_or_above_its_stop_and_works_as_a_limit(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(make_intent(side=BUY, order_type=OrderType.STOP_LIMIT, stop_price="105", price="106"))

    h.trade("104.99")
    assert h.broker.submitted == []
    h.trade("105.5")

    assert h.broker.submitted == [order]
    assert order.effective_type is OrderType.LIMIT
    assert order.price == Decimal(106)


def test_a_held_stop_canceled_before_its_stop_trades_never_reaches_the_broker(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(make_intent(side=SELL, order_type=OrderType.STOP_MARKET, stop_price="95"))

    h.cancel(order.client_order_id)
    h.trade("90")

    assert order.status is S.CANCELED
    assert h.statuses(order) == [S.INITIALIZED, S.CANCELED]
    assert h.broker.submitted == []
    assert h.broker.canceled == []
    assert h.orders.open_orders == {}
    assert h.orders.held_stops == ()


def test_a_stop_goes_straight_to_a_broker_with_native_stops(make: Make) -> None:
    h = make(broker="recording", broker_supports_stops=True)
    h.trade("100")

    order = h.submit(make_intent(side=SELL, order_type=OrderType.STOP_MARKET, stop_price="95"))

    assert h.broker.submitted == [order]
    assert h.orders.held_stops == ()


def test_a_triggered_stop_fills_at_the_paper_broker(make: Make) -> None:
    h = make()
    at(h, "100")
    order = h.submit(make_intent(side=SELL, order_type=OrderType.STOP_MARKET, stop_price="95"))

    at(h, "95")

    assert order.status is S.FILLED
    assert h.position() == Decimal(-1)


# -- position stops -------------------------------------------------------------------------------


def test_a_stop_loss_exits_the_position_at_market_and_flattens_it(make: Make) -> None:
    h = make(stop_rules=StopRules(stop_loss_fraction=Decimal("0.05")))
    at(h, "100")
    entry = h.submit(make_intent(quantity="1"))
    assert entry.status is S.FILLED  # at the ask, 100.01: the stop-loss is at 95.0095

    at(h, "95.01")
    assert h.position() == Decimal(1)
    at(h, "95")

    assert h.position() == 0
    exit_order = h.orders.orders[max(h.orders.orders)]
    assert exit_order is not entry
    assert exit_order.strategy_id == STOPS_STRATEGY_ID
    assert exit_order.reduce_only
    assert (exit_order.side, exit_order.quantity, exit_order.status) == (SELL, Decimal(1), S.FILLED)
    assert h.portfolio.positions[BTC].realized_pnl == Decimal("94.99") - Decimal("100.01")


def test_a_stop_loss_protects_a_position_reopened_at_the_same_size_and_price(make: Make) -> None:
    h = make(stop_rules=StopRules(stop_loss_fraction=Decimal("0.05")))
    at(h, "100")
    h.submit(make_intent(quantity="1"))
    at(h, "95")
    assert h.position() == 0

    at(h, "100")
    h.submit(make_intent(quantity="1"))  # the same quantity and cost as the first long
    at(h, "95")

    assert h.position() == 0
    assert len(h.orders.orders) == 4


def test_a_trailing_stop_restarts_from_the_entry_of_a_new_position(make: Make) -> None:
    h = make(stop_rules=StopRules(trailing_fraction=Decimal("0.1")))
    at(h, "100")
    h.submit(make_intent(quantity="1"))
    at(h, "120")  # best 120: the trailing level is 108
    h.submit(make_intent(side=SELL, quantity="1"))
    h.quote("99.99", "100.01")
    h.submit(make_intent(quantity="1"))  # flat for a moment, then long again from 100.01

    at(h, "101")

    assert h.position() == Decimal(1)  # 101 is far above 90.009, the level of the new position
    assert all(o.strategy_id != STOPS_STRATEGY_ID for o in h.orders.orders.values())


def test_a_stop_exit_and_a_strategy_signal_on_one_trade_do_not_overshoot(make: Make) -> None:
    h = make(stop_rules=StopRules(stop_loss_fraction=Decimal("0.05")))
    h.strategies.add(
        ScriptedStrategy("s", script={"100": BUY, "95": SELL}),
        sizer=FixedQuantity(Decimal("0.5")),
        allow_short=True,
    )
    at(h, "100")
    assert h.position() == Decimal("0.5")

    at(h, "95")  # the stop-loss closes the long; the strategy wants a short of 0.5

    assert h.position() == Decimal("-0.5")


def test_a_rejected_exit_rearms_the_stop_for_the_next_trade(make: Make) -> None:
    h = make(stop_rules=StopRules(stop_loss_fraction=Decimal("0.05")))
    at(h, "100")
    h.submit(make_intent(quantity="1"))
    h.halt("maintenance")

    at(h, "95")
    at(h, "94")

    rejected = [r for r in h.of_type(IntentRejected) if r.intent.strategy_id == STOPS_STRATEGY_ID]
    assert len(rejected) == 2
    assert rejected[0].rejections[0].reason is RiskReason.TRADING_HALTED
    assert h.position() == Decimal(1)


# -- halt and resume --------------------------------------------------------------------------------


def test_halt_cancels_open_orders_when_asked_and_refuses_new_ones_until_resumed(make: Make) -> None:
    h = make()
    at(h, "100")
    resting = h.submit(make_intent(order_type=OrderType.LIMIT, price="95"))
    assert resting.status is S.ACCEPTED

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


# -- post-trade risk ----------------------------------------------------------------------------------


def test_a_daily_loss_beyond_the_limit_turns_trading_reduce_only(make: Make) -> None:
    h = make(limits=RiskLimits(daily_loss_limit=Decimal(50)))
    at(h, "100")
    h.submit(make_intent(quantity="1"))  # at 100.01: the day opens at equity 9 999.99

    at(h, "60")  # -40.01: within the limit
    assert h.trading.state is TradingState.ACTIVE
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
    assert h.trading.state is TradingState.REDUCE_ONLY
    h.submit(make_intent(side=SELL, quantity="1"))
    assert h.position() == 0

    h.clock.set((h.clock.now_ns() // NS_PER_DAY + 1) * NS_PER_DAY)  # 00:00 UTC the next day
    at(h, "40")

    assert h.trading.state is TradingState.ACTIVE
    assert h.of_type(TradingStateChanged)[-1].reason is RiskReason.NEW_TRADING_DAY
    assert h.submit(make_intent(quantity="1")).status is S.FILLED


def test_a_held_stop_that_triggers_while_halted_is_rejected_not_sent(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(make_intent(side=SELL, order_type=OrderType.STOP_MARKET, stop_price="95"))
    h.halt("operator pressed the kill switch")

    h.trade("94")

    assert h.broker.submitted == []
    assert order.status is S.REJECTED
    assert "HALTED" in order.events[-1].reason
    assert order.client_order_id not in h.orders.open_orders


def test_a_fill_after_the_cancel_confirmation_is_still_booked_once(make: Make) -> None:
    h = make(broker="recording")
    at(h, "100")
    order = h.submit(make_intent(order_type=OrderType.LIMIT, price="99"))
    h.broker.accept(order, h.advance())
    h.cancel(order.client_order_id)
    h.broker.report_canceled(order, h.advance())
    assert order.status is S.CANCELED

    fill = h.broker.fill(order, "1", "99", h.advance())  # the venue executed it before the cancel
    h.bus.publish(OrderFilled(fill=fill))  # and a replayed report must not count twice

    assert h.portfolio.positions[BTC].quantity == Decimal(1)
    assert h.reports.stats.late_fills == 1
    assert h.reports.stats.duplicate_reports == 1
    assert list(h.trades.list_fills()) == [fill]


def test_no_stop_exit_is_stacked_on_working_orders_that_already_close_the_position(make: Make) -> None:
    h = make(broker="recording", stop_rules=StopRules(stop_loss_fraction=Decimal("0.05")))
    h.trade("100")
    entry = h.submit(make_intent(quantity="1"))
    h.broker.accept(entry, h.advance())
    h.broker.fill(entry, "1", "100", h.advance())
    closing = h.submit(make_intent(side=SELL, order_type=OrderType.LIMIT, price="110", quantity="1"))
    h.broker.accept(closing, h.advance())

    h.trade("90")  # far through the stop-loss, but a working sell already closes the long

    assert h.broker.submitted == [entry, closing]
    assert h.of_type(IntentRejected) == []
