"""ExactDecimal: every Decimal the domain can hold comes back from the database exactly.

PostgreSQL keeps it as NUMERIC (same value; a positive exponent or a negative zero comes back
in plain notation), SQLite as its exact text (same representation too).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError

from adapters.persistence import schema as s
from adapters.persistence.signal_store import SqlSignalRepository
from adapters.persistence.trade_store import SqlTradeRepository
from domain.values import MAX_MAGNITUDE, MAX_TEXT, MIN_EXPONENT, exact_mul
from tests.builders import make_signal
from tests.integration.persistence.support import release

MAX_DIGITS = MAX_TEXT
MAX_ADJUSTED = 23  # below MAX_MAGNITUDE = 1e24

REUSING_THE_DATABASE = settings(
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture]
)
"""Every example of a test runs on the test's own (migrated) store, which it cleans itself."""

EDGES = [
    "12345678901234567890.123456789012345678",
    "0.00000001",
    "-0",
    "0",
    "1E+3",
    "1E+23",
    "1E-40",
    "-9999999999999999999999.999999999999999999",
    "0.1000000000000000000000000000000000000000",  # trailing zeros are part of the value's scale
    "-0.000000000000000000000000000000000000001",
    "100.00",
]


@st.composite
def domain_decimals(draw: st.DrawFn) -> Decimal:
    """Up to 40 significant digits, exponents -40..+23, magnitude below 1e24 (domain/values.py)."""
    digits = draw(st.integers(1, MAX_DIGITS))
    coefficient = draw(st.integers(0, 10**digits - 1))
    exponent = draw(st.integers(MIN_EXPONENT, MAX_ADJUSTED - (digits - 1)))
    sign = draw(st.integers(0, 1))
    value = Decimal((sign, tuple(int(c) for c in str(coefficient)), exponent))
    assert value.copy_abs() < MAX_MAGNITUDE  # abs() would round to 28 digits
    return value


def round_trip(engine: Engine, value: Decimal) -> tuple[Decimal, object]:
    """``value`` written to an ExactDecimal column and read back (typed, and as the driver gives it)."""
    with engine.begin() as connection:
        connection.execute(delete(s.balances))
        connection.execute(insert(s.balances).values(asset="PROBE", amount=value, ts_last=0))
    with engine.connect() as connection:
        typed = connection.execute(select(s.balances.c.amount)).scalar_one()
        raw = connection.execute(text("SELECT amount FROM balances")).scalar_one()
    return typed, raw


def assert_exact(engine: Engine, value: Decimal) -> None:
    back, raw = round_trip(engine, value)
    assert type(back) is Decimal
    assert back == value
    if engine.dialect.name == "sqlite":
        assert raw == str(value), "SQLite must hold the exact text, never a REAL"
        assert back.as_tuple() == value.as_tuple()
    else:
        assert isinstance(raw, Decimal)
        assert raw == value
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        if exponent <= 0 and not (value == 0 and value.is_signed()):
            assert back.as_tuple() == value.as_tuple(), "NUMERIC keeps the scale of a value"


@pytest.mark.parametrize("text_value", EDGES)
def test_edge_values_round_trip_exactly(engine: Engine, text_value: str) -> None:
    assert_exact(engine, Decimal(text_value))


def test_an_exact_product_of_two_forty_digit_values_round_trips(engine: Engine) -> None:
    # Positions store quantity × price, exact: up to 80 significant digits.
    a = Decimal("1234567890123456789.012345678901234567891")
    b = Decimal("9876543210987654321.098765432109876543219")
    product = exact_mul(a, b)
    assert len(product.as_tuple().digits) > 64
    assert_exact(engine, product)
    assert_exact(engine, product.copy_negate())


@REUSING_THE_DATABASE
@given(value=domain_decimals())
def test_any_domain_decimal_round_trips_exactly(engine: Engine, value: Decimal) -> None:
    assert_exact(engine, value)


@REUSING_THE_DATABASE
@given(value=domain_decimals())
def test_any_domain_decimal_round_trips_exactly_through_the_stores(engine: Engine, value: Decimal) -> None:
    # The stores write through the driver, not through ExactDecimal: the same exactness is owed.
    trades, signals = SqlTradeRepository(engine), SqlSignalRepository(engine)
    try:
        trades.save_balances({"PROBE": value}, 0)
        trades.commit()
        signals.add(make_signal(side=None, target_position=value))
        for back in (trades.balances()["PROBE"], signals.list(limit=1)[0].target_position):
            assert type(back) is Decimal
            assert back == value
            if engine.dialect.name == "sqlite":
                assert back.as_tuple() == value.as_tuple()
    finally:
        trades.close()
        release(signals)


@pytest.mark.parametrize(
    "bad",
    [0.1, 1.0, float("nan"), float("inf"), Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")],
    ids=repr,
)
def test_floats_and_non_finite_values_are_refused_at_bind(engine: Engine, bad: object) -> None:
    with pytest.raises(StatementError, match="finite Decimal"), engine.begin() as connection:
        connection.execute(insert(s.balances).values(asset="BAD", amount=bad, ts_last=0))
    with engine.connect() as connection:
        assert connection.execute(select(s.balances)).all() == []


def test_null_stays_null(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(s.risk_state).values(
                id=1, state="ACTIVE", message="", since_ns=0, peak_equity=None, limits="{}", ts_last=0
            )
        )
    with engine.connect() as connection:
        assert connection.execute(select(s.risk_state.c.peak_equity)).scalar_one() is None
