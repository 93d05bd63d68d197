"""Number formatting for the human sentences of risk rejections and events (``plain`` is
the one of ``domain.values``)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

from domain.values import plain

_WIDE = Context(prec=80, rounding=ROUND_HALF_EVEN)
_PERCENT_STEP = Decimal("0.0001")
_HUNDRED = Decimal(100)


def percent(fraction: Decimal) -> str:
    """A fraction as a percentage rounded to 4 decimals: 0.05 -> "5%", 1/3 -> "33.3333%"."""
    return plain(_WIDE.multiply(fraction, _HUNDRED).quantize(_PERCENT_STEP, context=_WIDE)) + "%"


def duration(ns: int) -> str:
    """Nanoseconds in the largest whole unit: 1_000_000_000 -> "1s", 1_500_000 -> "1500us"."""
    for unit, size in (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)):
        if ns and ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"
