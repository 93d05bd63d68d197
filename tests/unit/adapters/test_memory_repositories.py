"""The in-memory trade and signal stores: everything by default; bounded when asked, keeping
every working order, the most recent others and every fill."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.memory import InMemorySignalRepository, InMemoryTradeRepository
from domain.orders import Order, OrderStatus
from tests.builders import STEP_NS, TS, make_fill_for, make_order, make_order_in, make_signal


def _store(repository: InMemoryTradeRepository, order: Order) -> None:
    """What the OMS does with an order: stored, its events appended, its fills added."""
    repository.add_order(order)
    for event in order.events:
        repository.append_order_event(event)
    for fill in order.fills:
        repository.add_fill(fill)


def _order(n: int, *, working: bool) -> Order:
    status = OrderStatus.ACCEPTED if working else OrderStatus.FILLED
    return make_order_in(status, client_order_id=f"BT-{n}", ts_init=TS + n * STEP_NS)


def test_by_default_every_order_and_event_is_kept() -> None:
    repository = InMemoryTradeRepository()
    orders = [_order(n, working=False) for n in range(1, 301)]
    for order in orders:
        _store(repository, order)
    assert repository.list_orders() == orders
    assert repository.journal() == [event for order in orders for event in order.events]
    assert repository.max_sequence("BT") == 300


@settings(max_examples=60, deadline=None)
@given(
    recent=st.integers(min_value=1, max_value=12),
    working=st.lists(st.booleans(), min_size=1, max_size=120),
)
def test_a_bounded_store_keeps_working_orders_the_recent_ones_and_every_fill(
    recent: int, working: list[bool]
) -> None:
    repository = InMemoryTradeRepository(recent_orders=recent)
    orders = [_order(n, working=w) for n, w in enumerate(working, start=1)]
    for order in orders:
        _store(repository, order)
    kept = repository.list_orders()
    must_keep = [o for i, o in enumerate(orders) if not o.status.is_terminal or i >= len(orders) - recent]
    assert all(repository.get_order(o.client_order_id) is o for o in must_keep)
    assert len(kept) <= len(must_keep) + max(recent, len(must_keep)) // 4 + 1
    assert [o for o in orders if o in kept] == kept  # still in the order they came
    assert repository.journal() == [event for order in kept for event in order.events]
    assert repository.list_fills() == [fill for order in orders for fill in order.fills]


def test_a_bounded_store_stays_bounded_over_many_orders() -> None:
    repository = InMemoryTradeRepository(recent_orders=50)
    for n in range(1, 5001):
        order = make_order(client_order_id=f"BT-{n}", ts_init=TS + n * STEP_NS)
        repository.add_order(order)  # working when stored, filled after, as in a replay
        order.submit(order.ts_init + 1)
        order.accept(f"V-{n}", order.ts_init + 2)
        order.fill(make_fill_for(order))
        for event in order.events:
            repository.append_order_event(event)
        repository.add_fill(order.fills[0])
        assert len(repository.list_orders()) <= 50 + 50 // 4 + 1
    assert len(repository.list_fills()) == 5000
    assert len(repository.journal()) <= (50 + 50 // 4 + 1) * len(order.events)
    assert repository.max_sequence("BT") == 5000


def test_the_bound_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="recent_orders"):
        InMemoryTradeRepository(recent_orders=0)
    with pytest.raises(ValueError, match="capacity"):
        InMemorySignalRepository(capacity=0)


def test_a_signal_store_keeps_every_signal_or_the_last_of_its_capacity() -> None:
    signals = [make_signal(ts_event=TS + n) for n in range(30)]
    everything = InMemorySignalRepository()
    bounded = InMemorySignalRepository(capacity=10)
    for signal in signals:
        everything.add(signal)
        bounded.add(signal)
    assert list(everything.list(limit=100)) == signals
    assert list(bounded.list(limit=100)) == signals[-10:]
    assert len(bounded) == 10
