"""domain.positions: average-cost positions, realized and unrealized P&L, fees, the fold of fills."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from domain.orders import Fill
from domain.positions import Position, PositionSide
from domain.values import OrderSide
from tests.builders import BTCUSDT, ETHUSDT, STEP_NS, TS, make_fill

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def fill(side: OrderSide, quantity: str, price: str, fee: str = "0", n: int = 1) -> Fill:
    return make_fill(
        side=side, quantity=quantity, price=price, fee=fee, trade_id=f"T-{n}", ts_event=TS + n * STEP_NS
    )


def test_a_new_position_is_flat_with_nothing_realized() -> None:
    position = Position(BTCUSDT)
    assert position.is_flat
    assert position.side is PositionSide.FLAT
    assert position.avg_entry_price is None
    assert position.state() == (0, 0, 0, 0, 0)
    assert position.unrealized_pnl(Decimal(100)) == 0
    assert position.total_pnl(Decimal(100)) == 0


def test_opening_a_long_sets_quantity_cost_average_and_fees() -> None:
    position = Position(BTCUSDT)
    realized = position.apply(fill(BUY, "2", "100", fee="0.2"))
    assert realized == 0
    assert position.side is PositionSide.LONG
    assert position.quantity == 2
    assert position.cost == 200
    assert position.avg_entry_price == 100
    assert position.fees == Decimal("0.2")
    assert position.unrealized_pnl(Decimal(110)) == 20
    assert position.total_pnl(Decimal(110)) == Decimal("19.8")
    assert position.notional(Decimal(110)) == 220


def test_add_reduce_flip_and_close_with_hand_computed_pnl() -> None:
    position = Position(BTCUSDT)
    position.apply(fill(BUY, "2", "100", fee="0.2", n=1))

    # Add: 3 at an average of (200 + 130) / 3 = 110.
    assert position.apply(fill(BUY, "1", "130", fee="0.13", n=2)) == 0
    assert (position.quantity, position.cost, position.avg_entry_price) == (3, 330, 110)

    # Reduce: sell 1 at 140 against an average of 110 realizes 30; the average stays 110.
    assert position.apply(fill(SELL, "1", "140", fee="0.14", n=3)) == 30
    assert (position.quantity, position.cost, position.avg_entry_price) == (2, 220, 110)
    assert position.realized_pnl == 30

    # Flip: sell 5 at 120 closes 2 (realizing 2 × (120 − 110) = 20) and opens 3 short at 120.
    assert position.apply(fill(SELL, "5", "120", fee="0.6", n=4)) == 20
    assert position.side is PositionSide.SHORT
    assert (position.quantity, position.cost, position.avg_entry_price) == (-3, -360, 120)
    assert position.realized_pnl == 50
    assert position.unrealized_pnl(Decimal(100)) == 60  # short 3 from 120, marked at 100
    assert position.total_pnl(Decimal(100)) == Decimal("108.93")  # 50 + 60 − 1.07 fees

    # Reduce the short: buy 1 at 110 against 120 realizes 10.
    assert position.apply(fill(BUY, "1", "110", fee="0.11", n=5)) == 10
    assert (position.quantity, position.cost, position.avg_entry_price) == (-2, -240, 120)

    # Close: buy 2 at 125 against 120 loses 10; flat again.
    assert position.apply(fill(BUY, "2", "125", n=6)) == -10
    assert position.is_flat
    assert position.side is PositionSide.FLAT
    assert (position.quantity, position.cost, position.avg_entry_price) == (0, 0, None)
    assert position.realized_pnl == 50  # = −200 −130 +140 +600 −110 −250, the net cash flow
    assert position.fees == Decimal("1.18")
    assert position.fill_count == 6
    assert position.ts_last == TS + 6 * STEP_NS


def test_a_short_from_flat_and_its_cover() -> None:
    position = Position(BTCUSDT)
    position.apply(fill(SELL, "0.5", "200", n=1))
    assert (position.quantity, position.cost, position.avg_entry_price) == (Decimal("-0.5"), -100, 200)
    assert position.unrealized_pnl(Decimal(180)) == 10
    assert position.apply(fill(BUY, "0.5", "190", n=2)) == 5
    assert position.is_flat


def test_flipping_a_short_into_a_long_opens_the_rest_at_the_fill_price() -> None:
    position = Position(BTCUSDT)
    position.apply(fill(SELL, "1", "100", n=1))
    assert position.apply(fill(BUY, "3", "90", n=2)) == 10
    assert (position.quantity, position.cost, position.avg_entry_price) == (2, 180, 90)


def test_an_average_that_does_not_terminate_realizes_exactly_the_net_cash_flow() -> None:
    position = Position(BTCUSDT)
    position.apply(fill(BUY, "1", "100", n=1))
    position.apply(fill(BUY, "2", "100.01", n=2))
    assert position.avg_entry_price == Decimal("100.0066666666666666666666666666666666667")

    # A third of the cost is removed, rounded to 1e-20; realized and cost use the same amount.
    assert position.apply(fill(SELL, "1", "100", n=3)) == Decimal("-0.00666666666666666667")
    assert position.cost == Decimal("200.01333333333333333333")
    assert position.apply(fill(SELL, "2", "100", n=4)) == Decimal("-0.01333333333333333333")
    assert position.realized_pnl == Decimal("-0.02")  # 300 − 300.02, with nothing lost to rounding
    assert position.cost == 0


def test_a_maker_rebate_reduces_fees() -> None:
    position = Position(BTCUSDT)
    position.apply(fill(BUY, "1", "100", fee="0.10", n=1))
    position.apply(fill(SELL, "1", "101", fee="-0.02", n=2))
    assert position.fees == Decimal("0.08")
    assert position.total_pnl(Decimal(1)) == Decimal("0.92")


def test_pnl_keeps_every_digit_when_products_pass_28_digits() -> None:
    # Short 1234567.12345678 at 12345678.12345678, covered one unit of price higher: the
    # loss is exactly the quantity, though quantity × price has 31 significant digits.
    quantity = "1234567.12345678"
    position = Position(BTCUSDT)
    position.apply(fill(SELL, quantity, "12345678.12345678", n=1))
    assert position.unrealized_pnl(Decimal("12345679.12345678")) == Decimal("-" + quantity)
    assert position.apply(fill(BUY, quantity, "12345679.12345678", n=2)) == Decimal("-" + quantity)
    assert position.realized_pnl == Decimal("-" + quantity)
    assert position.cost == 0


def test_a_partial_close_of_a_large_position_keeps_every_digit() -> None:
    position = Position(BTCUSDT)
    position.apply(fill(BUY, "2469134.24691356", "12345678.12345678", n=1))
    assert position.apply(fill(SELL, "1234567.12345678", "12345679.12345678", n=2)) == Decimal(
        "1234567.12345678"
    )
    assert position.quantity == Decimal("1234567.12345678")
    position.apply(fill(SELL, "3703701.37037034", "12345678.12345678", n=3))  # flips short 2x
    assert position.quantity == Decimal("-2469134.24691356")
    assert position.realized_pnl == Decimal("1234567.12345678")


def test_a_fill_for_another_instrument_is_refused_and_changes_nothing() -> None:
    position = Position(BTCUSDT)
    position.apply(fill(BUY, "1", "100"))
    before = position.state()
    with pytest.raises(
        InvalidValue, match=re.escape("fill.instrument_id does not match position BTCUSDT.BINANCE")
    ):
        position.apply(make_fill(instrument_id=ETHUSDT, trade_id="T-9"))
    assert position.state() == before


def test_from_fills_is_the_same_as_applying_each_fill() -> None:
    fills = [
        fill(BUY, "2", "100", "0.2", 1),
        fill(SELL, "3", "110", "0.3", 2),
        fill(BUY, "0.5", "105", "-0.01", 3),
    ]
    position = Position(BTCUSDT)
    for each in fills:
        position.apply(each)
    assert Position.from_fills(BTCUSDT, fills).state() == position.state()


def test_total_pnl_does_not_depend_on_the_fill_order_but_the_split_does() -> None:
    first = [fill(BUY, "1", "100", n=1), fill(SELL, "1", "120", n=2), fill(BUY, "1", "110", n=3)]
    second = [first[0], first[2], first[1]]
    a = Position.from_fills(BTCUSDT, first)
    b = Position.from_fills(BTCUSDT, second)
    mark = Decimal(130)
    assert a.quantity == b.quantity == 1
    assert a.total_pnl(mark) == b.total_pnl(mark) == 40
    # Realized against a different cost basis: 20 (100 -> 120) versus 15 (105 average -> 120).
    assert (a.realized_pnl, a.unrealized_pnl(mark)) == (20, 20)
    assert (b.realized_pnl, b.unrealized_pnl(mark)) == (15, 25)


def test_ts_last_is_the_latest_fill_time_even_when_fills_arrive_out_of_order() -> None:
    position = Position(BTCUSDT)
    position.apply(fill(BUY, "1", "100", n=5))
    position.apply(fill(BUY, "1", "100", n=2))
    assert position.ts_last == TS + 5 * STEP_NS


def test_position_repr_names_the_position() -> None:
    position = Position.from_fills(BTCUSDT, [fill(BUY, "2", "100", "0.1")])
    assert repr(position) == "Position(BTCUSDT.BINANCE qty=2 avg=100 realized=0 fees=0.1)"


# -- fees by the asset they are paid in ------------------------------------------------------


def paid_in(asset: str, side: OrderSide, quantity: str, price: str, *, fee: str, n: int = 1) -> Fill:
    return replace(fill(side, quantity, price, fee, n), fee_asset=asset)


def state(
    quantity: str, cost: str, realized: str, fees: str, count: int
) -> tuple[Decimal, Decimal, Decimal, Decimal, int]:
    return (Decimal(quantity), Decimal(cost), Decimal(realized), Decimal(fees), count)


def btc_position() -> Position:
    return Position(BTCUSDT, base="BTC", quote="USDT")


@pytest.mark.parametrize("asset", ["", "USDT"])
def test_a_fee_in_the_quote_currency_is_added_to_fees(asset: str) -> None:
    position = btc_position()
    position.apply(paid_in(asset, BUY, "2", "100", fee="0.2"))
    assert position.state() == state("2", "200", "0", "0.2", 1)


def test_a_buy_paying_its_fee_in_the_base_asset_holds_the_quantity_less_the_fee_at_the_fill_price() -> None:
    position = btc_position()
    assert position.apply(paid_in("BTC", BUY, "2", "100", fee="0.002")) == 0
    assert position.quantity == Decimal("1.998")
    assert position.avg_entry_price == 100
    assert position.cost == Decimal("199.800")
    assert position.fees == Decimal("0.200")  # 0.002 BTC at 100
    # All of what the account holds can be sold, and the round trip nets the fee.
    position.apply(paid_in("USDT", SELL, "1.998", "110", fee="0.1", n=2))
    assert position.is_flat
    assert position.realized_pnl == Decimal("19.980")
    assert position.total_pnl(Decimal(1)) == Decimal("19.680")  # 1.998 × 110 − 2 × 100 − 0.1


def test_a_sell_paying_its_fee_in_the_base_asset_gives_up_the_fee_too() -> None:
    position = btc_position()
    position.apply(paid_in("BTC", BUY, "3", "100", fee="0", n=1))
    realized = position.apply(paid_in("BTC", SELL, "1", "120", fee="0.01", n=2))
    assert position.quantity == Decimal("1.99")
    assert realized == Decimal("20.20")  # 1.01 BTC leave at 120 against a cost of 100
    assert position.fees == Decimal("1.20")  # 0.01 BTC at 120
    assert position.avg_entry_price == 100


def test_a_base_asset_rebate_adds_to_the_quantity() -> None:
    position = btc_position()
    position.apply(paid_in("BTC", BUY, "1", "100", fee="-0.001"))
    assert position.quantity == Decimal("1.001")
    assert position.fees == Decimal("-0.100")


def test_a_fee_in_a_third_asset_leaves_quantity_and_fees_alone() -> None:
    position = btc_position()
    position.apply(paid_in("BNB", BUY, "2", "100", fee="0.0003"))
    assert position.state() == state("2", "200", "0", "0", 1)


def test_a_position_without_its_assets_refuses_a_fill_that_names_a_fee_asset() -> None:
    position = Position(BTCUSDT)
    with pytest.raises(InvalidValue, match=re.escape("fill.fee_asset cannot be booked")):
        position.apply(paid_in("BTC", BUY, "1", "100", fee="0.001"))
    assert position.state() == state("0", "0", "0", "0", 0)
    position.apply(fill(BUY, "1", "100", "0.1"))  # no asset named: the quote currency, as ever
    assert position.fees == Decimal("0.1")


@pytest.mark.parametrize(("base", "quote"), [("BTC", ""), ("", "USDT"), (None, "USDT")])
def test_a_position_takes_both_assets_or_neither(base: object, quote: object) -> None:
    with pytest.raises(InvalidValue, match="position assets must be both asset codes or both empty"):
        Position(BTCUSDT, base=base, quote=quote)  # type: ignore[arg-type]


def test_from_fills_books_fees_by_asset_as_apply_does() -> None:
    fills = [
        paid_in("BTC", BUY, "2", "100", fee="0.002", n=1),
        paid_in("BNB", SELL, "1", "110", fee="0.01", n=2),
        paid_in("USDT", SELL, "0.5", "105", fee="0.05", n=3),
    ]
    position = btc_position()
    for each in fills:
        position.apply(each)
    assert Position.from_fills(BTCUSDT, fills, base="BTC", quote="USDT").state() == position.state()
    assert position.quantity == Decimal("0.498")
