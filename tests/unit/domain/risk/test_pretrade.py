"""PreTradeRisk: every rule accepts at its limit and rejects just past it, naming limit and value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidValue, UnknownInstrument
from domain.orders import OrderType
from domain.risk import (
    APPROVED,
    InstrumentLimits,
    PreTradeRisk,
    RiskLimitBreached,
    RiskLimits,
    RiskReason,
    TradingState,
)

from .builders import BTC, BUY, ETH, ETHBTC, SEC, SELL, T0, check, hold, intent, portfolio, working

R = RiskReason


def risk(**limits: object) -> PreTradeRisk:
    return PreTradeRisk(RiskLimits.from_mapping(limits))


def only(decision: object, reason: RiskReason) -> None:
    assert decision.reasons == (reason,), decision.message  # type: ignore[attr-defined]


# -- max order quantity -------------------------------------------------------------------------


def test_max_order_quantity_accepts_the_limit_and_rejects_just_past_it() -> None:
    rules = risk(max_order_quantity="2")

    assert check(rules, intent(BUY, "2")) is APPROVED
    decision = check(rules, intent(BUY, "2.001"))

    only(decision, R.MAX_ORDER_QUANTITY)
    rejection = decision.rejections[0]
    assert rejection.message == "order quantity 2.001 exceeds the max order quantity 2 for BTCUSDT.BINANCE"
    assert (rejection.limit, rejection.value, rejection.instrument_id) == (Decimal(2), Decimal("2.001"), BTC)


def test_an_instrument_override_of_the_order_quantity_wins_over_the_global_limit() -> None:
    rules = PreTradeRisk(
        RiskLimits(
            max_order_quantity=Decimal(2),
            instrument_limits={BTC: InstrumentLimits(max_order_quantity=Decimal(5))},
        )
    )

    assert check(rules, intent(SELL, "5")).approved
    only(check(rules, intent(SELL, "5.001")), R.MAX_ORDER_QUANTITY)
    only(check(rules, intent(SELL, "2.001", instrument_id=ETH)), R.MAX_ORDER_QUANTITY)


# -- max order notional -------------------------------------------------------------------------


def test_max_order_notional_values_a_market_order_at_the_last_price() -> None:
    rules = risk(max_order_notional="150")

    assert check(rules, intent(BUY, "1.5"), last_price="100").approved
    decision = check(rules, intent(BUY, "1.501"), last_price="100")

    only(decision, R.MAX_ORDER_NOTIONAL)
    assert decision.rejections[0].message == (
        "order notional 150.1 USDT exceeds the max order notional 150 USDT for BTCUSDT.BINANCE"
    )
    assert decision.rejections[0].value == Decimal("150.1")


def test_max_order_notional_values_a_limit_at_its_price_and_a_stop_market_at_its_stop() -> None:
    rules = risk(max_order_notional="150")
    limit = intent(BUY, "1.5", order_type=OrderType.LIMIT, price="100")
    stop = intent(BUY, "1.5", order_type=OrderType.STOP_MARKET, stop_price="100.01")

    assert check(rules, limit, last_price="90").approved
    only(check(rules, stop, last_price="90"), R.MAX_ORDER_NOTIONAL)


def test_max_order_notional_converts_the_quote_currency_to_the_valuation_currency() -> None:
    rules = risk(max_order_notional="1000")  # USDT; ETHBTC is quoted in BTC, marked at 100 USDT
    book = portfolio()

    assert check(rules, intent(BUY, "200", instrument_id=ETHBTC), book=book, last_price="0.05").approved
    decision = check(rules, intent(BUY, "200.001", instrument_id=ETHBTC), book=book, last_price="0.05")
    only(decision, R.MAX_ORDER_NOTIONAL)
    assert decision.rejections[0].value == Decimal("1000.005")


def test_a_quote_currency_without_a_mark_cannot_be_valued() -> None:
    book = portfolio(marks={ETH: "100"})  # no BTCUSDT mark to value BTC

    decision = check(
        risk(max_order_notional="1000"), intent(instrument_id=ETHBTC), book=book, last_price="0.05"
    )

    only(decision, R.NO_MARKET_DATA)
    assert "no mark to value BTC in USDT" in decision.message


def test_a_market_order_without_a_last_price_cannot_be_valued() -> None:
    decision = check(risk(max_order_notional="150"), intent(BUY, "1"), last_price=None)

    only(decision, R.NO_MARKET_DATA)
    assert (
        decision.rejections[0].message
        == "no last trade price for BTCUSDT.BINANCE: cannot check the MARKET order"
    )


def test_no_limit_that_needs_a_price_means_no_price_is_needed() -> None:
    assert check(risk(max_order_quantity="5"), intent(BUY, "1"), last_price=None).approved


# -- max position -------------------------------------------------------------------------------


def test_max_position_counts_the_position_and_same_side_open_orders() -> None:
    rules = risk(max_position_quantity="3")
    book = portfolio()
    hold(book, BUY, "1")
    orders = [working(BUY, "1.5", filled="0.5"), working(SELL, "7")]  # buy leaves 1; sells do not count

    assert check(rules, intent(BUY, "1"), book=book, open_orders=orders).approved
    decision = check(rules, intent(BUY, "1.001"), book=book, open_orders=orders)

    only(decision, R.MAX_POSITION)
    assert decision.rejections[0].message == (
        "this BUY 1.001 would take the worst-case BTCUSDT.BINANCE position from 2 to 3.001"
        " (position 1, same-side open orders 1), beyond the max position 3"
    )
    assert (decision.rejections[0].limit, decision.rejections[0].value) == (Decimal(3), Decimal("3.001"))


def test_max_position_applies_to_shorts() -> None:
    rules = risk(max_position_quantity="3")
    orders = [working(SELL, "2")]

    assert check(rules, intent(SELL, "1"), open_orders=orders).approved
    only(check(rules, intent(SELL, "1.001"), open_orders=orders), R.MAX_POSITION)


def test_terminal_orders_are_not_working_orders() -> None:
    canceled = working(BUY, "10")
    canceled.cancel(T0)
    filled = working(BUY, "1", filled="1")

    assert check(
        risk(max_position_quantity="3", max_open_orders=1), intent(BUY, "3"), open_orders=[canceled, filled]
    ).approved


def test_a_position_over_a_lowered_limit_may_still_be_cut_but_not_grown_or_flipped() -> None:
    rules = risk(max_position_quantity="3")
    book = portfolio()
    hold(book, BUY, "5")

    assert check(rules, intent(SELL, "1"), book=book).approved
    only(check(rules, intent(BUY, "0.001"), book=book), R.MAX_POSITION)
    only(check(rules, intent(SELL, "9"), book=book), R.MAX_POSITION)  # to -4


def test_a_per_instrument_position_override_applies() -> None:
    rules = PreTradeRisk(
        RiskLimits(
            max_position_quantity=Decimal(1),
            instrument_limits={ETH: InstrumentLimits(max_position_quantity=Decimal(4))},
        )
    )

    assert check(rules, intent(BUY, "4", instrument_id=ETH)).approved
    only(check(rules, intent(BUY, "1.001")), R.MAX_POSITION)


# -- max gross exposure -------------------------------------------------------------------------


def test_max_gross_exposure_sums_worst_case_positions_across_instruments() -> None:
    rules = risk(max_gross_exposure="1000")
    book = portfolio()
    hold(book, BUY, "5")  # 500 at the BTC mark 100
    orders = [working(SELL, "2", instrument_id=ETH)]  # a short of 2 ETH at the mark 100: 200

    assert check(rules, intent(BUY, "3"), book=book, open_orders=orders).approved  # 800 + 200
    decision = check(rules, intent(BUY, "3.001"), book=book, open_orders=orders)

    only(decision, R.MAX_GROSS_EXPOSURE)
    assert decision.rejections[0].message == (
        "worst-case gross exposure 1000.1 USDT would exceed the max gross exposure 1000 USDT"
        " with this BUY 3.001 BTCUSDT.BINANCE"
    )


def test_gross_exposure_takes_the_larger_side_of_an_instrument() -> None:
    rules = risk(max_gross_exposure="600")
    book = portfolio()
    hold(book, BUY, "2")
    orders = [working(SELL, "6")]  # worst case: short 4 -> 400; buying 3 makes the long side 5 -> 500

    assert check(rules, intent(BUY, "4"), book=book, open_orders=orders).approved  # long 6 -> 600
    only(check(rules, intent(BUY, "4.001"), book=book, open_orders=orders), R.MAX_GROSS_EXPOSURE)


def test_gross_exposure_values_a_limit_order_at_the_higher_of_its_price_and_the_last_price() -> None:
    rules = risk(max_gross_exposure="1000")
    bid = intent(BUY, "10", order_type=OrderType.LIMIT, price="90")
    ask = intent(SELL, "9.1", order_type=OrderType.LIMIT, price="110")

    only(check(rules, intent(BUY, "10.001"), last_price="100"), R.MAX_GROSS_EXPOSURE)
    assert check(rules, bid, last_price="100").approved  # valued at 100, not 90
    only(check(rules, ask, last_price="100"), R.MAX_GROSS_EXPOSURE)  # valued at 110: 1001


def test_gross_exposure_over_the_limit_still_lets_an_intent_cut_it() -> None:
    rules = risk(max_gross_exposure="1000")
    book = portfolio(marks={BTC: "300", ETH: "100"})
    hold(book, BUY, "5", price="100")  # marks went up: 1500 > 1000

    assert check(rules, intent(SELL, "1"), book=book, last_price="300").approved
    only(check(rules, intent(BUY, "0.001"), book=book, last_price="300"), R.MAX_GROSS_EXPOSURE)


def test_gross_exposure_needs_a_mark_for_every_instrument_it_holds() -> None:
    rules = risk(max_gross_exposure="1000")
    book = portfolio(marks={BTC: "100"})
    orders = [working(BUY, "1", instrument_id=ETH)]

    decision = check(rules, intent(BUY, "1"), book=book, open_orders=orders)

    only(decision, R.NO_MARKET_DATA)
    assert "no mark to value the exposure in ETHUSDT.BINANCE" in decision.message


# -- price band ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("side", "inside", "outside"), [(BUY, "105", "105.01"), (SELL, "95", "94.99")])
def test_the_price_band_accepts_its_edge_and_rejects_just_past_it(
    side: object, inside: str, outside: str
) -> None:
    rules = risk(price_band_fraction="0.05")
    limit = OrderType.LIMIT

    assert check(rules, intent(side, order_type=limit, price=inside), last_price="100").approved  # type: ignore[arg-type]
    decision = check(rules, intent(side, order_type=limit, price=outside), last_price="100")  # type: ignore[arg-type]

    only(decision, R.PRICE_BAND)
    assert decision.rejections[0].message == (
        f"limit price {outside} is 5.01% from the last trade 100 for BTCUSDT.BINANCE,"
        " beyond the price band 5%"
    )
    assert (decision.rejections[0].limit, decision.rejections[0].value) == (
        Decimal("0.05"),
        Decimal("0.0501"),
    )


def test_the_price_band_applies_to_limit_prices_only() -> None:
    rules = risk(price_band_fraction="0.05")

    assert check(rules, intent(BUY), last_price="100").approved
    assert check(rules, intent(BUY, order_type=OrderType.STOP_MARKET, stop_price="150")).approved
    only(
        check(rules, intent(BUY, order_type=OrderType.STOP_LIMIT, price="150", stop_price="150")),
        R.PRICE_BAND,
    )


def test_the_price_band_needs_a_last_price() -> None:
    decision = check(
        risk(price_band_fraction="0.05"), intent(order_type=OrderType.LIMIT, price="100"), last_price=None
    )

    only(decision, R.NO_MARKET_DATA)


# -- order rate ---------------------------------------------------------------------------------


def test_the_rate_limit_accepts_n_orders_per_window_and_frees_a_slot_exactly_one_window_later() -> None:
    rules = risk(max_orders_per_window=2, window_ns=SEC)

    assert check(rules, intent(), now_ns=T0).approved
    assert check(rules, intent(), now_ns=T0 + 1).approved
    decision = check(rules, intent(), now_ns=T0 + SEC - 1)

    only(decision, R.RATE_LIMIT)
    assert decision.rejections[0].message == (
        "3 orders within 1s would exceed the rate limit of 2 per 1s (next slot in 1ns)"
    )
    assert (decision.rejections[0].limit, decision.rejections[0].value) == (2, 3)
    assert check(rules, intent(), now_ns=T0 + SEC).approved


def test_a_rejected_intent_does_not_use_the_rate_budget() -> None:
    rules = risk(max_orders_per_window=1, window_ns=SEC, max_order_quantity="1")

    only(check(rules, intent(BUY, "2")), R.MAX_ORDER_QUANTITY)

    assert check(rules, intent(BUY, "1")).approved


def test_a_what_if_check_records_nothing_until_the_order_is_recorded() -> None:
    rules = risk(max_orders_per_window=1, window_ns=SEC)

    assert check(rules, intent(), record=False).approved
    assert check(rules, intent(), record=False).approved
    rules.record_submission(T0)

    only(check(rules, intent(), record=False), R.RATE_LIMIT)


def test_time_going_backwards_is_refused() -> None:
    rules = risk(max_orders_per_window=5, window_ns=SEC)
    check(rules, intent(), now_ns=T0)

    with pytest.raises(InvalidValue, match="went backwards") as caught:
        check(rules, intent(), now_ns=T0 - 1)
    assert caught.value.field == "now_ns"


# -- open orders --------------------------------------------------------------------------------


def test_max_open_orders_accepts_the_limit_and_rejects_one_more() -> None:
    rules = risk(max_open_orders=2)

    assert check(rules, intent(), open_orders=[working(BUY, "1")]).approved
    decision = check(rules, intent(), open_orders=[working(BUY, "1"), working(SELL, "1", instrument_id=ETH)])

    only(decision, R.MAX_OPEN_ORDERS)
    assert decision.rejections[0].message == "3 open orders would exceed the max open orders 2"
    assert (decision.rejections[0].limit, decision.rejections[0].value) == (2, 3)


# -- market data --------------------------------------------------------------------------------


def test_the_stale_data_guard_accepts_the_max_age_and_rejects_one_nanosecond_more() -> None:
    rules = risk(max_data_age_ns=5 * SEC)

    assert check(rules, intent(), last_price_ts=T0, now_ns=T0 + 5 * SEC).approved
    decision = check(rules, intent(), last_price_ts=T0, now_ns=T0 + 5 * SEC + 1)

    only(decision, R.STALE_MARKET_DATA)
    assert decision.rejections[0].message == (
        "the last BTCUSDT.BINANCE trade is 5000000001ns old, older than the max data age 5s"
    )
    assert (decision.rejections[0].limit, decision.rejections[0].value) == (5 * SEC, 5 * SEC + 1)


def test_the_stale_data_guard_rejects_an_unknown_age_and_a_missing_price() -> None:
    rules = risk(max_data_age_ns=SEC)

    only(check(rules, intent(), last_price_ts=None), R.STALE_MARKET_DATA)
    only(check(rules, intent(), last_price=None), R.NO_MARKET_DATA)


def test_a_trade_stamped_slightly_in_the_future_is_fresh() -> None:
    assert check(risk(max_data_age_ns=SEC), intent(), last_price_ts=T0 + 10, now_ns=T0).approved


# -- trading state ------------------------------------------------------------------------------


def test_halted_rejects_everything_even_an_exit() -> None:
    book = portfolio()
    hold(book, BUY, "2")

    decision = check(risk(), intent(SELL, "2", reduce_only=True), book=book, state=TradingState.HALTED)

    only(decision, R.TRADING_HALTED)
    assert decision.rejections[0].message == "trading is HALTED: no order may be placed"


def test_reduce_only_lets_through_only_what_reduces_the_worst_case_position() -> None:
    rules = risk()
    book = portfolio()
    hold(book, BUY, "2")
    state = TradingState.REDUCE_ONLY

    assert check(rules, intent(SELL, "1"), book=book, state=state).approved
    assert check(rules, intent(SELL, "2"), book=book, state=state).approved
    decision = check(rules, intent(SELL, "2.001"), book=book, state=state)  # would flip short
    only(decision, R.REDUCE_ONLY)
    assert decision.rejections[0].message == (
        "trading is REDUCE_ONLY but this SELL 2.001 would take the worst-case BTCUSDT.BINANCE position"
        " from 2 to -0.001: only an order that reduces |position| may pass"
    )
    only(check(rules, intent(BUY, "0.001"), book=book, state=state), R.REDUCE_ONLY)
    only(check(rules, intent(SELL, "1"), state=state), R.REDUCE_ONLY)  # flat: nothing reduces


def test_reduce_only_counts_open_orders_that_already_reduce() -> None:
    book = portfolio()
    hold(book, BUY, "2")
    orders = [working(SELL, "1.5")]

    assert check(
        risk(), intent(SELL, "0.5"), book=book, open_orders=orders, state=TradingState.REDUCE_ONLY
    ).approved
    only(
        check(risk(), intent(SELL, "0.501"), book=book, open_orders=orders, state=TradingState.REDUCE_ONLY),
        R.REDUCE_ONLY,
    )


def test_a_reduce_only_intent_that_would_not_reduce_is_rejected_even_when_active() -> None:
    book = portfolio()
    hold(book, SELL, "1")

    assert check(risk(), intent(BUY, "1", reduce_only=True), book=book).approved
    decision = check(risk(), intent(BUY, "1.5", reduce_only=True), book=book)
    only(decision, R.REDUCE_ONLY)
    assert decision.message.startswith("the intent is reduce-only but this BUY 1.5")


# -- the decision -------------------------------------------------------------------------------


def test_every_failing_rule_is_reported_in_a_fixed_order() -> None:
    rules = risk(
        max_order_quantity="1", max_position_quantity="1", max_open_orders=1, price_band_fraction="0.01"
    )
    order = intent(BUY, "2", order_type=OrderType.LIMIT, price="110")

    decision = check(rules, order, open_orders=[working(BUY, "1")], state=TradingState.REDUCE_ONLY)

    assert decision.reasons == (
        R.REDUCE_ONLY,
        R.MAX_ORDER_QUANTITY,
        R.MAX_POSITION,
        R.MAX_OPEN_ORDERS,
        R.PRICE_BAND,
    )
    assert not decision.approved
    with pytest.raises(RiskLimitBreached) as caught:
        decision.raise_if_rejected()
    assert caught.value.rejections == decision.rejections
    assert (caught.value.reason, caught.value.code) == (R.REDUCE_ONLY, "RISK_LIMIT_BREACHED")
    assert str(caught.value) == decision.message


def test_an_approved_decision_says_so() -> None:
    decision = check(risk(), intent())

    assert decision.approved
    assert decision.reasons == ()
    assert decision.message == "approved"
    decision.raise_if_rejected()


def test_new_limits_take_effect_at_once_and_keep_the_rate_history() -> None:
    rules = risk(max_order_quantity="1", max_orders_per_window=2, window_ns=SEC)
    check(rules, intent(), now_ns=T0)

    rules.update_limits(RiskLimits(max_order_quantity=Decimal(5), max_orders_per_window=1, window_ns=SEC))

    assert rules.limits.max_order_quantity == 5
    only(check(rules, intent(BUY, "5"), now_ns=T0 + 1), R.RATE_LIMIT)
    assert check(rules, intent(BUY, "5"), now_ns=T0 + SEC).approved


def test_removing_the_rate_limit_removes_the_throttle() -> None:
    rules = risk(max_orders_per_window=1, window_ns=SEC)
    check(rules, intent())

    rules.update_limits(RiskLimits())

    assert rules.throttle is None
    assert check(rules, intent()).approved


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("now_ns", {"now_ns": -1}),
        ("now_ns", {"now_ns": True}),
        ("last_price", {"last_price": 100.0}),
        ("last_price", {"last_price": Decimal(0)}),
        ("last_price", {"last_price": Decimal("NaN")}),
        ("trading_state", {"trading_state": "ACTIVE"}),
        ("last_price_ts", {"last_price_ts": 1.5}),
        ("last_price_ts", {"last_price_ts": False}),
    ],
)
def test_malformed_inputs_are_refused_naming_them(field: str, kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "portfolio": portfolio(),
        "open_orders": [],
        "last_price": Decimal(100),
        "last_price_ts": T0,
        "now_ns": T0,
        "trading_state": TradingState.ACTIVE,
    } | kwargs

    with pytest.raises(InvalidValue) as caught:
        risk().check(intent(), **arguments)  # type: ignore[arg-type]

    assert caught.value.field == field


def test_an_unknown_instrument_is_refused() -> None:
    with pytest.raises(UnknownInstrument):
        check(risk(), intent(instrument_id=type(BTC)("SOLUSDT.BINANCE")))


def test_limits_must_be_risk_limits() -> None:
    with pytest.raises(InvalidValue):
        PreTradeRisk({"max_open_orders": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        risk().update_limits({"max_open_orders": 1})  # type: ignore[arg-type]
