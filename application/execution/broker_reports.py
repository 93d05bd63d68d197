"""Broker reports applied: acknowledgements, rejections, cancels, expiries and fills."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from application.execution.order_journal import OrderJournal
from application.execution.risk_monitor import RiskMonitor
from application.messages import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PositionChanged,
)
from application.ports import Clock, EventBus, TradeRepository
from domain.errors import DomainError, IllegalTransition, Overfill
from domain.identifiers import ClientOrderId
from domain.orders import DuplicateFill, Order, OrderStatus
from domain.portfolio import Portfolio
from domain.values import plain

log = logging.getLogger("tradeplane.execution")


@dataclass(slots=True)
class ReportStats:
    broker_rejections: int = 0
    fills: int = 0
    duplicate_reports: int = 0
    unknown_reports: int = 0
    late_fills: int = 0


class BrokerReports:
    """What the broker says about an order, applied to the order, the position and the cash.

    Each report drives the order's state machine and the resulting events are journaled; a
    report the order's state does not allow (a duplicate, a late acknowledgement) is counted
    and ignored. A fill is booked with the position and the balances it moves, committed
    together; then observers get PositionChanged and the risk monitor revalues. The broker is
    the truth of what was filled: a fill that arrives after the order was closed (a cancel
    racing an execution) is booked all the same, and logged as an error.
    """

    __slots__ = ("_bus", "_clock", "_journal", "_late_trade_ids", "_monitor", "_portfolio", "_trades",
                 "stats")  # fmt: skip

    def __init__(
        self,
        *,
        journal: OrderJournal,
        trades: TradeRepository,
        portfolio: Portfolio,
        monitor: RiskMonitor,
        bus: EventBus,
        clock: Clock,
    ) -> None:
        self._journal = journal
        self._trades = trades
        self._portfolio = portfolio
        self._monitor = monitor
        self._bus = bus
        self._clock = clock
        self._late_trade_ids: set[str] = set()
        self.stats = ReportStats()

    def on_accepted(self, report: OrderAccepted) -> None:
        order = self._order(report.client_order_id, "acceptance")
        if order is not None:
            self._apply(order, lambda: order.accept(report.venue_order_id, report.ts_event))

    def on_rejected(self, report: OrderRejected) -> None:
        order = self._order(report.client_order_id, "rejection")
        if order is not None:
            self.stats.broker_rejections += 1
            log.warning(
                "broker rejected %s: %s",
                order.client_order_id,
                report.reason,
                extra={
                    "instrument": str(order.instrument_id),
                    "client_order_id": str(order.client_order_id),
                    "reason": report.reason,
                },
            )
            self._apply(order, lambda: order.reject(report.reason, report.ts_event))

    def on_canceled(self, report: OrderCanceled) -> None:
        order = self._order(report.client_order_id, "cancel")
        if order is not None:
            self._apply(order, lambda: order.cancel(report.ts_event, report.reason))

    def on_expired(self, report: OrderExpired) -> None:
        order = self._order(report.client_order_id, "expiry")
        if order is not None:
            self._apply(order, lambda: order.expire(report.ts_event, report.reason))

    def on_cancel_rejected(self, report: CancelRejected) -> None:
        order = self._order(report.client_order_id, "cancel rejection")
        if order is not None and order.status is OrderStatus.CANCEL_PENDING:
            self._apply(order, lambda: order.cancel_rejected(report.reason, report.ts_event))

    def on_filled(self, report: OrderFilled) -> None:
        """Book the fill (the broker is the truth of what filled, even after a close), move the
        position and the cash, and commit them together; then revalue."""
        fill = report.fill
        order = self._order(fill.client_order_id, "a fill")
        if order is None:
            return
        if fill.strategy_id is None and order.strategy_id is not None:
            # A real venue knows nothing of strategies: the fill is the order's strategy's.
            fill = replace(fill, strategy_id=order.strategy_id)
        try:
            order.fill(fill)
        except DuplicateFill:
            self.stats.duplicate_reports += 1
            log.info("ignored a duplicate fill %s of %s", fill.trade_id, order.client_order_id)
            return
        except (IllegalTransition, Overfill) as error:
            if fill.trade_id in self._late_trade_ids:
                self.stats.duplicate_reports += 1
                return
            # A fill that arrives after the order was closed (a cancel racing an execution)
            # still moves the position and the cash.
            self._late_trade_ids.add(fill.trade_id)
            self.stats.late_fills += 1
            log.error(
                "fill %s arrived for closed order %s and was booked anyway: %s",
                fill.trade_id,
                order.client_order_id,
                error,
            )
        self.stats.fills += 1
        if log.isEnabledFor(logging.INFO):  # its arguments are built eagerly: not per fill for nothing
            log.info(
                "fill %s of %s: %s %s @ %s fee %s %s",
                fill.trade_id,
                order.client_order_id,
                fill.side.name,
                plain(fill.quantity),
                plain(fill.price),
                plain(fill.fee),
                fill.fee_asset or "(quote)",
                extra={
                    "instrument": str(fill.instrument_id),
                    "client_order_id": str(order.client_order_id),
                    "trade_id": str(fill.trade_id),
                    "side": fill.side.name,
                    "quantity": fill.quantity,
                    "price": fill.price,
                    "fee": fill.fee,
                    "fee_asset": fill.fee_asset,
                },
            )
        trades = self._trades
        trades.add_fill(fill)
        self._journal.record(order)
        position = self._portfolio.apply_fill(fill)
        trades.save_position(position)
        trades.save_balances(self._portfolio.account.balances, fill.ts_event)
        self._monitor.save_state()  # the peak and the day's opening equity, with the cash
        self._monitor.commit_trades()  # the fill, its events, the position and the cash: together
        if order.status.is_terminal:
            self._journal.close(order)
        if self._bus.wants(PositionChanged):
            self._bus.publish(
                PositionChanged(
                    instrument_id=fill.instrument_id,
                    quantity=position.quantity,
                    avg_entry_price=position.avg_entry_price,
                    realized_pnl=position.realized_pnl,
                    fees=position.fees,
                    ts_event=fill.ts_event,
                )
            )
        self._monitor.mark_to_market(self._clock.now_ns())

    def _order(self, client_order_id: ClientOrderId, what: str) -> Order | None:
        order = self._journal.find(client_order_id)
        if order is None:
            self.stats.unknown_reports += 1
            log.error("broker reported %s for unknown order %s", what, client_order_id)
        return order

    def _apply(self, order: Order, transition: Callable[[], None]) -> None:
        try:
            transition()
        except DomainError as error:
            self.stats.duplicate_reports += 1
            log.warning("ignored a report for %s: %s", order.client_order_id, error)
            return
        self._journal.record(order)
        if order.status.is_terminal:
            self._journal.close(order)
            self._monitor.commit_trades()
        # An acknowledgement (or a refused cancel) is committed with the next commit: lost in a
        # crash, it leaves the order in flight, which recovery resolves by asking the broker.
