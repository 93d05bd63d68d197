"""The paper broker's pure matching rules: fees, slippage, queue consumption, crossing growth."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.brokers.paper.matching import (
    RestingOrders,
    WorkingOrder,
    fee_for,
    fee_quantum,
    level_taken,
    slipped_price,
)
from domain.values import AggressorSide, OrderSide
from tests.builders import make_instrument, make_order

QUANTUM = fee_quantum(12)


def resting(
    price: str, quantity: str = "1", side: OrderSide = OrderSide.BUY, sequence: int = 1
) -> WorkingOrder:
    return WorkingOrder(make_order(price=price, quantity=quantity, side=side), sequence)


def test_fee_is_notional_times_bps_over_ten_thousand_exactly() -> None:
    assert fee_for(Decimal("12345.6789"), Decimal("7.5"), QUANTUM) == Decimal("9.259259175")
    assert fee_for(Decimal(100), Decimal(0), QUANTUM) == 0


def test_a_rebate_rounded_to_nothing_is_a_plain_zero() -> None:
    fee = fee_for(Decimal("0.000000001"), Decimal(-1), QUANTUM)

    assert fee == 0
    assert not fee.is_signed()


def test_slippage_of_zero_keeps_the_displayed_price_even_off_the_tick() -> None:
    assert slipped_price(Decimal("100.005"), OrderSide.BUY, Decimal(0), make_instrument()) == Decimal(
        "100.005"
    )


def test_slipped_sell_price_never_falls_below_one_tick() -> None:
    assert slipped_price(Decimal("0.01"), OrderSide.SELL, Decimal(1000), make_instrument()) == Decimal("0.01")


@pytest.mark.parametrize(
    ("queue", "at_price", "volume", "expected"),
    [
        (
            Decimal(5),
            False,
            Decimal(2),
            (Decimal(1), Decimal(5)),
        ),  # through: ahead of the whole queue, leaves cap it
        (Decimal(5), True, Decimal(2), (Decimal(0), Decimal(3))),
        (Decimal(1), True, Decimal("1.5"), (Decimal("0.5"), Decimal(0))),
        (None, True, Decimal(9), (Decimal(0), None)),  # unknown queue: at-price trades never fill
        (None, False, Decimal("0.2"), (Decimal("0.2"), None)),
    ],
)
def test_level_taken(
    queue: Decimal | None, at_price: bool, volume: Decimal, expected: tuple[Decimal, Decimal | None]
) -> None:
    assert level_taken(Decimal(1), queue, at_price, volume) == expected


def test_resting_orders_keep_price_then_time_priority_per_side() -> None:
    orders = RestingOrders()
    for order in (
        resting("99", sequence=1),
        resting("100", sequence=2),
        resting("99", sequence=3),
        resting("105", side=OrderSide.SELL, sequence=4),
        resting("104", side=OrderSide.SELL, sequence=5),
    ):
        orders.add(order)

    assert [(o.limit, o.sequence) for o in orders.bids] == [
        (Decimal(100), 2),
        (Decimal(99), 1),
        (Decimal(99), 3),
    ]
    assert [(o.limit, o.sequence) for o in orders.asks] == [(Decimal(104), 5), (Decimal(105), 4)]


def test_one_trade_never_gives_our_orders_more_than_its_size() -> None:
    orders = RestingOrders()
    first, second = resting("100", "2", sequence=1), resting("100", "2", sequence=2)
    first.queue_ahead = second.queue_ahead = Decimal(1)
    orders.add(first)
    orders.add(second)

    allocations = orders.allocate_trade(Decimal(100), Decimal(3), AggressorSide.SELLER)

    assert [(order.sequence, quantity) for order, quantity in allocations] == [(1, Decimal(2))]


def test_crossing_gains_count_only_growth_at_crossing_prices() -> None:
    orders = RestingOrders()
    orders.add(resting("100"))
    before = {Decimal(99): Decimal(2), Decimal(100): Decimal(1)}

    gains = orders.crossing_gains(
        OrderSide.BUY,
        [
            (Decimal(100), Decimal(3)),
            (Decimal(99), Decimal(1)),
            (Decimal("98.5"), Decimal(1)),
            (Decimal(101), Decimal(9)),
        ],
        lambda price: before.get(price, Decimal(0)),
    )

    assert gains == [(Decimal("98.5"), Decimal(1)), (Decimal(100), Decimal(2))]


def test_gains_fill_one_order_across_levels_without_exceeding_its_leaves() -> None:
    orders = RestingOrders()
    order = resting("100", "1.5")
    orders.add(order)

    allocations = orders.allocate_gains(
        OrderSide.BUY, [(Decimal(99), Decimal(1)), (Decimal(100), Decimal(1))]
    )

    assert [quantity for _, quantity in allocations] == [Decimal(1), Decimal("0.5")]
