"""OrderManager: instrument rules, pre-trade risk, journal first, idempotency, cancels, a failing store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from adapters.brokers.paper import PaperBrokerConfig
from adapters.memory import InMemoryTradeRepository
from application.commands import SubmitOrder
from application.execution import UnknownOrder
from application.messages import FeedStatusChanged, IntentRejected, OrderUpdated
from domain.errors import IllegalTransition, InstrumentRuleViolation
from domain.intents import OrderIntent
from domain.market_data import BookInvalidated, BookSnapshot
from domain.orders import Order, OrderType
from domain.risk import RiskLimitBreached, RiskLimits, RiskReason, TradingState
from tests.builders import make_intent
from tests.unit.application.execution.support import BUY, SEC, SELL, Make, S, limit
from tests.unit.application.harness import BTC, ETH, Harness


def nothing_sent(h: Harness) -> None:
    assert h.broker.submitted == []
    assert h.trades.list_orders() == []
    assert h.trades.journal() == []
    assert h.orders.orders == {}


# -- instrument rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "words"),
    [
        (limit(price="100.005"), "price tick"),
        (make_intent(side=SELL, order_type=OrderType.STOP_MARKET, stop_price="99.999"), "price tick"),
        (make_intent(quantity="0.0015"), "lot size"),
        (limit(quantity="0.05"), "minimum notional"),  # 0.05 × 100 = 5 < 10
        (make_intent(quantity="0.09"), "minimum notional"),  # a market order: at the last trade 100
    ],
    ids=["off-tick price", "off-tick stop", "off-lot quantity", "limit notional", "market notional"],
)
def test_an_intent_breaking_an_instrument_rule_is_rejected_and_nothing_is_sent(
    make: Make, intent: OrderIntent, words: str
) -> None:
    h = make(broker="recording")
    h.trade("100")

    with pytest.raises(InstrumentRuleViolation, match=words):
        h.submit(intent)

    (rejected,) = h.of_type(IntentRejected)
    assert rejected.intent is intent
    assert [r.reason for r in rejected.rejections] == [RiskReason.INSTRUMENT_RULE]
    assert words in rejected.rejections[0].message
    nothing_sent(h)
    assert h.orders.stats.risk_rejections == 1


def test_a_refused_intent_is_returned_and_published_never_raised(make: Make) -> None:
    h = make(broker="recording")

    result = h.bus.execute(SubmitOrder(intent=limit(price="100.005")))

    assert result.order is None
    assert [r.reason for r in result.rejections] == [RiskReason.INSTRUMENT_RULE]
    assert isinstance(result.error, InstrumentRuleViolation)
    assert [m.rejections for m in h.of_type(IntentRejected)] == [result.rejections]
    assert h.bus.stats.handler_errors == 0
    nothing_sent(h)


# -- pre-trade risk -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskCase:
    limits: RiskLimits
    intent: OrderIntent
    reason: RiskReason
    arrange: Callable[[Harness], None] = lambda h: None
    last_trade: bool = True


def _submit_one(h: Harness) -> None:
    h.submit(limit(price="90"))


def _go_stale(h: Harness) -> None:
    h.advance(2 * SEC)


def _halt(h: Harness) -> None:
    h.halt("operator says stop")


def _feed_down(h: Harness) -> None:
    ts = h.clock.now_ns()
    h.bus.publish(
        FeedStatusChanged(feed="binance", instruments=(BTC,), connected=False, reason="dropped", ts_event=ts)
    )


def _book_lost(h: Harness) -> None:
    ts = h.clock.now_ns()
    h.bus.publish(
        BookSnapshot.create(
            instrument_id=BTC, bids=[("99", "1")], asks=[("101", "1")], sequence=1, ts_event=ts, ts_init=ts
        )
    )
    h.bus.publish(BookInvalidated(BTC, "gap at update ids 3..4", ts, ts))


RISK_CASES = {
    "max order quantity": RiskCase(
        RiskLimits(max_order_quantity=Decimal(1)), make_intent(quantity="2"), RiskReason.MAX_ORDER_QUANTITY
    ),
    "max order notional": RiskCase(
        RiskLimits(max_order_notional=Decimal(1000)),
        make_intent(quantity="11"),
        RiskReason.MAX_ORDER_NOTIONAL,
    ),
    "max position": RiskCase(
        RiskLimits(max_position_quantity=Decimal(1)), make_intent(quantity="2"), RiskReason.MAX_POSITION
    ),
    "max gross exposure": RiskCase(
        RiskLimits(max_gross_exposure=Decimal(500)),
        make_intent(quantity="6"),
        RiskReason.MAX_GROSS_EXPOSURE,
    ),
    "price band": RiskCase(
        RiskLimits(price_band_fraction=Decimal("0.05")), limit(price="110"), RiskReason.PRICE_BAND
    ),
    "rate limit": RiskCase(
        RiskLimits(max_orders_per_window=1, window_ns=SEC),
        make_intent(),
        RiskReason.RATE_LIMIT,
        _submit_one,
    ),
    "max open orders": RiskCase(
        RiskLimits(max_open_orders=1), make_intent(), RiskReason.MAX_OPEN_ORDERS, _submit_one
    ),
    "stale market data": RiskCase(
        RiskLimits(max_data_age_ns=SEC),
        make_intent(),
        RiskReason.STALE_MARKET_DATA,
        _go_stale,
    ),
    "no market data": RiskCase(
        RiskLimits(max_data_age_ns=SEC), make_intent(), RiskReason.NO_MARKET_DATA, last_trade=False
    ),
    "halted": RiskCase(RiskLimits(), make_intent(), RiskReason.TRADING_HALTED, _halt),
    "feed down": RiskCase(RiskLimits(), make_intent(), RiskReason.FEED_DOWN, _feed_down),
    "book out of sync": RiskCase(RiskLimits(), make_intent(), RiskReason.BOOK_OUT_OF_SYNC, _book_lost),
    "reduce-only intent while flat": RiskCase(
        RiskLimits(), make_intent(side=SELL, reduce_only=True), RiskReason.REDUCE_ONLY
    ),
}


@pytest.mark.parametrize("case", RISK_CASES.values(), ids=RISK_CASES.keys())
def test_an_intent_breaking_a_risk_rule_is_rejected_with_its_reason_and_not_journaled(
    make: Make, case: RiskCase
) -> None:
    h = make(broker="recording", limits=case.limits)
    if case.last_trade:
        h.trade("100")
    case.arrange(h)
    sent = list(h.broker.submitted)
    stored = list(h.trades.list_orders())
    journal = h.trades.journal()
    before = h.orders.stats.risk_rejections

    with pytest.raises(RiskLimitBreached) as raised:
        h.submit(case.intent)

    assert raised.value.reason is case.reason
    rejected = h.of_type(IntentRejected)[-1]
    assert rejected.intent is case.intent
    assert case.reason in [r.reason for r in rejected.rejections]
    assert all(r.message for r in rejected.rejections)
    assert h.broker.submitted == sent
    assert list(h.trades.list_orders()) == stored
    assert h.trades.journal() == journal
    assert h.orders.stats.risk_rejections == before + 1


def test_an_approved_intent_becomes_a_submitted_order(make: Make) -> None:
    h = make(broker="recording", limits=RiskLimits(max_order_quantity=Decimal(5)))
    h.trade("100")

    order = h.submit(limit(quantity="2", price="99.5"))

    assert h.broker.submitted == [order]
    assert order.status is S.SUBMITTED
    assert (order.side, order.quantity, order.price, order.order_type) == (
        BUY,
        Decimal(2),
        Decimal("99.5"),
        OrderType.LIMIT,
    )
    assert order.client_order_id == "TP-1"
    assert order.strategy_id == "test-strategy"
    assert h.orders.open_orders == {order.client_order_id: order}
    assert h.orders.working_quantity(BTC) == Decimal(2)


@pytest.mark.parametrize("post_only", [False, True])
def test_the_order_is_post_only_when_the_intent_is(make: Make, post_only: bool) -> None:
    h = make(broker="recording")
    h.trade("100")

    order = h.submit(replace(limit(price="99.5"), post_only=post_only))

    assert order.post_only is post_only
    assert h.broker.submitted == [order]
    assert h.trades.get_order(order.client_order_id).post_only is post_only


# -- the journal comes first --------------------------------------------------------------------


@pytest.mark.parametrize("via_bus", [False, True], ids=["handler", "bus"])
def test_an_order_is_journaled_before_the_broker_sees_it(make: Make, via_bus: bool) -> None:
    h = make(broker="recording")
    h.trade("100")
    seen: list[tuple[Order | None, list[S]]] = []

    commits: list[int] = []

    def on_submit(order: Order) -> None:  # the venue looks into the store as the order arrives
        seen.append((h.trades.get_order(order.client_order_id), h.statuses(order)))
        commits.append(h.trades.commits)

    h.broker.on_submit = on_submit
    before = h.trades.commits
    if via_bus:
        h.submit(make_intent())
    else:  # the command's handler, called directly
        h.orders.submit(SubmitOrder(intent=make_intent()))

    (order,) = h.broker.submitted
    assert seen == [(order, [S.INITIALIZED, S.SUBMITTED])]
    assert commits == [before + 1], "the journal must be committed before the broker sees the order"
    updates = [m.event.status for m in h.of_type(OrderUpdated)]
    assert updates == [S.INITIALIZED, S.SUBMITTED]


# -- idempotency --------------------------------------------------------------------------------


def test_submitting_twice_with_one_client_order_id_gives_one_order_and_one_broker_submit(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")

    first = h.submit(make_intent(), client_order_id="C-1")
    again = h.submit(make_intent(), client_order_id="C-1")

    assert again is first
    assert first.client_order_id == "C-1"
    assert h.broker.submitted == [first]
    assert list(h.trades.list_orders()) == [first]
    assert h.orders.stats.intents == 1


def test_a_generated_client_order_id_never_reuses_one_given_by_a_client(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    given = h.submit(make_intent(), client_order_id="TP-1")

    generated = h.submit(make_intent())

    assert generated.client_order_id != given.client_order_id
    assert h.orders.get("TP-1") is given
    assert [o.client_order_id for o in h.trades.list_orders()] == ["TP-1", generated.client_order_id]
    assert h.broker.submitted == [given, generated]


# -- cancels ------------------------------------------------------------------------------------


def test_a_cancel_request_then_the_venue_cancel_closes_the_order(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(limit(price="95"))
    h.broker.accept(order, h.advance())

    assert h.cancel(order.client_order_id) is order
    assert (order.status, h.broker.canceled) == (S.CANCEL_PENDING, [order])

    h.broker.report_canceled(order, h.advance())
    assert order.status is S.CANCELED
    assert h.orders.open_orders == {}
    assert h.orders.working_quantity(BTC) == 0


def _market(h: Harness) -> None:
    for instrument_id in (BTC, ETH):
        h.quote("99.99", "100.01", instrument_id=instrument_id)
        h.trade("100", instrument_id=instrument_id)


def test_cancel_of_a_resting_order_is_confirmed_by_the_paper_broker(make: Make) -> None:
    h = make()
    _market(h)
    order = h.submit(limit(price="95"))
    assert (order.status, h.orders.open_orders) == (S.ACCEPTED, {order.client_order_id: order})

    h.advance()
    h.cancel(order.client_order_id)

    assert order.status is S.CANCELED
    assert h.statuses(order)[-2:] == [S.CANCEL_PENDING, S.CANCELED]
    assert h.broker.open_orders() == []
    assert h.orders.open_orders == {}


def test_cancel_of_an_unknown_or_finished_order_raises(make: Make) -> None:
    h = make()
    _market(h)
    filled = h.submit(make_intent())
    assert filled.status is S.FILLED

    with pytest.raises(UnknownOrder, match="NOPE"):
        h.cancel("NOPE")
    with pytest.raises(IllegalTransition):
        h.cancel(filled.client_order_id)


def test_cancel_all_of_one_instrument_leaves_the_others_working(make: Make) -> None:
    h = make(balances={"USDT": "10000", "BTC": "1"})  # the sell is of BTC the account holds
    _market(h)
    on_btc = h.submit(limit(price="95"))
    on_btc_too = h.submit(limit(side=SELL, price="105"))
    on_eth = h.submit(limit(price="95", instrument_id=ETH))

    asked = h.cancel_all(BTC)

    assert asked == (on_btc, on_btc_too)
    assert (on_btc.status, on_btc_too.status, on_eth.status) == (S.CANCELED, S.CANCELED, S.ACCEPTED)
    assert list(h.orders.open_orders) == [on_eth.client_order_id]

    assert h.cancel_all() == (on_eth,)
    assert on_eth.status is S.CANCELED
    assert h.cancel_all() == ()


def test_cancel_all_skips_orders_already_waiting_for_a_cancel(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    first = h.submit(limit(price="95"))
    second = h.submit(limit(price="94"))
    h.cancel(first.client_order_id)

    assert h.cancel_all() == (second,)
    assert h.broker.canceled == [first, second]


# -- a store that cannot commit -----------------------------------------------------------------


class _FailingTrades(InMemoryTradeRepository):
    """The in-memory store, whose commits fail while ``failing`` is set (a locked or full disk)."""

    failing = False

    def commit(self) -> None:
        if self.failing:
            raise OSError("disk full")
        super().commit()


def test_an_order_the_store_cannot_record_is_never_sent_and_trading_halts(make: Make) -> None:
    trades = _FailingTrades()
    h = make(broker="recording", trades=trades)
    h.trade("100")
    trades.failing = True

    order = h.submit(limit(quantity="1", price="99"))

    assert h.broker.submitted == []  # the broker never hears of an order the journal lacks
    assert order.status is S.REJECTED
    assert "could not record" in order.events[-1].reason
    assert h.orders.open_orders == {}
    assert h.trading.state is TradingState.HALTED
    assert "trades store cannot be written" in h.trading.message
    assert h.risk.store_failures >= 1
    trades.failing = False
    h.resume()
    assert trades.get_order(order.client_order_id) is not None  # the buffered events got written


def test_a_cancel_the_store_cannot_record_is_not_sent(make: Make) -> None:
    trades = _FailingTrades()
    h = make(broker="recording", trades=trades)
    h.trade("100")
    order = h.submit(limit(quantity="1", price="99"))
    h.broker.accept(order, h.advance())
    trades.failing = True

    h.cancel(order.client_order_id)

    assert h.broker.canceled == []
    assert order.status is S.ACCEPTED  # back to working: the cancel was refused, not lost
    assert h.trading.state is TradingState.HALTED


# -- balances of a spot account ------------------------------------------------------------------


def test_a_spot_account_refuses_before_sending_what_its_free_balance_cannot_pay(make: Make) -> None:
    h = make(balances={"USDT": "150"})
    _market(h)
    resting = h.submit(limit(price="95"))  # locks 95 of the 150 USDT

    result = h.bus.execute(SubmitOrder(intent=limit(price="90")))  # 90 > 55 free
    short = h.bus.execute(SubmitOrder(intent=limit(side=SELL, price="105")))  # no BTC held

    assert [r.reason for r in result.rejections] == [RiskReason.INSUFFICIENT_BALANCE]
    assert "only 55 USDT is free" in result.rejections[0].message
    assert [r.reason for r in short.rejections] == [RiskReason.INSUFFICIENT_BALANCE]
    assert list(h.orders.open_orders) == [resting.client_order_id]
    assert [o.client_order_id for o in h.broker.open_orders()] == [resting.client_order_id]


def test_a_margin_account_lets_risk_pass_a_short_sale(make: Make) -> None:
    margin = PaperBrokerConfig(maker_fee_bps=Decimal(0), taker_fee_bps=Decimal(0), account="margin")
    h = make(balances={"USDT": "150"}, paper=margin)
    _market(h)
    order = h.submit(limit(side=SELL, price="105"))
    assert order.status is S.ACCEPTED


def test_orders_and_refusals_are_logged_with_plain_decimals(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    h = make(broker="recording", limits=RiskLimits(max_order_quantity=Decimal("0.5")))
    h.trade("100")
    caplog.set_level("INFO", "tradeplane.execution")

    h.submit(limit(quantity="0.10000000", price="100"))
    h.try_submit(limit(quantity="0.90000000", price="100"))

    assert "BUY 0.1 BTCUSDT.BINANCE" in caplog.text
    assert "BUY 0.9 BTCUSDT.BINANCE rejected" in caplog.text
    assert "0.10000000" not in caplog.text
