"""Reconciliation while the engine runs: stale answers never close an order they did not cover."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest

from application.live_reconciliation import LiveReconciliation
from domain.identifiers import ClientOrderId
from domain.orders import Order, OrderStatus, OrderType
from tests.builders import make_fill_for, make_intent
from tests.unit.application.harness import Harness
from tests.unit.application.test_reconciliation import TableVenue, at_venue

S = OrderStatus
Make = Callable[..., Harness]


@pytest.fixture
def h(make: Make) -> Harness:
    harness = make(broker="connected")
    harness.trade("100")
    return harness


def live(h: Harness, interval_s: float = 60.0) -> LiveReconciliation:
    return LiveReconciliation(orders=h.orders, reports=h.reports, broker=h.broker, interval_s=interval_s)


def limit_buy(h: Harness, price: str = "100") -> Order:
    order = h.submit(make_intent(order_type=OrderType.LIMIT, quantity="1", price=price))
    h.broker.accept(order, h.advance())
    return order


def test_fills_the_stream_missed_are_booked_and_a_closed_order_closed(h: Harness) -> None:
    filled = limit_buy(h)
    canceled = limit_buy(h, "99")
    missed = make_fill_for(filled, quantity="1", price="100", trade_id="T-9", ts_event=h.advance())
    h.broker.venue = TableVenue(
        at_venue(filled, S.FILLED, missed, ts_last=h.advance()),
        at_venue(canceled, S.CANCELED, ts_last=h.advance(), reason="canceled by the venue"),
    )

    report = asyncio.run(live(h).once())

    assert (report.fills_booked, report.closed) == (1, 1)
    assert (filled.status, canceled.status) == (S.FILLED, S.CANCELED)
    assert h.position() == Decimal("1")


def test_an_order_placed_after_the_question_is_not_concluded_missing(h: Harness) -> None:
    asked = limit_buy(h)
    h.broker.venue = TableVenue(at_venue(asked, S.ACCEPTED, ts_last=h.advance()))
    later: list[Order] = []
    original = h.broker.venue_view

    async def view_then_submit(ids: Sequence[ClientOrderId]) -> Any:
        answer = await original(ids)
        # submitted while the question travelled: the answer cannot know it
        later.append(h.submit(make_intent(order_type=OrderType.LIMIT, quantity="1", price="98")))
        return answer

    h.broker.venue_view = view_then_submit

    report = asyncio.run(live(h).once())

    assert report.checked == 1
    assert later[0].status is S.SUBMITTED  # not rejected as "never received"
    assert asked.status is S.ACCEPTED


def test_an_order_with_a_request_in_flight_is_left_alone(h: Harness) -> None:
    order = limit_buy(h)
    h.broker.busy_ids.add(order.client_order_id)
    h.broker.venue = TableVenue()  # the venue does not know it (yet): its request is travelling

    report = asyncio.run(live(h).once())

    assert h.broker.asked == [[]]
    assert report.checked == 0
    assert order.status is S.ACCEPTED


def test_a_venue_that_cannot_answer_is_asked_again_next_time(h: Harness) -> None:
    order = limit_buy(h)
    h.broker.view_failure = ConnectionError("venue unreachable")
    reconciliation = live(h, interval_s=0.01)

    async def run_a_while() -> None:
        task = asyncio.create_task(reconciliation.run())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_a_while())

    assert reconciliation.failures >= 2
    assert reconciliation.runs == 0
    assert order.status is S.ACCEPTED


def test_the_interval_must_be_positive(h: Harness) -> None:
    with pytest.raises(ValueError, match="positive"):
        live(h, interval_s=0)


def test_the_engine_connects_before_trading_and_disconnects_after_the_stops_cancels(h: Harness) -> None:
    order = limit_buy(h)
    calls = h.broker.calls

    async def start_then_stop() -> None:
        await h.engine.start()
        assert calls == ["connect"]
        await h.engine.stop(cancel_open_orders=True)

    asyncio.run(start_then_stop())

    assert calls == ["connect", "cancel", "disconnect"]  # the stop's cancel went out while connected
    assert h.broker.canceled == [order]
    assert h.engine.status().broker is not None
