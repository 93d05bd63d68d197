"""Backoff with jitter and the token bucket that pace venue connections and gRPC calls."""

from __future__ import annotations

import random

import pytest

from adapters.pacing import Backoff, TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_up_to_the_maximum_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(0.5, 4.0, random.Random(1))

    delays = [backoff.next_delay() for _ in range(8)]

    for delay, ceiling in zip(delays, [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.attempts == 8


def test_backoff_never_goes_below_half_the_initial_delay_so_it_cannot_spin() -> None:
    backoff = Backoff(0.2, 60.0, random.Random(2))

    assert min(Backoff(0.2, 60.0, random.Random(seed)).next_delay() for seed in range(200)) >= 0.1
    backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() <= 0.2


def test_backoff_jitter_is_reproducible_with_a_seeded_generator() -> None:
    first = [Backoff(1, 30, random.Random(7)).next_delay() for _ in range(3)]
    second = [Backoff(1, 30, random.Random(7)).next_delay() for _ in range(3)]

    assert first == second


def test_backoff_refuses_bounds_that_make_no_sense() -> None:
    with pytest.raises(ValueError, match="initial <= maximum"):
        Backoff(5, 1)


def test_token_bucket_allows_a_burst_then_paces_at_its_rate() -> None:
    clock = FakeTime()
    bucket = TokenBucket(4.0, 1.0, monotonic=clock)  # control messages: 4/s, no burst

    assert bucket.try_acquire() == 0.0
    assert bucket.try_acquire() == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.try_acquire() == 0.0


def test_token_bucket_takes_weighted_requests() -> None:
    clock = FakeTime()
    bucket = TokenBucket(100 / 60, 100, monotonic=clock)  # REST weight: 100 a minute

    assert bucket.try_acquire(50) == 0.0
    assert bucket.try_acquire(50) == 0.0
    assert bucket.try_acquire(50) == pytest.approx(30.0)
    with pytest.raises(ValueError, match="cannot take"):
        bucket.try_acquire(101)


def test_token_bucket_allows_its_capacity_at_once_then_its_rate_and_never_refills_above_it() -> None:
    clock = FakeTime()
    clock.now = 0.0  # 0.0 + 0.1 is exactly 0.1: one whole token back
    bucket = TokenBucket(10.0, 3, monotonic=clock)  # gRPC calls per token: 10/s, bursts of 3

    assert [bucket.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_acquire() == pytest.approx(0.1)
    clock.now += 0.1
    assert bucket.try_acquire() == 0.0
    clock.now += 10.0
    assert [bucket.try_acquire() for _ in range(4)][-1] > 0
