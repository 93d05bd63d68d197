"""Reconciliation on the in-memory store: the numbered rules of ``application.reconciliation``, in order.

The engine's store says what it knows; a ``TableVenue`` says what the venue knows, from a
table the test fills in; ``reconcile`` is then asked to make the engine agree with the venue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest

from application.messages import VenueOrder
from application.reconciliation import LOST_BY_VENUE, LOST_SUBMISSION, reconcile
from domain.identifiers import ClientOrderId, InstrumentId, TradeId, VenueOrderId
from domain.orders import Fill, Order, OrderStatus, OrderType, TimeInForce
from domain.values import OrderSide
from tests.builders import make_fill, make_fill_for, make_intent
from tests.unit.application.harness import BTC, Harness

S = OrderStatus
Make = Callable[..., Harness]


class TableVenue:
    """A ``ReconcilableBroker`` that answers from a table the test fills in: the venue's record
    of each order by client order id. An order missing from the table is one the venue has no
    record of; while ``failure`` is set, asking about an order raises it (a venue that cannot
    answer). It records what it is asked and sent."""

    name = "table"
    supports_stop_orders = False
    spot_account = False

    def __init__(self, *records: VenueOrder) -> None:
        self.records: dict[ClientOrderId, VenueOrder] = {r.client_order_id: r for r in records}
        self.failure: Exception | None = None
        self.asked: list[ClientOrderId] = []
        self.submitted: list[Order] = []
        self.canceled: list[Order] = []

    def submit(self, order: Order) -> None:
        self.submitted.append(order)

    def cancel(self, order: Order) -> None:
        self.canceled.append(order)

    def query_order(self, client_order_id: ClientOrderId) -> VenueOrder | None:
        self.asked.append(client_order_id)
        if self.failure is not None:
            raise self.failure
        return self.records.get(client_order_id)

    def query_open_orders(self) -> Sequence[VenueOrder]:
        return [record for record in self.records.values() if not record.status.is_terminal]


def at_venue(
    order: Order,
    status: OrderStatus,
    *fills: Fill,
    ts_last: int,
    acknowledged_as: str | None = None,
    reason: str = "",
) -> VenueOrder:
    """The venue's record of ``order``: ``status``, ``fills``, and the venue order id the store
    knows unless the venue acknowledged it as ``acknowledged_as``."""
    venue_order_id = VenueOrderId(acknowledged_as) if acknowledged_as is not None else order.venue_order_id
    return VenueOrder(
        client_order_id=order.client_order_id,
        venue_order_id=venue_order_id,
        instrument_id=order.instrument_id,
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        price=order.price,
        quantity=order.quantity,
        filled_quantity=sum((fill.quantity for fill in fills), Decimal(0)),
        status=status,
        strategy_id=order.strategy_id,
        fills=fills,
        reason=reason,
        ts_last=ts_last,
    )


def working(h: Harness, *, acknowledged: bool = True) -> Order:
    """A limit buy of 1 at 100 that the store knows as sent, and as acknowledged unless told not."""
    order = h.submit(make_intent(order_type=OrderType.LIMIT, quantity="1", price="100"))
    if acknowledged:
        h.broker.accept(order, h.advance())
    return order


def trade_ids(fills: Sequence[Fill]) -> list[TradeId]:
    return [fill.trade_id for fill in fills]


@pytest.fixture
def h(make: Make) -> Harness:
    """The engine on a recording broker, BTCUSDT last traded at 100."""
    harness = make(broker="recording")
    harness.trade("100")
    return harness


# -- 1. fills the store lacks --------------------------------------------------------------------


def test_fills_the_store_lacks_are_booked_once_in_the_venues_order(h: Harness) -> None:
    order = working(h)
    known = h.broker.fill(order, "0.2", "100", h.advance())
    missed = [
        make_fill_for(order, quantity="0.3", price="99.9", trade_id="X-2", ts_event=h.advance()),
        make_fill_for(order, quantity="0.1", price="99.8", trade_id="X-3", ts_event=h.advance()),
    ]
    venue = TableVenue(at_venue(order, S.PARTIALLY_FILLED, known, *missed, ts_last=h.advance()))

    report = reconcile(h.orders, h.reports, venue)

    assert report.fills_booked == 2
    assert trade_ids(order.fills) == ["X-1", "X-2", "X-3"]
    assert trade_ids(h.trades.list_fills()) == ["X-1", "X-2", "X-3"]
    assert (order.status, order.filled_quantity) == (S.PARTIALLY_FILLED, Decimal("0.6"))
    assert h.position() == Decimal("0.6")

    again = reconcile(h.orders, h.reports, venue)

    assert again.fills_booked == 0
    assert trade_ids(h.trades.list_fills()) == ["X-1", "X-2", "X-3"]
    assert h.position() == Decimal("0.6")


# -- 2. an acknowledgement the store lacks -------------------------------------------------------


def test_an_acknowledgement_the_store_lacks_is_applied_before_the_fills(h: Harness) -> None:
    order = working(h, acknowledged=False)
    fill = make_fill_for(order, quantity="0.4", trade_id="X-1", ts_event=h.advance())
    venue = TableVenue(at_venue(order, S.PARTIALLY_FILLED, fill, ts_last=h.advance(), acknowledged_as="V-9"))

    reconcile(h.orders, h.reports, venue)

    assert order.venue_order_id == "V-9"
    assert h.statuses(order) == [S.INITIALIZED, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED]
    assert order.events[2].ts_event == fill.ts_event  # acknowledged no later than its first fill
    assert h.position() == Decimal("0.4")


# -- 3. an order the venue closed ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "acknowledged", "reason"),
    [
        (S.CANCELED, True, "canceled from the venue's website"),
        (S.EXPIRED, True, "expired by the venue's self-trade prevention"),
        (S.REJECTED, False, "insufficient balance"),
    ],
    ids=["canceled", "expired", "rejected"],
)
def test_an_order_the_venue_closed_is_closed_with_the_venues_reason(
    h: Harness, status: OrderStatus, acknowledged: bool, reason: str
) -> None:
    order = working(h, acknowledged=acknowledged)
    venue = TableVenue(at_venue(order, status, ts_last=h.advance(), reason=reason))

    report = reconcile(h.orders, h.reports, venue)

    assert (order.status, order.events[-1].reason) == (status, reason)
    assert h.statuses(order)[-1] is status
    assert h.orders.open_orders == {}
    assert report.closed == 1


def test_an_order_the_venue_filled_is_closed_by_its_fills(h: Harness) -> None:
    order = working(h)
    fill = make_fill_for(order, trade_id="X-1", ts_event=h.advance())
    venue = TableVenue(at_venue(order, S.FILLED, fill, ts_last=fill.ts_event))

    report = reconcile(h.orders, h.reports, venue)

    assert order.status is S.FILLED
    assert h.orders.open_orders == {}
    assert h.position() == Decimal(1)
    assert (report.fills_booked, report.closed) == (1, 0)


def test_an_order_filled_at_the_venue_but_not_by_its_fills_stays_open_and_is_reported(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    order = working(h)
    fill = make_fill_for(order, quantity="0.5", trade_id="X-1", ts_event=h.advance())
    venue = TableVenue(at_venue(order, S.FILLED, fill, ts_last=fill.ts_event))

    with caplog.at_level(logging.ERROR, logger="tradeplane.reconciliation"):
        report = reconcile(h.orders, h.reports, venue)

    assert (order.status, order.filled_quantity) == (S.PARTIALLY_FILLED, Decimal("0.5"))
    assert h.orders.open_orders == {order.client_order_id: order}
    assert report.closed == 0
    assert "is FILLED at the venue but PARTIALLY_FILLED here" in report.actions[-1]
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


# -- 4. a cancel the venue never received --------------------------------------------------------


def test_a_cancel_the_venue_never_received_is_sent_again(h: Harness) -> None:
    order = working(h)
    h.cancel(order.client_order_id)
    venue = TableVenue(at_venue(order, S.ACCEPTED, ts_last=h.advance()))  # still working there

    report = reconcile(h.orders, h.reports, venue)

    assert venue.canceled == [order]
    assert report.cancels_resent == 1
    assert order.status is S.CANCEL_PENDING  # until the venue confirms


def test_a_cancel_is_not_sent_again_while_the_order_is_still_on_its_way_to_the_venue(h: Harness) -> None:
    order = working(h, acknowledged=False)
    h.cancel(order.client_order_id)
    venue = TableVenue(at_venue(order, S.SUBMITTED, ts_last=h.advance()))

    report = reconcile(h.orders, h.reports, venue)

    assert venue.canceled == []
    assert report.cancels_resent == 0
    assert order.status is S.CANCEL_PENDING


# -- 5. an order the venue has no record of ------------------------------------------------------


def test_an_order_never_acknowledged_that_the_venue_has_no_record_of_is_rejected(h: Harness) -> None:
    order = working(h, acknowledged=False)

    report = reconcile(h.orders, h.reports, TableVenue())

    assert (order.status, order.events[-1].reason) == (S.REJECTED, LOST_SUBMISSION)
    assert h.orders.open_orders == {}
    assert report.closed == 1


def test_an_acknowledged_order_the_venue_has_no_record_of_is_expired_and_reported_as_an_error(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    order = working(h)

    with caplog.at_level(logging.WARNING, logger="tradeplane.reconciliation"):
        report = reconcile(h.orders, h.reports, TableVenue())

    assert (order.status, order.events[-1].reason) == (S.EXPIRED, LOST_BY_VENUE)
    assert h.orders.open_orders == {}
    assert report.closed == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert order.client_order_id in errors[0]


def test_a_venue_that_cannot_answer_leaves_the_order_in_flight_and_the_error_propagates(h: Harness) -> None:
    order = working(h, acknowledged=False)
    venue = TableVenue()
    venue.failure = ConnectionError("the venue did not answer")

    with pytest.raises(ConnectionError, match="did not answer"):
        reconcile(h.orders, h.reports, venue)

    assert order.status is S.SUBMITTED
    assert h.orders.open_orders == {order.client_order_id: order}
    assert h.statuses(order) == [S.INITIALIZED, S.SUBMITTED]


# -- 6. an order working at the venue that the store does not know ------------------------------


def test_an_order_working_at_the_venue_that_the_store_does_not_know_is_taken_in_as_external(
    h: Harness,
) -> None:
    coid = ClientOrderId("web-1")
    fill = make_fill(
        client_order_id=coid,
        trade_id="X-1",
        quantity="0.5",
        price="95",
        strategy_id=None,
        ts_event=h.advance(),
    )
    venue = TableVenue(
        VenueOrder(
            client_order_id=coid,
            venue_order_id=VenueOrderId("V-77"),
            instrument_id=InstrumentId(BTC),
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            price=Decimal(95),
            quantity=Decimal(2),
            filled_quantity=Decimal("0.5"),
            status=S.PARTIALLY_FILLED,
            fills=(fill,),
            ts_last=fill.ts_event,
        )
    )

    report = reconcile(h.orders, h.reports, venue)

    external = h.orders.open_orders[coid]
    assert external.strategy_id is None
    assert (external.status, external.venue_order_id) == (S.PARTIALLY_FILLED, "V-77")
    assert h.trades.get_order(coid) is external  # journaled
    assert h.position() == Decimal("0.5")
    assert h.portfolio.account.balance("USDT") == Decimal(10000) - Decimal("47.5")
    assert (report.external, report.fills_booked) == (1, 1)
    assert h.cancel(coid).status is S.CANCEL_PENDING  # an operator can cancel it


def test_a_venue_order_the_engine_cannot_represent_is_reported_and_left_out(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    venue = TableVenue(
        VenueOrder(
            client_order_id=ClientOrderId("web-2"),
            venue_order_id=VenueOrderId("V-78"),
            instrument_id=InstrumentId(BTC),
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            price=Decimal(95),
            quantity=Decimal(0),
            filled_quantity=Decimal(0),
            status=S.ACCEPTED,
        )
    )

    with caplog.at_level(logging.ERROR, logger="tradeplane.reconciliation"):
        report = reconcile(h.orders, h.reports, venue)

    assert h.orders.find("web-2") is None
    assert report.external == 0
    assert "web-2 is unknown here and cannot be tracked" in report.actions[0]
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


# -- held stops ----------------------------------------------------------------------------------


def test_held_stops_are_not_asked_about(h: Harness) -> None:
    stop = h.submit(make_intent(side=OrderSide.SELL, order_type=OrderType.STOP_MARKET, stop_price="95"))
    venue = TableVenue()

    report = reconcile(h.orders, h.reports, venue)

    assert venue.asked == []
    assert report.checked == 0
    assert h.orders.held_stops == (stop,)
    assert stop.status is S.INITIALIZED
