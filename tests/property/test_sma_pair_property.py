"""SmaPair gives bit for bit what two SMAs give, whatever the series and the windows."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidParameter, InvalidValue
from domain.indicators import SMA
from domain.indicators.sma_pair import SmaPair

VALUES = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@given(st.integers(1, 40), st.integers(1, 40), st.lists(VALUES, max_size=400))
def test_the_pair_equals_two_smas_bit_for_bit(fast: int, extra: int, values: list[float]) -> None:
    slow = fast + extra
    pair, one, two = SmaPair(fast, slow), SMA(fast), SMA(slow)
    for value in values:
        got_fast, got_slow = pair.push(value)
        assert _same(got_fast, one.push(value))
        assert _same(got_slow, two.push(value))
    assert pair.count == len(values)


@pytest.mark.parametrize(("fast", "slow"), [(0, 5), (5, 5), (6, 5), (1, 100_001)])
def test_bad_windows_are_refused(fast: int, slow: int) -> None:
    with pytest.raises(InvalidParameter):
        SmaPair(fast, slow)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "1", None])
def test_a_value_that_is_not_a_finite_number_is_refused(value: object) -> None:
    pair = SmaPair(2, 3)
    with pytest.raises(InvalidValue):
        pair.push(value)  # type: ignore[arg-type]
    assert pair.count == 0
