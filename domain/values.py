"""Exact numbers: parsing and arithmetic for prices, quantities and money.

tradeplane uses ``decimal.Decimal`` for every price, quantity and amount of money.
It was measured against scaled integers (``bench/decimal_vs_int.py``): parsing a venue
string costs the same (~150 ns), arithmetic is within 20 %, and Decimal keeps the venue's
precision without a per-instrument scale. Binary floats are refused at every entry.

Operators on ``Decimal`` round to the thread's context (28 digits by default). Money
arithmetic that must never round goes through :data:`EXACT`, a 100-digit context that
raises :class:`decimal.Inexact` instead of rounding silently; the one place a division
is unavoidable (average entry price) uses :data:`ROUNDED`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from enum import IntEnum
from typing import Final, TypeAlias

from domain.errors import InvalidValue

Price: TypeAlias = Decimal
Quantity: TypeAlias = Decimal
Money: TypeAlias = Decimal

ZERO = Decimal(0)
MAX_MAGNITUDE = Decimal("1e24")
"""No price, quantity or amount in any market reaches this; larger input is hostile or a bug."""
MAX_TEXT = 40
"""Longest decimal string accepted (venues send at most ~25 characters)."""
MIN_EXPONENT = -40
"""Finest decimal place accepted in exponent notation, matching what MAX_TEXT allows in plain
notation; both are far below any venue's tick or lot and keep products within EXACT."""
ONE = Decimal(1)

EXACT = Context(
    prec=100, rounding=ROUND_HALF_EVEN, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow]
)
"""Context for sums and products of money: raises rather than rounds."""

ROUNDED = Context(prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
"""Context for the few quotients (averages, ratios) that cannot be exact."""


class OrderSide(IntEnum):
    """Direction of an order or fill; the value is the sign it gives a position."""

    BUY = 1
    SELL = -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class AggressorSide(IntEnum):
    """Which side took liquidity in a public trade (NONE when the venue does not say)."""

    NONE = 0
    BUYER = 1
    SELLER = -1


def to_decimal(value: object, field: str) -> Decimal:
    """Parse ``value`` (a decimal string, an int or a Decimal) into a finite Decimal.

    Raises InvalidValue naming ``field`` for floats (binary, inexact), bools, NaN,
    infinities, empty or malformed strings. Strings take the fast path: this runs per tick.
    """
    kind = type(value)
    if kind is str:
        if len(value) > MAX_TEXT:  # type: ignore[arg-type]
            raise InvalidValue(field, value, f"is longer than {MAX_TEXT} characters")
        try:
            result = Decimal(value)  # type: ignore[arg-type]
        except InvalidOperation:
            problem = "is not a decimal number" if str(value).strip() else "is empty"
            raise InvalidValue(field, value, problem) from None
        if ("e" in value or "E" in value) and result.is_finite() and result:  # type: ignore[operator]
            exponent = result.as_tuple().exponent
            if isinstance(exponent, int) and exponent < MIN_EXPONENT:
                raise InvalidValue(field, value, f"has more than {-MIN_EXPONENT} decimal places")
    elif kind is Decimal:
        result = value  # type: ignore[assignment]
    elif kind is bool:
        raise InvalidValue(field, value, "must be a decimal, not a bool")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        raise InvalidValue(field, value, "must be a decimal string, not a binary float")
    elif isinstance(value, (str, Decimal)):  # subclasses
        return to_decimal(str(value), field)
    else:
        raise InvalidValue(field, value, f"must be a decimal, not {type(value).__name__}")
    if not result.is_finite():
        raise InvalidValue(field, value, "must be finite")
    if not -MAX_MAGNITUDE < result < MAX_MAGNITUDE:
        raise InvalidValue(field, value, f"is out of range (magnitude must be below {MAX_MAGNITUDE})")
    return result


def positive(value: object, field: str) -> Decimal:
    """Parse ``value`` and require it to be strictly greater than zero.

    A plain venue string ("25.35190000") takes a fast path (one Decimal construction and two
    comparisons); so does a Decimal already in range (the order path passes checked values
    through several constructors); anything unusual falls through to ``to_decimal``.
    """
    if type(value) is Decimal and value.is_finite() and ZERO < value < MAX_MAGNITUDE:
        return value
    if type(value) is str and len(value) <= MAX_TEXT and "e" not in value and "E" not in value:
        try:
            result = Decimal(value)
            if ZERO < result < MAX_MAGNITUDE:  # NaN raises here, infinity fails the bound
                return result
        except InvalidOperation:
            pass
    result = to_decimal(value, field)
    if result <= ZERO:
        raise InvalidValue(field, value, "must be greater than zero")
    return result


def non_negative(value: object, field: str) -> Decimal:
    """Parse ``value`` and require it to be zero or more (same fast paths as ``positive``)."""
    if type(value) is Decimal and value.is_finite() and ZERO <= value < MAX_MAGNITUDE:
        return value
    if type(value) is str and len(value) <= MAX_TEXT and "e" not in value and "E" not in value:
        try:
            result = Decimal(value)
            if ZERO <= result < MAX_MAGNITUDE:  # NaN raises here, infinity fails the bound
                return result
        except InvalidOperation:
            pass
    result = to_decimal(value, field)
    if result < ZERO:
        raise InvalidValue(field, value, "must not be negative")
    return result


# The exact operations are EXACT's own bound methods, not wrappers around them: the order
# path does some thirty of them per order, and a Python frame each cost more than the sum.
exact_mul: Final[Callable[[Decimal, Decimal], Decimal]] = EXACT.multiply
"""``a * b`` with no rounding (raises decimal.Inexact if 100 digits are not enough)."""

exact_add: Final[Callable[[Decimal, Decimal], Decimal]] = EXACT.add
"""``a + b`` with no rounding."""

exact_sub: Final[Callable[[Decimal, Decimal], Decimal]] = EXACT.subtract
"""``a - b`` with no rounding."""


def divide(a: Decimal, b: Decimal) -> Decimal:
    """``a / b`` rounded to 40 significant digits (for averages and ratios only)."""
    return ROUNDED.divide(a, b)


def plain(value: Decimal) -> str:
    """``value`` as exact plain text: no exponent, no trailing zeros, no "-0" (1E+3 -> "1000",
    2.50 -> "2.5", -0.00 -> "0"). Trimming is textual, so no digit is ever rounded."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
