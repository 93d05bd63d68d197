"""A spot account's free balance pays for every order: INSUFFICIENT_BALANCE otherwise."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.intents import OrderIntent
from domain.orders import Order, OrderType
from domain.portfolio import Portfolio
from domain.risk import APPROVED, PreTradeRisk, RiskDecision, RiskLimits, RiskReason, TradingState

from .builders import BUY, SELL, T0, hold, intent, portfolio, working

RULES = PreTradeRisk(RiskLimits())


def spot(
    order: OrderIntent,
    book: Portfolio,
    open_orders: tuple[Order, ...] = (),
    *,
    spot_account: bool = True,
    last_price: str | None = "100",
) -> RiskDecision:
    return RULES.check(
        order,
        portfolio=book,
        open_orders=open_orders,
        last_price=None if last_price is None else Decimal(last_price),
        last_price_ts=T0,
        now_ns=T0,
        trading_state=TradingState.ACTIVE,
        spot_account=spot_account,
    )


def test_a_sell_beyond_the_base_held_is_refused_with_its_own_reason() -> None:
    book = portfolio(cash="1000")
    decision = spot(intent(SELL, "0.05"), book)
    assert decision.reasons == (RiskReason.INSUFFICIENT_BALANCE,)
    assert "selling 0.05 BTC needs 0.05 BTC, only 0 BTC is free" in decision.message


def test_a_margin_account_is_not_held_to_its_balances() -> None:
    assert spot(intent(SELL, "0.05"), portfolio(cash="1000"), spot_account=False) is APPROVED


def test_a_sell_of_what_is_held_passes_unless_working_sells_lock_it() -> None:
    book = portfolio(cash="1000")
    hold(book, BUY, "1")  # 1 BTC for 100 USDT
    assert spot(intent(SELL, "1"), book) is APPROVED
    decision = spot(intent(SELL, "0.5"), book, (working(SELL, "0.8", price="120"),))
    assert decision.reasons == (RiskReason.INSUFFICIENT_BALANCE,)
    assert "only 0.2 BTC is free" in decision.message
    partly = working(SELL, "0.8", price="120", filled="0.3")  # its fill already left the balance
    hold(book, SELL, "0.3", "120")
    assert spot(intent(SELL, "0.2"), book, (partly,)) is APPROVED


def test_a_buy_needs_its_notional_in_free_quote() -> None:
    book = portfolio(cash="100")
    assert spot(intent(BUY, "1"), book) is APPROVED  # market, at the last price 100
    assert spot(intent(BUY, "1.01"), book).reasons == (RiskReason.INSUFFICIENT_BALANCE,)
    limit = intent(BUY, "1", order_type=OrderType.LIMIT, price="90")
    assert spot(limit, book, (working(BUY, "0.1", price="100"),)) is APPROVED  # 90 <= 100 - 10
    decision = spot(limit, book, (working(BUY, "0.2", price="100"),))
    assert "buying 1 BTC needs 90 USDT, only 80 USDT is free" in decision.message


def test_a_market_buy_without_a_price_is_left_to_the_rules_that_need_one() -> None:
    assert spot(intent(BUY, "1000"), portfolio(cash="1"), last_price=None).reasons != (
        RiskReason.INSUFFICIENT_BALANCE,
    )


@settings(max_examples=100, deadline=None)
@given(
    held=st.integers(min_value=0, max_value=50),
    locked=st.integers(min_value=0, max_value=50),
    wanted=st.integers(min_value=1, max_value=100),
)
def test_a_sell_passes_exactly_when_the_free_base_covers_it(held: int, locked: int, wanted: int) -> None:
    book = portfolio(cash="100000")
    if held:
        hold(book, BUY, str(Decimal(held) / 10))
    orders = (working(SELL, str(Decimal(locked) / 10)),) if locked else ()
    decision = spot(intent(SELL, str(Decimal(wanted) / 10)), book, orders)
    refused = RiskReason.INSUFFICIENT_BALANCE in decision.reasons
    assert refused == (wanted > held - locked)
