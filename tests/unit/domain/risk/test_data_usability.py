"""Usable market data: one definition for health and the pre-trade refusals FEED_DOWN and BOOK_OUT_OF_SYNC."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValue
from domain.risk import MarketDataState, PreTradeRisk, RiskLimits, RiskReason, TradingState

from .builders import BTC, ETH, SEC, T0, intent, portfolio

R = RiskReason


def state(**fields: object) -> MarketDataState:
    return MarketDataState(instrument_id=BTC, **{"last_price_ts": T0, **fields})  # type: ignore[arg-type]


def decide(data: MarketDataState | None, *, max_age: int | None = 10 * SEC, now: int = T0) -> tuple[R, ...]:
    risk = PreTradeRisk(RiskLimits(max_data_age_ns=max_age))
    return risk.check(
        intent(),
        portfolio=portfolio(),
        open_orders=(),
        last_price=Decimal(100),
        last_price_ts=data.last_price_ts if data is not None else T0,
        now_ns=now,
        trading_state=TradingState.ACTIVE,
        data=data,
    ).reasons


def test_fresh_connected_synced_data_is_usable_and_passes() -> None:
    data = state(book_synced=True)

    assert data.usable(T0 + SEC, 10 * SEC)
    assert data.problem(T0 + SEC, 10 * SEC) is None
    assert decide(data, now=T0 + SEC) == ()


def test_a_disconnected_feed_refuses_new_orders_with_feed_down_even_on_a_fresh_price() -> None:
    data = state(connected=False, disconnect_reason="connection lost")

    assert decide(data) == (R.FEED_DOWN,)
    assert data.problem(T0, 10 * SEC) == (
        R.FEED_DOWN,
        "the market-data feed of BTCUSDT.BINANCE is disconnected: connection lost",
    )
    assert not data.usable(T0, None)


def test_a_book_out_of_sync_refuses_new_orders_with_its_own_reason() -> None:
    data = state(book_synced=False, book_reason="gap at update ids 5..7")

    assert decide(data) == (R.BOOK_OUT_OF_SYNC,)
    reason, message = data.problem(T0, 10 * SEC) or (None, "")
    assert reason is R.BOOK_OUT_OF_SYNC
    assert message == "the BTCUSDT.BINANCE order book is out of sync: gap at update ids 5..7"


def test_both_problems_are_reported_and_a_feed_down_comes_first() -> None:
    data = state(connected=False, book_synced=False)

    assert decide(data) == (R.FEED_DOWN, R.BOOK_OUT_OF_SYNC)
    assert (data.problem(T0, None) or (None,))[0] is R.FEED_DOWN


def test_an_instrument_without_a_book_is_judged_on_connection_and_age() -> None:
    assert state(book_synced=None).usable(T0, SEC)
    assert decide(state(book_synced=None)) == ()


def test_age_past_the_limit_or_no_price_is_unusable_and_risk_agrees() -> None:
    stale = state()
    assert stale.usable(T0 + 10 * SEC, 10 * SEC)
    assert not stale.usable(T0 + 10 * SEC + 1, 10 * SEC)
    assert decide(stale, now=T0 + 10 * SEC + 1) == (R.STALE_MARKET_DATA,)
    assert state(last_price_ts=None).problem(T0, None) == (
        R.NO_MARKET_DATA,
        "no price received for BTCUSDT.BINANCE yet",
    )
    assert stale.usable(T0 + 365 * 86_400 * SEC, None)  # no limit: the age is not judged


def test_without_data_the_feed_rules_are_not_applied() -> None:
    assert decide(None) == ()


def test_data_of_another_instrument_is_refused_naming_the_argument() -> None:
    with pytest.raises(InvalidValue, match=r"data must be the MarketDataState of BTCUSDT\.BINANCE"):
        decide(MarketDataState(instrument_id=ETH, last_price_ts=T0))


@given(
    connected=st.booleans(),
    book=st.sampled_from([None, True, False]),
    age=st.one_of(st.none(), st.integers(min_value=-SEC, max_value=20 * SEC)),
    max_age=st.one_of(st.none(), st.integers(min_value=1, max_value=15 * SEC)),
)
def test_usable_exactly_when_risk_has_no_data_reason_to_refuse(
    connected: bool, book: bool | None, age: int | None, max_age: int | None
) -> None:
    """The health notion and the pre-trade guard never disagree about the data."""
    data = state(connected=connected, book_synced=book, last_price_ts=None if age is None else T0 - age)
    risk = PreTradeRisk(RiskLimits(max_data_age_ns=max_age))
    reasons = risk.check(
        intent(),
        portfolio=portfolio(),
        open_orders=(),
        last_price=Decimal(100) if age is not None else None,
        last_price_ts=data.last_price_ts,
        now_ns=T0,
        trading_state=TradingState.ACTIVE,
        data=data,
    ).reasons
    data_reasons = {R.FEED_DOWN, R.BOOK_OUT_OF_SYNC, R.STALE_MARKET_DATA, R.NO_MARKET_DATA}
    refused = bool(data_reasons & set(reasons))
    if max_age is None and age is None:
        # no age limit: risk prices a market order only when a rule needs it; health still needs a price
        assert not data.usable(T0, max_age)
    else:
        assert data.usable(T0, max_age) is not refused
