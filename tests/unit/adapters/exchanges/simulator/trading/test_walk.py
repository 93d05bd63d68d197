"""Walking the book: a plan never takes more than the order may, beyond its price, or what the book has."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.simulator.trading.walk import plan_walk, quote_of, total_qty, total_quote

STEP = Decimal("0.001")
prices = st.integers(min_value=1, max_value=5_000_000).map(lambda n: Decimal(n) / 100)
sizes = st.integers(min_value=1, max_value=5_000).map(lambda n: n * STEP)
levels = st.lists(st.tuples(prices, sizes), min_size=0, max_size=8, unique_by=lambda level: level[0])
bounds = st.none() | st.integers(min_value=1, max_value=10_000).map(lambda n: n * STEP)
quotes = st.none() | st.integers(min_value=1, max_value=10**9).map(lambda n: Decimal(n) / 100)


@given(levels, st.sampled_from(["BUY", "SELL"]), bounds, quotes, st.none() | prices)
def test_a_plan_stays_within_every_bound(
    book: list[tuple[Decimal, Decimal]],
    side: str,
    max_qty: Decimal | None,
    max_quote: Decimal | None,
    limit: Decimal | None,
) -> None:
    if max_qty is None and max_quote is None:
        max_qty = STEP
    ordered = sorted(book, reverse=side == "SELL")  # asks ascending for a BUY, bids descending for a SELL
    plan = plan_walk(ordered, side=side, step=STEP, max_qty=max_qty, max_quote=max_quote, limit_price=limit)
    available = dict(ordered)
    for price, qty in plan:
        assert 0 < qty <= available[price]
        if limit is not None:
            assert price <= limit if side == "BUY" else price >= limit
    assert [price for price, _ in plan] == [price for price, _ in ordered[: len(plan)]]
    if max_qty is not None:
        assert total_qty(plan) <= max_qty
    if max_quote is not None:
        assert total_quote(plan) <= max_quote
        assert all(qty % STEP == 0 for _, qty in plan)


def test_a_quote_amount_buys_whole_steps_only() -> None:
    plan = plan_walk([(Decimal("30000"), Decimal("1"))], side="BUY", step=STEP, max_quote=Decimal("100"))
    assert plan == [(Decimal("30000"), Decimal("0.003"))]
    assert quote_of(Decimal("30000"), Decimal("0.003")) == Decimal("90")
