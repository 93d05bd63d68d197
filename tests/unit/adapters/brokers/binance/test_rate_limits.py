"""RateLimiter: declared limits, usage headers per window, the block a 429 imposes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.brokers.binance.errors import MalformedPayload
from adapters.brokers.binance.rate_limits import RateLimiter, parse_rate_limits, window_ms
from adapters.memory.clock import ManualClock
from tests.unit.adapters.brokers.binance.payloads import RATE_LIMITS

MINUTE_MS = 60_000


def test_the_declared_limits_are_read() -> None:
    limits = parse_rate_limits(RATE_LIMITS)

    assert [limit.suffix for limit in limits] == ["1M", "10S", "1D", "5M"]
    assert limits[0].kind == "REQUEST_WEIGHT"
    assert limits[0].limit == 6000
    assert limits[1].window_ms == 10_000


@pytest.mark.parametrize(
    "raw",
    [
        {"rateLimitType": "ORDERS"},
        [{"rateLimitType": "ORDERS", "interval": "WEEK", "intervalNum": 1, "limit": 1}],
        [{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 0, "limit": 1}],
        ["ORDERS"],
    ],
)
def test_a_malformed_declaration_is_refused(raw: object) -> None:
    with pytest.raises(MalformedPayload):
        parse_rate_limits(raw)


def test_usage_counts_only_in_its_window() -> None:
    limiter = RateLimiter(ManualClock())
    limiter.configure(parse_rate_limits(RATE_LIMITS))
    now = 100 * MINUTE_MS + 30_000

    limiter.observe([("X-MBX-USED-WEIGHT-1M", "5999"), ("x-mbx-order-count-10s", "3")], now)

    assert limiter.used_weight == 5999
    assert limiter.used("ORDERS", "10S", now) == 3
    over = limiter.over_limit("REQUEST_WEIGHT", 2, now)
    assert over is not None
    assert over[0].suffix == "1M"
    assert over[1] == 30_000  # until the minute ends
    assert limiter.over_limit("REQUEST_WEIGHT", 1, now) is None
    assert limiter.over_limit("REQUEST_WEIGHT", 2, 101 * MINUTE_MS) is None  # a new minute


def test_the_order_limit_is_reached() -> None:
    limiter = RateLimiter(ManualClock())
    limiter.configure(parse_rate_limits(RATE_LIMITS))
    limiter.observe([("X-MBX-ORDER-COUNT-10S", "100")], 5_000)

    over = limiter.over_limit("ORDERS", 1, 6_000)

    assert over is not None
    assert over[0].describe() == "ORDERS 100 per 10 second"
    assert over[1] == 4_000


def test_a_429_blocks_until_its_retry_after_and_is_counted() -> None:
    clock = ManualClock(1_000_000_000)
    limiter = RateLimiter(clock)

    limiter.on_rate_limited(2.5)

    assert limiter.rate_limited == 1
    assert limiter.blocked_until_ns == 3_500_000_000
    assert limiter.blocked_for_s() == pytest.approx(2.5)
    clock.advance(2_500_000_000)
    assert limiter.blocked_for_s() == 0.0


def test_a_429_without_retry_after_blocks_a_minute_and_a_shorter_one_never_shortens_a_block() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock)

    limiter.on_rate_limited(None)
    limiter.on_rate_limited(1)

    assert limiter.blocked_until_ns == 60_000_000_000
    assert limiter.rate_limited == 2


@given(st.sampled_from("SMHD"), st.integers(1, 1000))
def test_window_names_read_back(unit: str, number: int) -> None:
    scale = {"S": 1000, "M": 60_000, "H": 3_600_000, "D": 86_400_000}[unit]
    assert window_ms(f"{number}{unit}") == number * scale
    assert window_ms(f"{number}{unit.lower()}") == number * scale
