"""Restart from the trades store: balances, positions, working orders, the id sequence.

Rules, applied in this order and each logged:
- **Balances**: the stored balances are the account. A store with none has seen no fill:
  the configured opening balances are written to it (and committed) as the starting point.
- **Positions** are recomputed from the stored fills (the fold of the fills is the truth of
  what was executed), each fee booked by the asset it was paid in. The stored projection must
  equal it; every instrument where it does not is reported as a mismatch (with both values)
  and the fold is used. The fees paid in other assets are totalled again from the same fills.
- **Working orders** (not FILLED/CANCELED/REJECTED/EXPIRED) are rebuilt from their journal
  and adopted by the OMS, held stops included; an order whose submission outcome is unknown
  (SUBMITTED, never acknowledged) stays in flight: it is never assumed rejected.
- **Ids**: generated client order ids continue after the highest stored one.
- **Trading state**: ACTIVE / REDUCE_ONLY / HALTED with its reason, the day's opening
  equity and the equity peak continue (a kill switch survives a restart).
- **Risk limits** are those configured now: the configuration is the operator's standing
  instruction, and a change made over gRPC lasts until the restart. When the limits stored
  with the last trading state differ, each difference is logged as a warning (with both
  values), so a restart never silently loosens or tightens what an operator set.

Then ``application.reconciliation`` asks the broker about every working order (fills made
while the engine was down, orders it closed, orders it never received) and applies its answers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from application.execution import OrderManager, RiskMonitor
from application.ports import TradeRepository
from domain.identifiers import InstrumentId
from domain.orders import Fill
from domain.portfolio import Portfolio
from domain.positions import Position
from domain.risk import RiskLimits
from domain.values import plain

log = logging.getLogger("tradeplane.recovery")


@dataclass(slots=True)
class RecoveryReport:
    """What a restart found in the store."""

    fresh_store: bool = False
    open_orders: int = 0
    in_flight: int = 0
    positions: dict[InstrumentId, Position] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    next_sequence: int = 0
    trading_state: str = "ACTIVE"
    limit_changes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        opening = "opening balances written; " if self.fresh_store else ""
        held = ", ".join(
            f"{iid} {plain(p.quantity)}" for iid, p in sorted(self.positions.items()) if p.quantity
        )
        return (
            f"recovery: {opening}{self.open_orders} working order(s)"
            f" ({self.in_flight} awaiting the broker's answer), positions: {held or 'flat'},"
            f" {len(self.mismatches)} mismatch(es), trading {self.trading_state}"
        )


def recover(
    *,
    trades: TradeRepository,
    portfolio: Portfolio,
    orders: OrderManager,
    risk: RiskMonitor,
    order_id_prefix: str,
) -> RecoveryReport:
    """Load the state of the last run into ``portfolio``, ``orders`` and ``risk``; see the module rules."""
    report = RecoveryReport()
    balances = trades.stored_balances()
    if balances:
        portfolio.account.balances.clear()
        portfolio.account.balances.update(balances)
    else:  # nothing has filled yet: the configured balances are the opening ones
        report.fresh_store = True
        trades.save_balances(portfolio.account.balances, 0)
        trades.commit()

    by_instrument: dict[InstrumentId, list[Fill]] = defaultdict(list)
    fills = trades.list_fills()
    for fill in fills:
        by_instrument[fill.instrument_id].append(fill)
    portfolio.recount_fees_by_asset(fills)
    stored = trades.stored_positions()
    for instrument_id in sorted(set(by_instrument) | set(stored)):
        # The fold books each fee by its asset, so it needs the instrument's base and quote.
        instrument = portfolio.instruments.get(instrument_id)
        folded = Position.from_fills(
            instrument_id,
            by_instrument.get(instrument_id, ()),
            base=instrument.base if instrument is not None else "",
            quote=instrument.quote if instrument is not None else "",
        )
        projection = stored.get(instrument_id)
        if projection is not None and projection != folded.state():
            message = (
                f"position {instrument_id}: stored {projection} differs from the fold of its"
                f" {len(by_instrument.get(instrument_id, ()))} fills {folded.state()}; the fills win"
            )
            report.mismatches.append(message)
            log.error(message)
        portfolio.positions[instrument_id] = folded
        report.positions[instrument_id] = folded

    stored_limits = trades.stored_risk_limits()
    if stored_limits is not None:
        report.limit_changes = _limit_changes(stored_limits, risk.limits)
        for change in report.limit_changes:
            log.warning("risk limit %s; the configured value applies", change)
    trading = trades.stored_trading_state()
    if trading is not None:
        risk.restore(trading)
        if trading.peak_equity is not None:  # one peak: the portfolio's drawdown is the risk state's
            portfolio.peak_equity = trading.peak_equity
        report.trading_state = trading.state.value
    for order in trades.open_orders():
        orders.adopt(order)
        report.open_orders += 1
        if order.venue_order_id is None and order.status.is_open:
            report.in_flight += 1
    report.next_sequence = trades.max_sequence(order_id_prefix)
    orders.continue_sequence(report.next_sequence)
    log.info(report.summary())
    return report


def _limit_changes(stored: RiskLimits, configured: RiskLimits) -> list[str]:
    """One sentence per limit whose stored value differs from the configured one."""
    before, now = stored.to_mapping(), configured.to_mapping()
    return [
        f"{name} was {before.get(name, 'unset')} before the restart, is {now.get(name, 'unset')} now"
        for name in sorted(set(before) | set(now))
        if before.get(name) != now.get(name)
    ]
