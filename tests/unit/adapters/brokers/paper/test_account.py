"""The paper venue keeps the account: a spot account cannot spend what it does not hold."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.brokers.paper import PaperBrokerConfig, VenueLog
from domain.errors import InvalidParameter
from domain.orders import Order, OrderStatus, OrderType
from domain.values import AggressorSide, OrderSide
from tests.builders import STEP_NS, TS, make_order
from tests.unit.adapters.brokers.paper.paper_venue import PaperVenue

LATER = TS + STEP_NS
FEES = PaperBrokerConfig(maker_fee_bps=Decimal(2), taker_fee_bps=Decimal(10))
MARGIN = PaperBrokerConfig(maker_fee_bps=Decimal(2), taker_fee_bps=Decimal(10), account="margin")


def _order(n: int, side: OrderSide, quantity: str, price: str | None = None) -> Order:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    return make_order(
        client_order_id=f"O-{n}", side=side, order_type=kind, quantity=quantity, price=price, ts_init=LATER
    )


def _venue(
    balances: dict[str, str], config: PaperBrokerConfig = FEES, log: VenueLog | None = None
) -> PaperVenue:
    venue = PaperVenue(config, balances=balances, log=log)
    venue.snapshot([("99.00", "5")], [("100.00", "1"), ("101.00", "4")])
    return venue


def _reason(order: Order) -> str:
    assert order.status is OrderStatus.REJECTED, order.status
    return order.events[-1].reason


def test_a_spot_account_cannot_sell_base_it_does_not_hold() -> None:
    venue = _venue({"USDT": "10000"})
    order = venue.submit(_order(1, OrderSide.SELL, "0.05"))
    assert _reason(order).startswith("insufficient balance: selling 0.05 BTC")
    assert "cannot sell short" in _reason(order)
    assert venue.broker.balances() == {"USDT": Decimal(10000)}


def test_a_resting_sell_locks_its_base_until_it_is_canceled() -> None:
    venue = _venue({"BTC": "1", "USDT": "0"})
    resting = venue.submit(_order(1, OrderSide.SELL, "0.8", "110.00"))
    assert resting.status is OrderStatus.ACCEPTED
    assert venue.broker.free("BTC") == Decimal("0.2")
    assert "0.2 BTC is free" in _reason(venue.submit(_order(2, OrderSide.SELL, "0.5", "110.00")))
    venue.cancel(resting, LATER)
    assert venue.submit(_order(3, OrderSide.SELL, "0.5", "110.00")).status is OrderStatus.ACCEPTED


def test_a_buy_limit_needs_its_notional_plus_the_higher_fee() -> None:
    # 1 × 95 plus 10 bps (the taker rate, the higher one) = 95.095
    short = _venue({"USDT": "95.094"})
    assert "needs up to 95.095 USDT" in _reason(short.submit(_order(1, OrderSide.BUY, "1", "95.00")))
    enough = _venue({"USDT": "95.095"})
    assert enough.submit(_order(1, OrderSide.BUY, "1", "95.00")).status is OrderStatus.ACCEPTED
    assert enough.broker.free("USDT") == Decimal(0)


def test_a_buy_market_needs_what_walking_the_book_costs() -> None:
    # 1 at 100 + 1 at 101 = 201, plus 10 bps taker = 201.201
    short = _venue({"USDT": "201.2"})
    assert "201.201" in _reason(short.submit(_order(1, OrderSide.BUY, "2")))
    enough = _venue({"USDT": "201.201"})
    order = enough.submit(_order(1, OrderSide.BUY, "2"))
    assert order.status is OrderStatus.FILLED
    assert enough.broker.balances() == {"USDT": Decimal(0), "BTC": Decimal(2)}


def test_fills_move_the_venue_account_both_ways() -> None:
    venue = _venue({"USDT": "1000"})
    venue.submit(_order(1, OrderSide.BUY, "1"))  # 100 + 0.1 fee
    venue.submit(_order(2, OrderSide.SELL, "1"))  # 99 - 0.099 fee
    assert venue.broker.balances() == {"USDT": Decimal("998.801"), "BTC": Decimal(0)}


def test_a_resting_buy_filled_as_maker_pays_the_maker_fee_and_unlocks() -> None:
    venue = _venue({"USDT": "1000"})
    order = venue.submit(_order(1, OrderSide.BUY, "1", "95.00"))
    venue.trade("94.00", "1", AggressorSide.SELLER, ts=LATER)
    assert order.status is OrderStatus.FILLED
    assert venue.broker.balances() == {"USDT": Decimal("904.981"), "BTC": Decimal(1)}  # 95 + 0.019
    assert venue.broker.free("USDT") == Decimal("904.981")


def test_a_margin_account_sells_short_within_equity_times_leverage() -> None:
    venue = _venue({"USDT": "100"}, MARGIN)
    # a short of 1 at 99 = 99 <= equity 100 × 1
    assert venue.submit(_order(1, OrderSide.SELL, "1")).status is OrderStatus.FILLED
    assert venue.broker.balances() == {"USDT": Decimal("198.901"), "BTC": Decimal(-1)}
    # one more: short 2 at 99 = 198 > equity 198.901 - 99 = 99.901
    assert "exceeds the margin allowed" in _reason(venue.submit(_order(2, OrderSide.SELL, "1")))


def test_leverage_widens_the_margin() -> None:
    config = PaperBrokerConfig(account="margin", max_leverage=Decimal(3))
    venue = _venue({"USDT": "100"}, config)
    assert venue.submit(_order(1, OrderSide.SELL, "3", "99.00")).status is OrderStatus.FILLED


def test_without_starting_balances_the_venue_checks_nothing() -> None:
    venue = PaperVenue(FEES)
    venue.snapshot([("99.00", "5")], [("100.00", "1")])
    assert venue.submit(_order(1, OrderSide.SELL, "1")).status is OrderStatus.FILLED
    assert venue.broker.balances() is None


def test_the_account_survives_restarts_without_counting_a_fill_twice(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    first = _venue({"USDT": "1000"}, log=VenueLog(path))
    first.submit(_order(1, OrderSide.BUY, "1"))
    first.submit(_order(2, OrderSide.BUY, "1", "95.00"))  # rests, locks 95.095
    first.trade("94.00", "0.5", AggressorSide.SELLER, ts=LATER)  # half of it fills as maker
    expected = first.broker.balances()
    assert expected == {"USDT": Decimal("852.3905"), "BTC": Decimal("1.5")}  # 1000 - 100.1 - 47.5095
    for _ in range(2):  # each start compacts the log; a second one must not recount its fills
        again = PaperVenue(FEES, balances={"USDT": "1000"}, log=VenueLog(path))
        assert again.broker.balances() == expected
    assert again.broker.free("USDT") == Decimal("852.3905") - Decimal("47.5475")
    again.snapshot([("99.00", "5")], [("100.00", "1")], ts=LATER)
    assert "insufficient balance" in _reason(again.submit(_order(3, OrderSide.SELL, "2")))


def test_the_account_type_is_validated() -> None:
    with pytest.raises(InvalidParameter, match="account"):
        PaperBrokerConfig(account="futures")
    with pytest.raises(InvalidParameter, match="max_leverage"):
        PaperBrokerConfig(account="margin", max_leverage=Decimal(0))
    assert PaperBrokerConfig.from_mapping({"account": "margin", "max_leverage": 2}).margin


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
            st.integers(min_value=1, max_value=30).map(lambda n: str(Decimal(n) / 10)),
            st.one_of(st.none(), st.sampled_from(["95.00", "99.00", "100.00", "102.00"])),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_a_spot_account_never_goes_below_zero(steps: list[tuple[OrderSide, str, str | None, bool]]) -> None:
    venue = _venue({"BTC": "1", "USDT": "300"})
    for n, (side, quantity, price, trade) in enumerate(steps):
        venue.submit(_order(n, side, quantity, price))
        if trade:
            aggressor = AggressorSide.SELLER if n % 2 else AggressorSide.BUYER
            venue.trade("94.00" if n % 2 else "105.00", "2", aggressor, ts=LATER, trade_id=f"X-{n}")
        balances = venue.broker.balances()
        assert balances is not None
        assert all(amount >= 0 for amount in balances.values()), balances
        for asset in ("BTC", "USDT"):
            free = venue.broker.free(asset)
            assert free is not None
            assert free >= 0, (asset, free)
