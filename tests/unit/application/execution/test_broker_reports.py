"""BrokerReports: fills with their position and cash, rejections, expiries, duplicate or late reports."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from application.messages import CancelRejected, OrderAccepted, OrderFilled, OrderUpdated, PositionChanged
from domain.identifiers import ClientOrderId, VenueOrderId
from domain.orders import OrderType, TimeInForce
from tests.builders import make_fill_for, make_intent
from tests.unit.application.execution.support import Make, S, at, limit
from tests.unit.application.harness import BTC


def test_a_fill_is_committed_with_its_position_and_balances(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(limit(quantity="1", price="100"))
    h.broker.accept(order, h.advance())
    before = h.trades.commits
    h.broker.fill(order, "1", "100", h.advance())
    assert h.trades.commits == before + 1
    assert h.trades.positions[BTC] == h.portfolio.positions[BTC].state()
    assert h.trades.balances == h.portfolio.account.balances


def test_reports_drive_the_order_and_fills_update_the_position_and_the_account(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(limit(quantity="1", price="100"))

    h.broker.accept(order, h.advance())
    assert (order.status, order.venue_order_id) == (S.ACCEPTED, "V-1")

    h.broker.fill(order, "0.4", "100", h.advance(), fee="0.04")
    assert (order.status, h.position()) == (S.PARTIALLY_FILLED, Decimal("0.4"))
    assert h.orders.open_orders == {order.client_order_id: order}
    assert h.orders.working_quantity(BTC) == Decimal("0.6")

    h.broker.fill(order, "0.6", "99", h.advance(), fee="0.0594")
    assert order.status is S.FILLED
    assert h.orders.open_orders == {}
    assert h.statuses(order) == [S.INITIALIZED, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED]
    assert [m.event for m in h.of_type(OrderUpdated)] == h.trades.journal()
    assert len(h.trades.list_fills()) == 2
    assert h.reports.stats.fills == 2
    position = h.portfolio.positions[BTC]
    assert position.quantity == Decimal(1)
    assert position.avg_entry_price == Decimal("99.4")
    assert position.fees == Decimal("0.0994")
    assert h.portfolio.account.balance("USDT") == Decimal("10000") - Decimal("99.4") - Decimal("0.0994")
    assert h.portfolio.account.balance("BTC") == Decimal(1)
    changes = h.of_type(PositionChanged)
    assert [(c.quantity, c.avg_entry_price, c.fees) for c in changes] == [
        (Decimal("0.4"), Decimal(100), Decimal("0.04")),
        (Decimal("1.0"), Decimal("99.4"), Decimal("0.0994")),
    ]


def test_a_refused_cancel_returns_the_order_to_work(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(limit(price="95"))
    h.broker.accept(order, h.advance())
    h.cancel(order.client_order_id)

    h.bus.publish(
        CancelRejected(client_order_id=order.client_order_id, reason="too late", ts_event=h.advance())
    )

    assert order.status is S.ACCEPTED
    assert order.client_order_id in h.orders.open_orders


def test_a_broker_rejection_closes_the_order_and_is_counted(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(make_intent())

    h.broker.reject(order, h.advance(), "insufficient balance")

    assert order.status is S.REJECTED
    assert order.events[-1].reason == "insufficient balance"
    assert h.orders.open_orders == {}
    assert h.reports.stats.broker_rejections == 1


def test_an_expiry_after_a_partial_fill_keeps_the_fill(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(limit(time_in_force=TimeInForce.IOC))
    h.broker.accept(order, h.advance())
    h.broker.fill(order, "0.3", "100", h.advance())

    h.broker.expire(order, h.advance())

    assert order.status is S.EXPIRED
    assert h.position() == Decimal("0.3")
    assert h.orders.open_orders == {}


# -- duplicate, late and unknown reports --------------------------------------------------------


def test_duplicate_and_late_reports_are_counted_and_ignored(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(make_intent())
    accepted = OrderAccepted(
        client_order_id=order.client_order_id, venue_order_id=VenueOrderId("V-9"), ts_event=h.advance()
    )
    h.bus.publish(accepted)
    fill = h.broker.fill(order, "1", "100", h.advance())
    journal = h.trades.journal()

    h.bus.publish(accepted)  # the ack again
    h.bus.publish(OrderFilled(fill=fill))  # the same trade again
    h.broker.report_canceled(order, h.advance())  # a cancel of a filled order

    assert h.reports.stats.duplicate_reports == 3
    assert h.position() == Decimal(1)
    assert h.trades.list_fills() == [fill]
    assert h.trades.journal() == journal
    assert order.status is S.FILLED


def test_a_fill_after_the_cancel_confirmation_is_still_booked_once(make: Make) -> None:
    h = make(broker="recording")
    at(h, "100")
    order = h.submit(make_intent(order_type=OrderType.LIMIT, price="99"))
    h.broker.accept(order, h.advance())
    h.cancel(order.client_order_id)
    h.broker.report_canceled(order, h.advance())
    assert order.status is S.CANCELED

    fill = h.broker.fill(order, "1", "99", h.advance())  # the venue executed it before the cancel
    h.bus.publish(OrderFilled(fill=fill))  # and a replayed report must not count twice

    assert h.portfolio.positions[BTC].quantity == Decimal(1)
    assert h.reports.stats.late_fills == 1
    assert h.reports.stats.duplicate_reports == 1
    assert list(h.trades.list_fills()) == [fill]


def test_reports_for_unknown_orders_are_counted_and_ignored(make: Make) -> None:
    h = make(broker="recording")

    h.bus.publish(
        OrderAccepted(client_order_id=ClientOrderId("NOPE"), venue_order_id=VenueOrderId("V"), ts_event=1)
    )
    h.bus.publish(CancelRejected(client_order_id=ClientOrderId("NOPE"), reason="?", ts_event=1))

    assert h.reports.stats.unknown_reports == 2
    assert h.trades.journal() == []


def test_a_venues_fill_without_a_strategy_is_booked_as_its_orders_strategys(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(limit(quantity="1", price="100"))
    h.broker.accept(order, h.advance())
    anonymous = replace(make_fill_for(order, ts_event=h.advance()), strategy_id=None)

    h.bus.publish(OrderFilled(fill=anonymous))

    assert order.strategy_id is not None
    assert [f.strategy_id for f in h.trades.list_fills()] == [order.strategy_id]
    assert order.fills[0].strategy_id == order.strategy_id


def test_a_fill_is_logged_with_decimals_as_the_api_writes_them(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    h = make(broker="recording")
    h.trade("100")
    order = h.submit(limit(quantity="1", price="100"))
    h.broker.accept(order, h.advance())
    padded = replace(
        make_fill_for(order, quantity="1.00000000", price="99.87000000", ts_event=h.advance()),
        fee=Decimal("0.014999935000"),
    )
    caplog.set_level("INFO", "tradeplane.execution")

    h.bus.publish(OrderFilled(fill=padded))

    assert "BUY 1 @ 99.87 fee 0.014999935 (quote)" in caplog.text


def test_rejections_and_fills_are_logged_with_their_instrument_order_and_reason_as_fields(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    h = make(broker="recording")
    h.trade("100")
    rejected = h.submit(make_intent())
    filled = h.submit(limit(quantity="1", price="100"))
    h.broker.accept(filled, h.advance())
    with caplog.at_level("INFO", logger="tradeplane.execution"):
        h.broker.reject(rejected, h.advance(), "insufficient balance")
        h.broker.fill(filled, "1", "100", h.advance(), fee="0.1")

    rejection, fill = (r for r in caplog.records if r.name == "tradeplane.execution")
    assert (rejection.instrument, rejection.client_order_id, rejection.reason) == (  # type: ignore[attr-defined]
        str(BTC),
        str(rejected.client_order_id),
        "insufficient balance",
    )
    assert (fill.instrument, fill.client_order_id, fill.quantity, fill.price, fill.fee) == (  # type: ignore[attr-defined]
        str(BTC),
        str(filled.client_order_id),
        Decimal(1),
        Decimal(100),
        Decimal("0.1"),
    )
