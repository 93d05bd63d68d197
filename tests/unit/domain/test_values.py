"""domain.values: parsing untrusted numbers into exact Decimals, and exact arithmetic."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from domain.errors import DomainError, InvalidValue
from domain.values import (
    MAX_MAGNITUDE,
    MAX_TEXT,
    ZERO,
    AggressorSide,
    OrderSide,
    divide,
    exact_add,
    exact_mul,
    exact_sub,
    non_negative,
    positive,
    to_decimal,
)

NON_FINITE_TEXT = ["NaN", "nan", "-NaN", "sNaN", "inf", "Inf", "-inf", "Infinity", "-Infinity", "+inf"]
OUT_OF_RANGE_TEXT = ["1e999999", "-1e999999", "1E+24", "-1e24", "1" + "0" * 24, "9.99e30"]
GARBAGE_TEXT = ["abc", "1.2.3", "1e", "e5", "--1", "+-1", "0x10", "1,5", "$5", "1 000", "5%", ".", "-"]


# -- to_decimal: accepted input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", Decimal(0)),
        ("1.5", Decimal("1.5")),
        ("-2.25", Decimal("-2.25")),
        ("0.00000001", Decimal("1E-8")),
        ("1E+3", Decimal(1000)),
        ("123456789.123456789", Decimal("123456789.123456789")),
        (7, Decimal(7)),
        (-7, Decimal(-7)),
        (Decimal("3.14"), Decimal("3.14")),
    ],
)
def test_to_decimal_parses_strings_ints_and_decimals(raw: object, expected: Decimal) -> None:
    assert to_decimal(raw, "price") == expected


def test_to_decimal_keeps_the_venue_precision_of_a_string() -> None:
    # "1.500" and "1.5" are equal, but a venue's trailing zeros are kept, not normalized.
    assert to_decimal("1.500", "price").as_tuple() == Decimal("1.500").as_tuple()


def test_to_decimal_returns_a_decimal_input_unchanged() -> None:
    value = Decimal("42.4200")
    assert to_decimal(value, "price") is value


def test_to_decimal_parses_a_str_subclass_like_its_text() -> None:
    class Text(str):
        pass

    assert to_decimal(Text("2.50"), "price") == Decimal("2.50")


def test_to_decimal_accepts_values_just_inside_the_magnitude_limit() -> None:
    below = MAX_MAGNITUDE - Decimal("0.01")
    assert to_decimal(str(below), "price") == below
    assert to_decimal(-below, "price") == -below


# -- to_decimal: refused input -------------------------------------------------------------


@pytest.mark.parametrize("raw", [0.1, 1.0, 0.0, -2.5, float("nan"), float("inf"), 1e300])
def test_to_decimal_refuses_binary_floats(raw: float) -> None:
    with pytest.raises(InvalidValue, match="price must be a decimal string, not a binary float") as caught:
        to_decimal(raw, "price")
    assert caught.value.field == "price"
    assert caught.value.value is raw


@pytest.mark.parametrize("raw", [True, False])
def test_to_decimal_refuses_bools(raw: bool) -> None:
    with pytest.raises(InvalidValue, match="quantity must be a decimal, not a bool"):
        to_decimal(raw, "quantity")


@pytest.mark.parametrize("raw", [None, b"1.5", [1], (1,), {"v": 1}, 1 + 2j, object()])
def test_to_decimal_refuses_other_types_naming_the_type(raw: object) -> None:
    with pytest.raises(InvalidValue, match=f"fee must be a decimal, not {type(raw).__name__}"):
        to_decimal(raw, "fee")


@pytest.mark.parametrize("raw", ["", " ", "   ", "\t\n"])
def test_to_decimal_refuses_empty_strings(raw: str) -> None:
    with pytest.raises(InvalidValue, match="price is empty") as caught:
        to_decimal(raw, "price")
    assert caught.value.value == raw


@pytest.mark.parametrize("raw", GARBAGE_TEXT)
def test_to_decimal_refuses_garbage_strings_naming_the_value(raw: str) -> None:
    with pytest.raises(InvalidValue, match="price is not a decimal number") as caught:
        to_decimal(raw, "price")
    assert repr(raw) in str(caught.value)


@pytest.mark.parametrize("raw", NON_FINITE_TEXT)
def test_to_decimal_refuses_nan_and_infinity_strings(raw: str) -> None:
    with pytest.raises(InvalidValue, match="price must be finite"):
        to_decimal(raw, "price")


@pytest.mark.parametrize("raw", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_to_decimal_refuses_non_finite_decimals(raw: Decimal) -> None:
    with pytest.raises(InvalidValue, match="size must be finite"):
        to_decimal(raw, "size")


@pytest.mark.parametrize("raw", [*OUT_OF_RANGE_TEXT, Decimal("1e24"), Decimal("-5e40"), 10**30, -(10**24)])
def test_to_decimal_refuses_values_beyond_the_magnitude_limit(raw: object) -> None:
    with pytest.raises(InvalidValue, match="quantity is out of range"):
        to_decimal(raw, "quantity")


def test_to_decimal_refuses_text_longer_than_the_limit() -> None:
    raw = "0." + "1" * (MAX_TEXT - 1)
    assert len(raw) == MAX_TEXT + 1
    with pytest.raises(InvalidValue, match=f"price is longer than {MAX_TEXT} characters"):
        to_decimal(raw, "price")


def test_to_decimal_accepts_text_exactly_at_the_length_limit() -> None:
    raw = "0." + "1" * (MAX_TEXT - 2)
    assert to_decimal(raw, "price") == Decimal(raw)


def test_invalid_value_is_a_domain_error_and_a_value_error_with_a_stable_code() -> None:
    with pytest.raises(InvalidValue) as caught:
        to_decimal("x", "price")
    assert isinstance(caught.value, DomainError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "INVALID_VALUE"
    assert caught.value.problem == "is not a decimal number"


# -- positive / non_negative -----------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0", "0.000", "-0", "-1", "-0.00000001", 0, -3, Decimal("-1E-20")])
def test_positive_refuses_zero_and_negative_values(raw: object) -> None:
    with pytest.raises(InvalidValue, match="quantity must be greater than zero"):
        positive(raw, "quantity")


def test_positive_accepts_the_smallest_positive_steps() -> None:
    assert positive("0.00000001", "quantity") == Decimal("1E-8")
    assert positive(1, "quantity") == 1


@pytest.mark.parametrize("raw", ["-1", "-0.01", -1, Decimal("-1E-20")])
def test_non_negative_refuses_negative_values(raw: object) -> None:
    with pytest.raises(InvalidValue, match="min_notional must not be negative"):
        non_negative(raw, "min_notional")


@pytest.mark.parametrize("raw", ["0", "-0", "0.0", "5"])
def test_non_negative_accepts_zero_and_positive_values(raw: str) -> None:
    assert non_negative(raw, "min_notional") == Decimal(raw)


@pytest.mark.parametrize("check", [positive, non_negative])
@pytest.mark.parametrize("raw", ["nan", "-inf", "1e999999", 1.5, True, "", "abc"])
def test_positive_and_non_negative_parse_before_checking_the_sign(check: object, raw: object) -> None:
    with pytest.raises(InvalidValue, match="lot_size"):
        check(raw, "lot_size")  # type: ignore[operator]


# -- exact arithmetic ----------------------------------------------------------------------


def test_exact_mul_keeps_every_digit_beyond_the_default_28() -> None:
    a = Decimal("12345678.12345678")
    b = Decimal("1234567.12345678")
    product = exact_mul(a, b)
    assert len(product.as_tuple().digits) > decimal.getcontext().prec
    # The same product in integers (scaled by 1e16) is the oracle.
    assert product == Decimal(f"{1234567812345678 * 123456712345678}E-16")
    assert product == Decimal("15241568327999.3345526765279684")


def test_exact_add_and_sub_keep_a_tiny_amount_next_to_a_large_one() -> None:
    large = Decimal("100000000000000000000")
    tiny = Decimal("0.00000000000000000001")
    assert exact_sub(exact_add(large, tiny), large) == tiny


def test_exact_arithmetic_raises_rather_than_rounds() -> None:
    with pytest.raises(decimal.Inexact):
        exact_add(Decimal("1E+60"), Decimal("1E-60"))  # needs 121 digits; EXACT has 100


def test_divide_rounds_to_forty_significant_digits() -> None:
    third = divide(Decimal(1), Decimal(3))
    assert third == Decimal("0." + "3" * 40)


def test_divide_by_zero_raises() -> None:
    with pytest.raises(decimal.DivisionByZero):
        divide(Decimal(1), ZERO)


def test_order_side_value_is_its_sign_and_opposite_flips_it() -> None:
    assert OrderSide.BUY == 1
    assert OrderSide.SELL == -1
    assert OrderSide.BUY.opposite is OrderSide.SELL
    assert OrderSide.SELL.opposite is OrderSide.BUY


def test_aggressor_side_has_a_none_for_venues_that_do_not_say() -> None:
    assert AggressorSide.NONE == 0
    assert {AggressorSide.BUYER, AggressorSide.SELLER} == {AggressorSide(1), AggressorSide(-1)}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1e-999999", "more than 40 decimal places"),
        ("1" * 41, "longer than 40 characters"),
        ("1e999999", "out of range"),
    ],
)
def test_hostile_decimal_text_is_refused_before_it_reaches_arithmetic(text: str, problem: str) -> None:
    with pytest.raises(InvalidValue, match=problem):
        to_decimal(text, "price")
