"""The in-memory signals store keeps a keyed signal once per key (the first copy wins), and
remembers a bounded window of keys when it is bounded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory import InMemorySignalRepository
from application.ports import SIGNAL_KEY_MAX_LENGTH
from domain.signals import Signal
from tests.builders import TS, make_signal


def signal(n: int) -> Signal:
    return make_signal(ts_event=TS + n, reason=f"signal {n}")


def test_a_second_signal_with_a_key_is_ignored_and_the_key_is_known() -> None:
    store = InMemorySignalRepository()
    assert not store.has_key("k-1")
    store.add(signal(1), "k-1")
    store.add(signal(2), "k-1")
    store.add(signal(3))
    store.add(signal(4))  # keyless signals are all kept

    assert store.has_key("k-1")
    assert not store.has_key("k-2")
    assert list(store.list()) == [signal(1), signal(3), signal(4)]


def test_a_bounded_store_remembers_the_last_capacity_keys() -> None:
    store = InMemorySignalRepository(capacity=3)
    for n in range(5):
        store.add(signal(n), f"k-{n}")
    assert [store.has_key(f"k-{n}") for n in range(5)] == [False, False, True, True, True]
    store.add(signal(9), "k-4")
    assert list(store.list()) == [signal(2), signal(3), signal(4)]


@pytest.mark.parametrize("key", ["", "x" * (SIGNAL_KEY_MAX_LENGTH + 1), "a\0b"])
def test_a_key_that_cannot_be_stored_is_refused(key: str) -> None:
    store = InMemorySignalRepository()
    with pytest.raises(ValueError, match="signal key"):
        store.add(signal(1), key)
    assert list(store.list()) == []
    store.add(signal(1), "x" * SIGNAL_KEY_MAX_LENGTH)
    assert store.has_key("x" * SIGNAL_KEY_MAX_LENGTH)


ARRIVALS = st.lists(st.one_of(st.none(), st.sampled_from("abcdef")), max_size=60)


@given(ARRIVALS)
def test_keyed_signals_are_kept_once_per_key_in_first_arrival_order(keys: list[str | None]) -> None:
    store = InMemorySignalRepository()
    for n, key in enumerate(keys):
        store.add(signal(n), key)

    first: dict[str, int] = {}
    for n, key in enumerate(keys):
        if key is not None:
            first.setdefault(key, n)
    expected = [signal(n) for n, key in enumerate(keys) if key is None or first[key] == n]
    assert list(store.list(limit=len(keys) + 1)) == expected
    assert all(store.has_key(key) for key in first)
    assert not store.has_key("never added")
