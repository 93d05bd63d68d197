"""The equity curve kept for the operator: one point per step, the latest value, bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.execution.equity_history import EquityHistory

STEP = 10


_EQUITY = st.decimals(min_value=0, max_value=10**6, places=4)


@given(
    st.lists(st.tuples(st.integers(min_value=0, max_value=25), _EQUITY), max_size=200),
    st.integers(min_value=1, max_value=12),
)
def test_one_point_per_step_the_latest_value_and_never_more_than_the_bound(
    records: list[tuple[int, Decimal]], bound: int
) -> None:
    history = EquityHistory(step_ns=STEP, max_points=bound)
    now = 0
    latest_per_step: dict[int, Decimal] = {}
    for gap, equity in records:
        now += gap  # the engine's clock never goes back
        history.record(now, equity)
        latest_per_step[now // STEP] = equity
    points = history.since()
    assert len(points) <= bound
    assert len(points) == min(bound, len(latest_per_step))
    steps = [p.ts_ns // STEP for p in points]
    assert steps == sorted(set(steps))  # one per step, oldest first
    assert [p.equity for p in points] == [latest_per_step[s] for s in steps]
    if records:
        assert points[-1].ts_ns == now


def test_since_keeps_only_later_points() -> None:
    history = EquityHistory(step_ns=STEP, max_points=100)
    for t in range(0, 100, 5):
        history.record(t, Decimal(t))
    assert [p.ts_ns for p in history.since(45)] == [55, 65, 75, 85, 95]
    assert history.since(95) == []
    assert len(history.since()) == 10


def test_a_clock_that_goes_back_updates_the_last_step() -> None:
    history = EquityHistory(step_ns=STEP, max_points=10)
    history.record(25, Decimal(1))
    history.record(3, Decimal(2))
    (point,) = history.since()
    assert (point.ts_ns, point.equity) == (25, Decimal(2))


@pytest.mark.parametrize(("step", "bound"), [(0, 1), (1, 0), (-1, 5)])
def test_a_step_or_bound_that_is_not_positive_is_refused(step: int, bound: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        EquityHistory(step_ns=step, max_points=bound)
