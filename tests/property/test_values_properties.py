"""Properties of parsing and of instrument rounding (checked in fractions, which never round)."""

from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.instrument import Instrument
from domain.values import to_decimal
from tests.property.strategies import decimal_strings, finite_decimals, instruments, steps_of

WIDE = Context(prec=100)


@settings(deadline=None)
@given(finite_decimals())
def test_to_decimal_round_trips_the_text_of_a_decimal(value: Decimal) -> None:
    parsed = to_decimal(str(value), "price")
    assert parsed == value
    assert parsed.as_tuple() == value.as_tuple()  # same digits and exponent, sign of zero included


@settings(deadline=None)
@given(decimal_strings)
def test_to_decimal_of_a_decimal_string_prints_back_the_same_string(text: str) -> None:
    assert str(to_decimal(text, "price")) == text


@st.composite
def sizes(draw: st.DrawFn, step: Decimal) -> Decimal:
    """Non-negative sizes sizing could produce: arbitrary decimals up to 40 digits, whole
    numbers of ``step``, and values a hair (1e-15 .. 1e-39) either side of a whole step."""
    on_step = steps_of(step, draw(st.integers(0, 10**12)))
    hair = Decimal(f"1E-{draw(st.integers(15, 39))}")
    near = st.sampled_from([on_step, WIDE.add(on_step, hair), max(WIDE.subtract(on_step, hair), Decimal(0))])
    return draw(near | finite_decimals(max_digits=40).map(Decimal.copy_abs))


def whole_steps(value: Decimal, step: Decimal) -> bool:
    return (Fraction(value) / Fraction(step)).denominator == 1


@settings(deadline=None)
@given(st.data(), instruments())
def test_round_quantity_never_rounds_up_and_lands_on_the_lot(
    data: st.DataObject, instrument: Instrument
) -> None:
    lot = instrument.lot_size
    quantity = data.draw(sizes(lot), label="quantity")
    rounded = instrument.round_quantity(quantity)
    assert rounded <= quantity
    assert Fraction(quantity) - Fraction(rounded) < Fraction(lot)  # the largest such number of lots
    assert whole_steps(rounded, lot)


@settings(deadline=None)
@given(st.data(), instruments())
def test_round_price_down_up_and_nearest_bracket_the_price_on_the_tick(
    data: st.DataObject, instrument: Instrument
) -> None:
    tick = instrument.price_tick
    price = data.draw(sizes(tick), label="price")
    down = instrument.round_price_down(price)
    up = instrument.round_price_up(price)
    nearest = instrument.round_price(price)
    assert down <= price <= up
    assert Fraction(up) - Fraction(down) == (0 if whole_steps(price, tick) else Fraction(tick))
    assert nearest in (down, up)
    distance = abs(Fraction(nearest) - Fraction(price))
    assert distance <= abs(Fraction(price) - Fraction(down))
    assert distance <= abs(Fraction(up) - Fraction(price))
    assert whole_steps(down, tick)
    assert whole_steps(up, tick)
    assert whole_steps(nearest, tick)
