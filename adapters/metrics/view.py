"""What the collector and the readiness check read: the running engine's parts, by name.

Built by the composition root from its wired application; the metrics adapters never
import the composition root. Everything in it is read on the event loop at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from adapters.metrics.recorder import MetricsRecorder
from application.bus import MessageBus
from application.engine import Engine
from application.execution import BrokerReports, OrderManager, RiskMonitor
from application.ingestion import IngestionService
from application.ports import BrokerHealth, MarketDataRepository
from application.strategy_engine import StrategyEngine
from domain.portfolio import Portfolio


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiCounts:
    """The control plane's own counts, when one runs beside the engine."""

    stream_subscribers: Callable[[], Mapping[str, int]]
    """Open streams per stream (topic)."""
    stream_drops: Callable[[], Mapping[str, int]]
    """Subscribers dropped for falling behind, per stream (topic)."""
    requests: Callable[[], Mapping[tuple[str, str], int]]
    """Calls finished per (method, status code name)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineView:
    engine: Engine
    bus: MessageBus
    portfolio: Portfolio
    risk: RiskMonitor
    orders: OrderManager
    reports: BrokerReports
    strategies: StrategyEngine
    ingestion: IngestionService
    market_data: MarketDataRepository
    broker_name: str
    broker_health: Callable[[], BrokerHealth] | None
    """A networked broker's connection; None for one simulated in-process (always reachable)."""
    recorder: MetricsRecorder
    version: str
    api: ApiCounts | None = None
