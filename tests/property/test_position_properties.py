"""Properties of the position fold: what depends on the order of fills and what does not.

The final quantity, the fees and the total P&L at a mark are sums over the fills, so any
order gives the same. How that total splits into realized and unrealized P&L depends on
the cost basis at each close, and so on the order: it is deliberately not asserted here
(tests/unit/domain/test_positions.py shows an example where it differs).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.instrument import Instrument
from domain.orders import Fill
from domain.positions import Position, PositionSide
from tests.property.strategies import counts, fill_sequences, instruments, prices, steps_of

LIMIT = Decimal(10**9)
"""Largest quantity and price drawn. The exact context holds 60 digits: a cost basis kept to
1e-20 times a closing quantity stays well inside that up to notionals of about 1e18."""


def cash_flow_pnl(fills: list[Fill], mark: Decimal) -> Fraction:
    """The oracle: −Σ signed quantity × price + final quantity × mark − Σ fees, in fractions."""
    quantity = sum(Fraction(f.signed_quantity) for f in fills)
    paid = sum(Fraction(f.signed_quantity) * Fraction(f.price) for f in fills)
    fees = sum(Fraction(f.fee) for f in fills)
    return -paid + quantity * Fraction(mark) - fees


@st.composite
def fills_and_mark(draw: st.DrawFn) -> tuple[Instrument, list[Fill], Decimal]:
    instrument = draw(instruments())
    # Quantities and prices up to 1e9 on the finest rules: quantity × price then runs past the
    # 28 digits of the default context, where any arithmetic outside the exact one would round.
    max_lots = int(LIMIT / instrument.lot_size)
    max_ticks = int(LIMIT / instrument.price_tick)
    fills = draw(fill_sequences(instrument, max_size=10, max_lots=max_lots, max_ticks=max_ticks))
    mark = draw(prices(instrument, max_ticks=max_ticks))
    return instrument, fills, mark


@settings(deadline=None)
@given(fills_and_mark(), st.randoms(use_true_random=False))
def test_quantity_fees_and_total_pnl_do_not_depend_on_the_fill_order(
    case: tuple[Instrument, list[Fill], Decimal], random: Random
) -> None:
    instrument, fills, mark = case
    shuffled = list(fills)
    random.shuffle(shuffled)
    original = Position.from_fills(instrument.id, fills)
    reordered = Position.from_fills(instrument.id, shuffled)
    assert reordered.quantity == original.quantity
    assert reordered.fees == original.fees
    assert reordered.fill_count == original.fill_count == len(fills)
    assert reordered.total_pnl(mark) == original.total_pnl(mark)


@settings(deadline=None)
@given(fills_and_mark())
def test_total_pnl_equals_the_cash_flow_of_the_fills_exactly(
    case: tuple[Instrument, list[Fill], Decimal],
) -> None:
    instrument, fills, mark = case
    position = Position.from_fills(instrument.id, fills)
    assert Fraction(position.total_pnl(mark)) == cash_flow_pnl(fills, mark)
    assert Fraction(position.quantity) == sum(Fraction(f.signed_quantity) for f in fills)
    assert Fraction(position.fees) == sum(Fraction(f.fee) for f in fills)


@settings(deadline=None)
@given(fills_and_mark())
def test_each_step_realizes_the_cash_flow_it_closes(case: tuple[Instrument, list[Fill], Decimal]) -> None:
    instrument, fills, _ = case
    position = Position(instrument.id)
    realized = Fraction(0)
    for fill in fills:
        realized_before = position.realized_pnl
        returned = position.apply(fill)
        assert Fraction(position.realized_pnl) - Fraction(realized_before) == Fraction(returned)
        realized += Fraction(returned)
        # The cost basis has the position's sign and vanishes with it.
        assert (position.cost > 0) == (position.side is PositionSide.LONG)
        assert (position.cost < 0) == (position.side is PositionSide.SHORT)
        assert (position.cost == 0) == position.is_flat
        # realized − cost is the cash paid for the fills so far, whatever the split.
        paid = sum(Fraction(f.signed_quantity) * Fraction(f.price) for f in fills[: position.fill_count])
        assert Fraction(position.realized_pnl) - Fraction(position.cost) == -paid
    assert Fraction(position.realized_pnl) == realized


@st.composite
def long_digit_fills(draw: st.DrawFn) -> tuple[Instrument, list[Fill], Decimal]:
    """Fills on the finest rules (1e-8 tick and lot) with 13 to 17 significant digits in both
    quantity and price, so nearly every quantity × price is longer than 28 digits."""
    instrument = draw(instruments(rules=("0.00000001", "0.00000001")))
    lots = ticks = counts(10**12, 10**17 - 1)
    fills = draw(fill_sequences(instrument, min_size=2, max_size=8, lots=lots, ticks=ticks))
    mark = draw(ticks.map(lambda n: steps_of(instrument.price_tick, n)))
    return instrument, fills, mark


@settings(deadline=None)
@given(long_digit_fills(), st.randoms(use_true_random=False))
def test_pnl_stays_exact_when_quantity_times_price_needs_more_than_28_digits(
    case: tuple[Instrument, list[Fill], Decimal], random: Random
) -> None:
    instrument, fills, mark = case
    shuffled = list(fills)
    random.shuffle(shuffled)
    for order in (fills, shuffled):
        position = Position.from_fills(instrument.id, order)
        assert Fraction(position.total_pnl(mark)) == cash_flow_pnl(fills, mark)
        paid = sum(Fraction(f.signed_quantity) * Fraction(f.price) for f in order)
        assert Fraction(position.realized_pnl) - Fraction(position.cost) == -paid


# -- fees paid in the base asset or a third one ------------------------------------------------

FEE_TOKEN = "BNB"


@st.composite
def fills_in_any_fee_asset(draw: st.DrawFn) -> tuple[Instrument, list[Fill], Decimal]:
    """Fills whose fees are paid in the quote (named or not), the base asset or a fee token."""
    instrument, fills, mark = draw(fills_and_mark())
    assets = st.sampled_from(("", instrument.quote, instrument.base, FEE_TOKEN))
    return instrument, [replace(f, fee_asset=draw(assets)) for f in fills], mark


def base_fee(fill: Fill, instrument: Instrument) -> Fraction:
    return Fraction(fill.fee) if fill.fee_asset == instrument.base else Fraction(0)


def quote_fee(fill: Fill, instrument: Instrument) -> Fraction:
    return Fraction(fill.fee) if fill.fee_asset in ("", instrument.quote) else Fraction(0)


def fold(instrument: Instrument, fills: list[Fill]) -> Position:
    return Position.from_fills(instrument.id, fills, base=instrument.base, quote=instrument.quote)


@settings(deadline=None)
@given(fills_in_any_fee_asset(), st.randoms(use_true_random=False))
def test_a_fee_in_the_base_asset_comes_out_of_the_quantity_and_is_valued_at_the_fill_price(
    case: tuple[Instrument, list[Fill], Decimal], random: Random
) -> None:
    instrument, fills, mark = case
    position = fold(instrument, fills)
    quantity = sum(Fraction(f.signed_quantity) - base_fee(f, instrument) for f in fills)
    assert Fraction(position.quantity) == quantity
    assert Fraction(position.fees) == sum(
        quote_fee(f, instrument) + base_fee(f, instrument) * Fraction(f.price) for f in fills
    )
    # What is held is worth the mark; a fee in the fee token costs the position nothing in quote.
    paid = sum(Fraction(f.signed_quantity) * Fraction(f.price) for f in fills)
    quote_fees = sum(quote_fee(f, instrument) for f in fills)
    assert Fraction(position.total_pnl(mark)) == -paid + quantity * Fraction(mark) - quote_fees
    # The quantity a base fee removes leaves at the fill price: realized − cost is what the
    # held quantity cost, whatever the split.
    kept = sum((Fraction(f.signed_quantity) - base_fee(f, instrument)) * Fraction(f.price) for f in fills)
    assert Fraction(position.realized_pnl) - Fraction(position.cost) == -kept
    shuffled = list(fills)
    random.shuffle(shuffled)
    reordered = fold(instrument, shuffled)
    assert (reordered.quantity, reordered.fees) == (position.quantity, position.fees)
    assert reordered.total_pnl(mark) == position.total_pnl(mark)


@settings(deadline=None)
@given(fills_and_mark())
def test_fills_that_name_the_quote_currency_fold_as_fills_that_name_no_asset(
    case: tuple[Instrument, list[Fill], Decimal],
) -> None:
    instrument, fills, _ = case
    named = [replace(f, fee_asset=instrument.quote) for f in fills]
    assert fold(instrument, named).state() == Position.from_fills(instrument.id, fills).state()
