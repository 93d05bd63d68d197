"""Reading the engine for the alert rules: one ``Observation`` from its status and counters."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from application.alerts.rules import Observation, StoreCommits
from application.engine import Engine
from application.execution import BrokerReports, RiskMonitor
from application.live_reconciliation import LiveReconciliation
from application.ports import Clock
from application.strategy_engine import StrategyEngine


class EngineObserver:
    """Reads what the rules need, from the engine and the services around it.

    ``stores`` gives each store's commit counters (the composition root knows the stores'
    adapters); ``reconciliation`` is the periodic reconciliation with a networked venue, if any.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        engine: Engine,
        risk: RiskMonitor,
        strategies: StrategyEngine,
        reports: BrokerReports,
        broker: str,
        reconciliation: LiveReconciliation | None = None,
        stores: Callable[[], Mapping[str, StoreCommits]] = dict,
    ) -> None:
        self._clock = clock
        self._engine = engine
        self._risk = risk
        self._strategies = strategies
        self._reports = reports
        self._broker = broker
        self._reconciliation = reconciliation
        self._stores = stores

    def __call__(self) -> Observation:
        status = self._engine.status()
        trading = self._risk.trading
        limits = trading.limits
        reconciliation = self._reconciliation
        return Observation(
            now_ns=self._clock.now_ns(),
            running=status.running,
            trading_state=status.trading_state,
            trading_reason=status.trading_reason,
            feeds=status.feeds,
            instruments=status.instruments,
            failed_strategies=tuple(
                (str(slot.id), slot.error)
                for slot in self._strategies.slots
                if not slot.active and slot.error
            ),
            broker=self._broker,
            broker_rejections=self._reports.stats.broker_rejections,
            reconciliation_runs=reconciliation.runs if reconciliation is not None else 0,
            reconciliation_differences=reconciliation.differences if reconciliation is not None else 0,
            stores=self._stores(),
            daily_pnl=trading.daily_pnl,
            daily_loss_limit=limits.daily_loss_limit,
            drawdown=trading.drawdown_fraction,
            max_drawdown=limits.max_drawdown_fraction,
        )
