"""Execution reports of the paper venue: each change to an order, its fees, and the report that says so.

Reports are collected while the venue updates its state and handed to ``publish`` after, in
order, so a handler that calls back into the broker (a cancel on a fill) always sees a
consistent venue. With a venue log, a report about an order is written to it before it is
published: whatever the engine heard, the venue remembers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from decimal import Decimal

from adapters.brokers.paper.account import VenueAccount
from adapters.brokers.paper.config import PaperBrokerConfig
from adapters.brokers.paper.matching import WorkingOrder, fee_for, fee_quantum
from adapters.brokers.paper.orders import VenueIds, VenueOrders
from adapters.brokers.paper.venue_log import VenueLog, record_of
from application.messages import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.identifiers import ClientOrderId
from domain.orders import Fill, LiquiditySide, OrderStatus
from domain.values import exact_mul


class ExecutionReports:
    """Moves the venue's orders between states, each move with its report, then delivers them.

    Every method but ``flush`` only queues: ``outbox`` holds the reports not yet published
    (read directly by the broker's market-data handlers, which ``flush`` when it is not empty).
    """

    __slots__ = (
        "_account",
        "_config",
        "_fee_quantum",
        "_flushing",
        "_ids",
        "_log",
        "_orders",
        "_publish",
        "outbox",
    )

    def __init__(
        self,
        *,
        publish: Callable[[object], None],
        config: PaperBrokerConfig,
        ids: VenueIds,
        orders: VenueOrders,
        log: VenueLog | None,
        account: VenueAccount | None = None,
    ) -> None:
        """``account``, if given, is moved by every fill."""
        self._account = account
        self._publish = publish
        self._config = config
        self._fee_quantum = fee_quantum(config.fee_decimals)
        self._ids = ids
        self._orders = orders
        self._log = log
        self.outbox: deque[object] = deque()
        self._flushing = False

    # -- the order moves ------------------------------------------------------------------

    def accepted(self, order: WorkingOrder, ts: int) -> None:
        """``order`` arrived and works at the venue, under a new venue order id."""
        order.venue_order_id = self._ids.next_order_id()
        order.status = OrderStatus.ACCEPTED
        self._orders.working[order.client_order_id] = order
        self._emit(
            OrderAccepted(
                client_order_id=order.client_order_id, venue_order_id=order.venue_order_id, ts_event=ts
            ),
            order,
        )

    def rejected(self, order: WorkingOrder, reason: str, ts: int) -> None:
        """``order`` arrived and was refused for ``reason``."""
        order.status = OrderStatus.REJECTED
        order.reason = reason
        self._orders.remember(order)
        self._emit(OrderRejected(client_order_id=order.client_order_id, reason=reason, ts_event=ts), order)

    def filled(
        self, order: WorkingOrder, quantity: Decimal, price: Decimal, liquidity: LiquiditySide, ts: int
    ) -> None:
        """``quantity`` of ``order`` executed at ``price``, with the maker or taker fee."""
        order.take(quantity)
        order.ts_last = ts
        fees = self._config.fees_for(order.instrument_id.venue)
        bps = fees.maker_fee_bps if liquidity is LiquiditySide.MAKER else fees.taker_fee_bps
        fill = Fill(
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
            trade_id=self._ids.next_trade_id(),
            side=order.side,
            quantity=quantity,
            price=price,
            fee=fee_for(exact_mul(quantity, price), bps, self._fee_quantum),
            liquidity=liquidity,
            strategy_id=order.strategy_id,
            ts_event=ts,
        )
        order.fills.append(fill)
        if self._account is not None:
            self._account.apply_fill(fill)
        if order.leaves:
            order.status = OrderStatus.PARTIALLY_FILLED
        else:
            order.status = OrderStatus.FILLED
            self._orders.close(order)
        self._emit(OrderFilled(fill=fill), order)

    def expired(self, order: WorkingOrder, reason: str, ts: int) -> None:
        """What is left of ``order`` will not execute (an IOC or FOK remainder, no liquidity)."""
        order.status = OrderStatus.EXPIRED
        order.ts_last = ts
        order.reason = reason
        self._orders.close(order)
        self._emit(OrderExpired(client_order_id=order.client_order_id, reason=reason, ts_event=ts), order)

    def canceled(self, order: WorkingOrder, ts: int) -> None:
        """A cancel request reached the working ``order``."""
        order.status = OrderStatus.CANCELED
        order.ts_last = ts
        order.reason = "canceled on request"
        self._orders.close(order)
        self._emit(
            OrderCanceled(client_order_id=order.client_order_id, reason=order.reason, ts_event=ts), order
        )

    def cancel_rejected(self, client_order_id: ClientOrderId, reason: str, ts: int) -> None:
        """A cancel request was refused; no order changes, so nothing is logged."""
        self._emit(CancelRejected(client_order_id=client_order_id, reason=reason, ts_event=ts))

    # -- delivery -------------------------------------------------------------------------

    def _emit(self, report: object, order: WorkingOrder | None = None) -> None:
        """Queue ``report``; a state change (``order`` given) is also staged for the log."""
        self.outbox.append(report)
        if self._log is not None and order is not None:
            self._log.stage(record_of(report, order))

    def flush(self) -> None:
        """Hand collected reports to ``publish`` in order; re-entrant calls add to the same queue.

        What the venue did is in its log before anyone hears of it."""
        if self._flushing:
            return
        self._flushing = True
        try:
            outbox = self.outbox
            log = self._log
            while outbox:
                if log is not None:
                    log.write_staged()
                self._publish(outbox.popleft())
        finally:
            self._flushing = False
