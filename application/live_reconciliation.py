"""Reconciliation while the engine runs: every few seconds, ask the venue and agree with it.

A stream of order updates can miss an event without anyone noticing (a report lost between
the venue's systems, a gap the broker could not see). So, besides the check at start, the
engine asks a networked broker at an interval about the orders it thinks are open and about the
venue's open orders, and applies ``application.reconciliation``'s rules to the answers. Orders
with a request still travelling are left alone, as are orders placed after the question was
asked: their venue state is about to change, and a stale answer must never close them.
"""

from __future__ import annotations

import asyncio
import logging

from application.execution import BrokerReports, OrderManager
from application.ports import ConnectedBroker
from application.reconciliation import ReconciliationReport, reconcile

log = logging.getLogger("tradeplane.reconciliation")


class LiveReconciliation:
    """Runs ``reconcile`` against ``broker.venue_view`` every ``interval_s`` seconds."""

    def __init__(
        self, *, orders: OrderManager, reports: BrokerReports, broker: ConnectedBroker, interval_s: float
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"reconciliation interval must be positive, got {interval_s}")
        self._orders = orders
        self._reports = reports
        self._broker = broker
        self._interval = interval_s
        self.runs = 0
        self.failures = 0
        self.differences = 0

    async def run(self) -> None:
        """Until cancelled; a venue that cannot answer now is asked again next time."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the venue could not answer: nothing is concluded
                self.failures += 1
                log.warning("periodic reconciliation skipped: %s", error)

    async def once(self) -> ReconciliationReport:
        broker, orders = self._broker, self._orders
        asked = [coid for coid in orders.open_orders if not orders.is_held(coid) and not broker.busy(coid)]
        view = await broker.venue_view(asked)
        report = reconcile(orders, self._reports, view, only=frozenset(asked), skip=broker.busy, quiet=True)
        self.runs += 1
        self.differences += len(report.actions)
        return report
