"""OrderRateThrottle: a rolling window on caller-supplied time that never goes backwards."""

from __future__ import annotations

import pytest

from domain.errors import InvalidParameter, InvalidValue
from domain.risk import OrderRateThrottle

WINDOW = 1_000


def test_allows_up_to_the_limit_within_the_window() -> None:
    throttle = OrderRateThrottle(2, WINDOW)

    assert throttle.allow(0)
    throttle.record(0)
    assert throttle.allow(10)
    throttle.record(10)

    assert not throttle.allow(999)
    assert throttle.count(999) == 2


def test_an_order_frees_its_slot_exactly_one_window_later() -> None:
    throttle = OrderRateThrottle(2, WINDOW, history=[0, 10])

    assert not throttle.allow(WINDOW - 1)  # the order at 0 still counts
    assert throttle.allow(WINDOW)  # ... and no longer does
    assert throttle.count(WINDOW) == 1
    assert throttle.count(WINDOW + 10) == 0


def test_allow_records_nothing() -> None:
    throttle = OrderRateThrottle(1, WINDOW)

    assert throttle.allow(5)
    assert throttle.allow(5)
    assert throttle.count(5) == 0


def test_retry_after_says_when_the_next_slot_frees() -> None:
    throttle = OrderRateThrottle(2, WINDOW, history=[100, 300])

    assert throttle.retry_after_ns(400) == 100 + WINDOW - 400
    assert throttle.retry_after_ns(100 + WINDOW) == 0


def test_orders_at_the_same_time_are_fine() -> None:
    throttle = OrderRateThrottle(3, WINDOW)

    for _ in range(3):
        throttle.record(42)

    assert throttle.count(42) == 3
    assert not throttle.allow(42)


@pytest.mark.parametrize("method", ["allow", "record", "count", "retry_after_ns"])
def test_time_going_backwards_is_refused_naming_it(method: str) -> None:
    throttle = OrderRateThrottle(2, WINDOW, history=[500])

    with pytest.raises(InvalidValue, match="went backwards: the last time seen was 500") as caught:
        getattr(throttle, method)(499)

    assert caught.value.field == "now_ns"
    assert caught.value.value == 499


@pytest.mark.parametrize("bad", [-1, True, 1.5, "10"])
def test_a_malformed_time_is_refused(bad: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        OrderRateThrottle(2, WINDOW).allow(bad)  # type: ignore[arg-type]

    assert caught.value.field == "now_ns"


@pytest.mark.parametrize(
    ("max_orders", "window_ns", "field"),
    [(0, 1, "max_orders"), (True, 1, "max_orders"), (1, 0, "window_ns"), (1, 1.5, "window_ns")],
)
def test_bad_parameters_are_refused_naming_them(max_orders: object, window_ns: object, field: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        OrderRateThrottle(max_orders, window_ns)  # type: ignore[arg-type]

    assert caught.value.field == field


def test_history_keeps_only_the_orders_inside_the_window() -> None:
    throttle = OrderRateThrottle(5, WINDOW, history=[0, 500, 900])

    throttle.allow(1_200)

    assert throttle.history == (500, 900)
