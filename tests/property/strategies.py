"""Hypothesis strategies for the core domain: decimals, instruments, prices, quantities, fills.

Prices and quantities are whole numbers of ticks and lots built with exact arithmetic, so a
strategy never produces a value the instrument would refuse. The instrument rules mix
scales on purpose: powers of ten, ticks that are not (0.25, 0.5, 5), and a very fine pair
(1e-8 tick and lot) whose products need more than the 28 digits of the default context.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from domain.identifiers import ClientOrderId, InstrumentId, TradeId
from domain.instrument import Instrument
from domain.orders import Fill
from domain.values import EXACT, MAX_MAGNITUDE, MAX_TEXT, ZERO, OrderSide
from tests.builders import STEP_NS, TS

RULES: tuple[tuple[str, str], ...] = (
    ("0.01", "0.00001"),  # BTCUSDT on Binance
    ("0.00000001", "1"),  # a low-priced coin traded in whole units
    ("0.5", "0.001"),  # a tick that is not a power of ten
    ("0.25", "0.25"),
    ("5", "0.1"),  # a tick above 1
    ("0.00000001", "0.00000001"),  # very fine: price × quantity runs past 28 digits
)
"""(price_tick, lot_size) pairs the instrument strategies draw from."""

BASES = ("BTC", "ETH", "SOL", "XRP", "ADA", "DOGE")

sides = st.sampled_from(OrderSide)


def steps_of(step: Decimal, n: int) -> Decimal:
    """``n`` whole steps, computed exactly."""
    return EXACT.multiply(Decimal(n), step)


@st.composite
def instruments(
    draw: st.DrawFn,
    *,
    base: str | None = None,
    quote: str = "USDT",
    rules: tuple[str, str] | None = None,
    with_minimums: bool = False,
) -> Instrument:
    """A spot instrument ``{base}{quote}.BINANCE`` with ``rules`` (price_tick, lot_size), or
    rules drawn from :data:`RULES`.

    With ``with_minimums`` it also gets a minimum quantity (a few lots) and notional.
    """
    tick, lot = rules if rules is not None else draw(st.sampled_from(RULES))
    chosen_base = base if base is not None else draw(st.sampled_from(BASES))
    min_quantity = ZERO
    min_notional = ZERO
    if with_minimums:
        min_quantity = steps_of(Decimal(lot), draw(st.integers(0, 5)))
        min_notional = Decimal(draw(st.sampled_from(("0", "1", "5", "10"))))
    return Instrument(
        id=InstrumentId(f"{chosen_base}{quote}.BINANCE"),
        base=chosen_base,
        quote=quote,
        price_tick=Decimal(tick),
        lot_size=Decimal(lot),
        min_quantity=min_quantity,
        min_notional=min_notional,
    )


def counts(low: int, high: int) -> st.SearchStrategy[int]:
    """Integers in [low, high] with every number of digits equally likely (log-uniform)."""
    digits = st.integers(len(str(low)), len(str(high)))
    return digits.flatmap(lambda d: st.integers(max(low, 10 ** (d - 1)), min(high, 10**d - 1)))


def prices(
    instrument: Instrument, *, min_ticks: int = 1, max_ticks: int = 10**9
) -> st.SearchStrategy[Decimal]:
    """Positive prices on ``instrument``'s tick: ``min_ticks`` to ``max_ticks`` ticks, log-uniform."""
    return counts(min_ticks, max_ticks).map(lambda n: steps_of(instrument.price_tick, n))


def quantities(
    instrument: Instrument, *, min_lots: int = 1, max_lots: int = 10**6
) -> st.SearchStrategy[Decimal]:
    """Positive quantities on ``instrument``'s lot: ``min_lots`` to ``max_lots`` lots, log-uniform."""
    return counts(min_lots, max_lots).map(lambda n: steps_of(instrument.lot_size, n))


fees = st.one_of(
    st.just(ZERO),
    st.integers(0, 10**10).map(lambda n: Decimal(f"{n}E-8")),  # up to 100 in quote
    st.integers(-(10**6), -1).map(lambda n: Decimal(f"{n}E-8")),  # a maker rebate
)
"""Fees in quote currency: zero, a charge, or a (negative) maker rebate, 8 decimals."""


@st.composite
def finite_decimals(draw: st.DrawFn, *, max_digits: int = 40) -> Decimal:
    """Finite decimals below MAX_MAGNITUDE whose text fits MAX_TEXT, in every notation.

    Built from a sign, a coefficient and an exponent, so trailing zeros ("1.500"),
    negative zero, tiny and large exponents ("1E-30", "1.2E+20") all appear.
    """
    sign = draw(st.sampled_from(("", "-")))
    coefficient = draw(st.integers(0, 10**max_digits - 1))
    exponent = draw(st.integers(-40, 23))  # MIN_EXPONENT: finer input is refused
    value = Decimal(f"{sign}{coefficient}E{exponent}")
    if value.copy_abs() >= MAX_MAGNITUDE or len(str(value)) > MAX_TEXT:
        value = Decimal(f"{sign}{coefficient % 10**12}E{min(exponent, 0)}")
    return value


decimal_strings = finite_decimals().map(str)
"""Canonical decimal text (``str(Decimal)``) of finite, in-range values."""


@st.composite
def fill_sequences(
    draw: st.DrawFn,
    instrument: Instrument,
    *,
    min_size: int = 1,
    max_size: int = 12,
    max_lots: int = 10**4,
    max_ticks: int = 10**9,
    lots: st.SearchStrategy[int] | None = None,
    ticks: st.SearchStrategy[int] | None = None,
) -> list[Fill]:
    """Fills of ``instrument`` with random sides, sizes, prices and fees; unique trade ids.

    Sizes are 1 to ``max_lots`` lots and prices 1 to ``max_ticks`` ticks (log-uniform), unless
    ``lots`` / ``ticks`` strategies for those counts are given.
    """
    lot_counts = lots if lots is not None else counts(1, max_lots)
    tick_counts = ticks if ticks is not None else counts(1, max_ticks)
    count = draw(st.integers(min_size, max_size))
    fills = []
    for index in range(count):
        fills.append(
            Fill(
                instrument_id=instrument.id,
                client_order_id=ClientOrderId(f"O-{index}"),
                trade_id=TradeId(f"T-{index}"),
                side=draw(sides),
                quantity=steps_of(instrument.lot_size, draw(lot_counts)),
                price=steps_of(instrument.price_tick, draw(tick_counts)),
                fee=draw(fees),
                ts_event=TS + index * STEP_NS,
            )
        )
    return fills
