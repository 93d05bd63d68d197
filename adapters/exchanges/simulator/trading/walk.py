"""How far an order would walk the public book: the (price, quantity) it would take per level.

The venue's own orders never change the public book, so a walk is a plan read off the book
as it is now; the engine executes the plan as fills. A walk stops at the order's quantity,
at its limit price, at what its quote amount can pay for (rounded down to the step), or
where the book ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from adapters.exchanges.simulator.trading.filters import UNIT

ZERO = Decimal(0)
Level = tuple[Decimal, Decimal]


def quote_of(price: Decimal, qty: Decimal) -> Decimal:
    """What ``qty`` at ``price`` is worth in the quote asset, rounded down to 8 decimals."""
    return (price * qty).quantize(UNIT, rounding=ROUND_DOWN)


def quote_ceiling(price: Decimal, qty: Decimal) -> Decimal:
    """``price`` x ``qty`` rounded up to 8 decimals: what a BUY locks, never less than it spends."""
    return (price * qty).quantize(UNIT, rounding=ROUND_UP)


def plan_walk(
    levels: Sequence[Level],
    *,
    side: str,
    step: Decimal,
    max_qty: Decimal | None = None,
    max_quote: Decimal | None = None,
    limit_price: Decimal | None = None,
) -> list[Level]:
    """The takes of an order of ``side`` against ``levels`` (the opposite side, best first).

    ``max_qty`` bounds the base quantity, ``max_quote`` the quote amount spent (BUY) or
    received (SELL), ``limit_price`` the worst price accepted; at least one bound is needed.
    """
    if max_qty is None and max_quote is None:
        raise ValueError("a walk needs max_qty or max_quote")
    takes: list[Level] = []
    qty_left = max_qty
    quote_left = max_quote
    for price, size in levels:
        if limit_price is not None and (price > limit_price if side == "BUY" else price < limit_price):
            break
        take = size
        if qty_left is not None:
            take = min(take, qty_left)
        if quote_left is not None:
            take = min(take, (quote_left / price // step) * step)
            while take > 0 and quote_of(price, take) > quote_left:  # the division may round up
                take -= step
        if take <= 0:
            break
        takes.append((price, take))
        if qty_left is not None:
            qty_left -= take
        if quote_left is not None:
            quote_left -= quote_of(price, take)
    return takes


def total_qty(takes: Sequence[Level]) -> Decimal:
    return sum((qty for _, qty in takes), ZERO)


def total_quote(takes: Sequence[Level]) -> Decimal:
    return sum((quote_of(price, qty) for price, qty in takes), ZERO)
