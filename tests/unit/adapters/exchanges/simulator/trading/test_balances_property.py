"""Balances move exactly: over any sequence of orders, cancels and market moves, every asset's
free + locked equals its start plus what fills brought in, less what they paid and the
commissions, and what is locked is exactly what open orders hold."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.simulator.trading import TradingVenue, VenueError

from .support import FakeClock, ScriptedMarket, make_venue

BTC = "BTCUSDT"
START = {"USDT": Decimal("100000"), "BTC": Decimal("2"), "ETH": Decimal("0")}
TICK = Decimal("0.01")
STEP = Decimal("0.001")
MID = Decimal("30000")

ticks = st.integers(min_value=-3_000, max_value=3_000).map(lambda n: MID + n * TICK)
lots = st.integers(min_value=1, max_value=1_500).map(lambda n: n * STEP)

place = st.fixed_dictionaries(
    {
        "action": st.just("place"),
        "side": st.sampled_from(["BUY", "SELL"]),
        "type": st.sampled_from(
            [
                "LIMIT",
                "MARKET",
                "LIMIT_MAKER",
                "STOP_LOSS",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT",
                "TAKE_PROFIT_LIMIT",
            ]
        ),
        "time_in_force": st.sampled_from(["GTC", "IOC", "FOK"]),
        "quantity": lots,
        "quote": st.none() | st.integers(min_value=5, max_value=60_000).map(Decimal),
        "price": ticks,
        "stop": ticks,
    }
)
cancel = st.fixed_dictionaries({"action": st.just("cancel"), "pick": st.integers(min_value=0, max_value=50)})
trade = st.fixed_dictionaries({"action": st.just("trade"), "price": ticks, "quantity": lots})
book = st.fixed_dictionaries(
    {
        "action": st.just("book"),
        "mid": ticks,
        "sizes": st.lists(lots, min_size=1, max_size=4),
    }
)
actions = st.lists(st.one_of(place, cancel, trade, book), max_size=40)


def _apply(venue: TradingVenue, market: ScriptedMarket, step: dict[str, Any], refusals: list[int]) -> None:
    if step["action"] == "place":
        kind = step["type"]
        limit = kind in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
        try:
            venue.place_external_order(
                BTC,
                step["side"],
                kind,
                quantity=None if kind == "MARKET" and step["quote"] is not None else step["quantity"],
                quote_order_qty=step["quote"] if kind == "MARKET" else None,
                price=step["price"] if limit else None,
                stop_price=step["stop"] if "STOP" in kind or "TAKE" in kind else None,
                time_in_force=step["time_in_force"]
                if kind in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
                else None,
            )
        except VenueError as refused:  # a refusal changes nothing; the invariants below say so
            refusals.append(refused.code)
    elif step["action"] == "cancel":
        open_orders = [order for order in venue.orders() if order["status"] in ("NEW", "PARTIALLY_FILLED")]
        if open_orders:
            chosen = open_orders[step["pick"] % len(open_orders)]
            venue.cancel_external_order(BTC, order_id=chosen["orderId"])
    elif step["action"] == "trade":
        market.print_trade(BTC, str(step["price"]), str(step["quantity"]))
        venue.market.step(0)
    else:
        mid, sizes = step["mid"], step["sizes"]
        bids = [(str(mid - (i + 1) * TICK), str(size)) for i, size in enumerate(sizes)]
        asks = [(str(mid + (i + 1) * TICK), str(size)) for i, size in enumerate(sizes)]
        market.set_book(BTC, bids, asks)
        venue.market.step(0)


def _expected_totals(venue: TradingVenue) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal, START)
    for row in venue.trades():
        qty, quote, fee = Decimal(row["qty"]), Decimal(row["quoteQty"]), Decimal(row["commission"])
        if row["isBuyer"]:
            totals["BTC"] += qty
            totals["USDT"] -= quote
        else:
            totals["BTC"] -= qty
            totals["USDT"] += quote
        totals[row["commissionAsset"]] -= fee
    return totals


@given(actions)
def test_balances_equal_the_start_plus_fills_less_commissions_and_locks_equal_open_orders(
    steps: list[dict[str, Any]],
) -> None:
    market = ScriptedMarket(
        {
            BTC: (
                [("29999.99", "1.000"), ("29999.98", "2.000")],
                [("30000.01", "1.000"), ("30000.02", "2.000")],
            ),
            "ETHUSDT": ([("1999.99", "1.000")], [("2000.01", "1.000")]),
        }
    )
    venue = make_venue(market, clock=FakeClock(), balances=START)
    refusals: list[int] = []
    for step in steps:
        _apply(venue, market, step, refusals)
        assert set(refusals) <= {-2010, -1013}, (
            refusals
        )  # balance, duplicates, would take or trigger; filters
        balances = venue.balances()
        expected = _expected_totals(venue)
        held = venue.locked_by_open_orders()
        for asset, (free, locked) in balances.items():
            assert free >= 0
            assert locked >= 0
            assert free + locked == expected[asset], (asset, free, locked, expected[asset])
            assert locked == held.get(asset, Decimal(0)), (asset, locked, held)
        for order in venue.orders():
            executed, original = Decimal(order["executedQty"]), Decimal(order["origQty"])
            assert executed <= original
            assert (order["status"] == "FILLED") == (executed == original and executed > 0)
