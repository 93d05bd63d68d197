"""StopManager: stop orders held engine-side until the market trades through, and position stops."""

from __future__ import annotations

from decimal import Decimal

from adapters.brokers.paper import PaperBrokerConfig
from application.messages import IntentRejected
from domain.orders import OrderType
from domain.risk import STOPS_STRATEGY_ID, RiskReason, StopRules
from domain.sizing import FixedQuantity
from tests.builders import make_intent
from tests.unit.application.execution.support import BUY, SELL, Make, S, at
from tests.unit.application.harness import BTC, ScriptedStrategy

MARGIN = PaperBrokerConfig(maker_fee_bps=Decimal(0), taker_fee_bps=Decimal(0), account="margin")
"""A paper account that may sell short (a spot one refuses to sell what it does not hold)."""

# -- stop orders held engine-side ---------------------------------------------------------------


def test_a_stop_market_order_is_held_until_a_trade_crosses_its_stop_then_sent(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(make_intent(side=SELL, order_type=OrderType.STOP_MARKET, stop_price="95"))

    assert h.broker.submitted == []
    assert (order.status, h.orders.held_stops) == (S.INITIALIZED, (order,))
    assert h.trades.get_order(order.client_order_id) is order
    assert h.statuses(order) == [S.INITIALIZED]
    assert h.orders.working_quantity(BTC) == Decimal(-1)

    h.trade("95.01")
    assert h.broker.submitted == []

    h.trade("95")
    assert h.broker.submitted == [order]
    assert (order.status, order.triggered_price) == (S.SUBMITTED, Decimal(95))
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
    h = make(paper=MARGIN)  # the stop sells short
    at(h, "100")
    order = h.submit(make_intent(side=SELL, order_type=OrderType.STOP_MARKET, stop_price="95"))

    at(h, "95")

    assert order.status is S.FILLED
    assert h.position() == Decimal(-1)


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


# -- position stops -----------------------------------------------------------------------------


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
    h = make(stop_rules=StopRules(stop_loss_fraction=Decimal("0.05")), paper=MARGIN)  # ends short
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
