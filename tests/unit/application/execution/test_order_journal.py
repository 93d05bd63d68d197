"""OrderJournal: closed orders leave memory after the most recent ones, and stay known through the store."""

from __future__ import annotations

import pytest

from application.execution import order_journal
from tests.builders import make_intent
from tests.unit.application.execution.support import Make


def test_old_closed_orders_leave_memory_but_stay_known_through_the_trade_store(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_journal, "RECENT_CLOSED_ORDERS", 2)
    h = make(broker="recording")
    h.trade("100")
    orders = []
    for n in range(4):
        order = h.submit(make_intent(quantity="1"), client_order_id=f"C-{n}")
        h.broker.accept(order, h.advance())
        h.broker.fill(order, "1", "100", h.advance())
        orders.append(order)

    assert set(h.orders.orders) == {"C-2", "C-3"}  # the two most recent closed ones
    assert h.submit(make_intent(quantity="1"), client_order_id="C-0") is orders[0]  # still idempotent
    assert len(h.broker.submitted) == 4
    assert h.orders.get("C-0") is orders[0]

    late = h.broker.fill(orders[0], "1", "100", h.advance())  # a late report for a forgotten order
    assert h.reports.stats.late_fills == 1
    assert late in list(h.trades.list_fills())
    journal = h.trades.journal("C-0")
    assert len(journal) == len({(e.status, e.ts_event) for e in journal})  # nothing journaled twice
