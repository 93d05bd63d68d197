"""After a restart: ask the broker about every order, and make the engine agree with it.

``recovery.recover`` rebuilds the engine from its own store; this module then asks the broker,
which is the truth for what was filled and what is still working. Each discrepancy is resolved
by one rule, applied through the OMS's ordinary report handlers (so it is journaled, moves the
position and the cash, and is committed like any live report) and logged:

1. **Fills the store lacks** (the venue executed while the engine was down, or between the
   venue's report and the engine's commit) are booked, in the venue's order. A fill the store
   has is recognised by its trade id and never booked twice.
2. **An acknowledgement the store lacks** is applied (before the fills).
3. **An order the store thinks open that the venue closed** (canceled, expired, rejected) is
   closed with the venue's reason; a FILLED one is closed by its fills.
4. **A cancel the store requested that the venue never received** (the venue still has the
   order working) is sent again.
5. **An order the venue has no record of**: if it was never acknowledged, its submission was
   lost before it reached the venue, and it is rejected with that reason; if it was
   acknowledged, the venue has lost it, and it is expired and reported as an error. Only the
   venue's own answer concludes that an order is gone: a broker that cannot answer
   (``query_order`` raises) leaves the order in flight and the error propagates.
6. **An order working at the venue that the store does not know** (placed outside the engine)
   is taken into the journal as an external order (no strategy), with its fills, so that the
   position and the cash include it and an operator can see and cancel it.

Held stops live engine-side only and are not asked about.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from application.execution import BrokerReports, OrderManager
from application.messages import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    VenueOrder,
)
from application.ports import ReconcilableBroker
from domain.errors import DomainError
from domain.identifiers import ClientOrderId
from domain.orders import Order, OrderStatus

log = logging.getLogger("tradeplane.reconciliation")

LOST_SUBMISSION = "the venue has no record of it: the submission never reached the venue"
LOST_BY_VENUE = "the venue has no record of this acknowledged order"


@dataclass(slots=True)
class ReconciliationReport:
    """What asking the broker changed; ``actions`` has one sentence per discrepancy."""

    checked: int = 0
    fills_booked: int = 0
    closed: int = 0
    cancels_resent: int = 0
    external: int = 0
    actions: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"reconciliation: {self.checked} order(s) checked with the broker, {self.fills_booked} fill(s)"
            f" booked, {self.closed} closed, {self.cancels_resent} cancel(s) sent again,"
            f" {self.external} external order(s) taken in"
        )


def reconcile(
    orders: OrderManager,
    reports: BrokerReports,
    broker: ReconcilableBroker,
    *,
    only: Collection[ClientOrderId] | None = None,
    skip: Callable[[ClientOrderId], bool] | None = None,
    quiet: bool = False,
) -> ReconciliationReport:
    """Bring ``orders`` (already recovered from their store) in line with ``broker``; the
    venue's answers are applied as the broker reports they stand for, by ``reports``.

    While the engine runs, the broker's answers were fetched a moment ago: ``only`` limits the
    check to the orders that were asked about (an order placed since is not in the answers,
    which must not read as "unknown to the venue"), ``skip`` leaves out an order whose
    request is still travelling (its venue state is about to change), and ``quiet`` logs the
    summary only when something was done (every difference is logged regardless)."""
    report = ReconciliationReport()
    for order in list(orders.open_orders.values()):
        coid = order.client_order_id
        if (
            orders.is_held(coid)
            or (only is not None and coid not in only)
            or (skip is not None and skip(coid))
        ):
            continue
        report.checked += 1
        venue = broker.query_order(order.client_order_id)
        if venue is None:
            _missing_at_venue(reports, order, report)
        else:
            _align(reports, broker, order, venue, report)
    for venue in broker.query_open_orders():
        if orders.find(venue.client_order_id) is None and (skip is None or not skip(venue.client_order_id)):
            _take_external(orders, reports, venue, report)
    if report.actions or not quiet:
        log.info(report.summary())
    return report


def _act(report: ReconciliationReport, message: str, *, error: bool = False) -> None:
    report.actions.append(message)
    (log.error if error else log.warning)("reconciliation: %s", message)


def _missing_at_venue(reports: BrokerReports, order: Order, report: ReconciliationReport) -> None:
    coid = order.client_order_id
    ts = order.ts_last
    if order.venue_order_id is None:
        _act(report, f"{coid} was never received by the venue: rejected")
        reports.on_rejected(OrderRejected(client_order_id=coid, reason=LOST_SUBMISSION, ts_event=ts))
    else:
        _act(report, f"{coid} ({order.venue_order_id}) is unknown to the venue: expired", error=True)
        reports.on_expired(OrderExpired(client_order_id=coid, reason=LOST_BY_VENUE, ts_event=ts))
    report.closed += 1


def _align(
    reports: BrokerReports,
    broker: ReconcilableBroker,
    order: Order,
    venue: VenueOrder,
    report: ReconciliationReport,
) -> None:
    coid = order.client_order_id
    if order.venue_order_id is None and venue.venue_order_id is not None:
        ts = venue.fills[0].ts_event if venue.fills else venue.ts_last
        _act(report, f"{coid} was acknowledged by the venue as {venue.venue_order_id}")
        reports.on_accepted(
            OrderAccepted(client_order_id=coid, venue_order_id=venue.venue_order_id, ts_event=ts)
        )
    known = {fill.trade_id for fill in order.fills}
    for fill in venue.fills:
        if fill.trade_id not in known:
            _act(
                report,
                f"{coid} fill {fill.trade_id} ({fill.side.name} {fill.quantity} @ {fill.price}) booked",
            )
            reports.on_filled(OrderFilled(fill=fill))
            report.fills_booked += 1
    if not order.status.is_open:
        return
    status = venue.status
    if status.is_terminal:
        ts = venue.ts_last
        if status is OrderStatus.FILLED:  # the fills closed it here too, unless they disagree
            _act(report, f"{coid} is FILLED at the venue but {order.status.value} here", error=True)
            return
        _act(report, f"{coid} was {status.value} at the venue ({venue.reason}): closed")
        if status is OrderStatus.CANCELED:
            reports.on_canceled(OrderCanceled(client_order_id=coid, reason=venue.reason, ts_event=ts))
        elif status is OrderStatus.EXPIRED:
            reports.on_expired(OrderExpired(client_order_id=coid, reason=venue.reason, ts_event=ts))
        else:
            reports.on_rejected(OrderRejected(client_order_id=coid, reason=venue.reason, ts_event=ts))
        report.closed += 1
    elif order.status is OrderStatus.CANCEL_PENDING and status is not OrderStatus.SUBMITTED:
        _act(report, f"{coid}: the cancel never reached the venue; sent again")
        broker.cancel(order)
        report.cancels_resent += 1


def _take_external(
    orders: OrderManager, reports: BrokerReports, venue: VenueOrder, report: ReconciliationReport
) -> None:
    try:
        order = orders.adopt_external(venue)
    except DomainError as error:
        _act(
            report,
            f"venue order {venue.client_order_id} is unknown here and cannot be tracked: {error}",
            error=True,
        )
        return
    report.external += 1
    _act(
        report,
        f"{order.client_order_id} is working at the venue but was not in the store: taken in as external",
    )
    if venue.venue_order_id is not None:
        reports.on_accepted(
            OrderAccepted(
                client_order_id=order.client_order_id,
                venue_order_id=venue.venue_order_id,
                ts_event=venue.ts_last,
            )
        )
    for fill in venue.fills:
        reports.on_filled(OrderFilled(fill=fill))
        report.fills_booked += 1
