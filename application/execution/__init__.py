"""The execution side: orders (manager, journal, broker reports), stops, and post-trade risk.

``OrderManager`` turns intents into orders and cancels them (the SubmitOrder, CancelOrder and
CancelAllOrders commands); ``BrokerReports`` applies what the broker says about them;
``StopManager`` watches trades for engine-held stop orders and position stops; ``RiskMonitor``
keeps the portfolio marked and the trading state current (Halt, Resume, UpdateRiskLimits).
"""

from application.execution.broker_reports import BrokerReports, ReportStats
from application.execution.held_stops import HeldStops
from application.execution.order_journal import RECENT_CLOSED_ORDERS, OrderJournal
from application.execution.order_manager import OrderManager, OrderStats, UnknownOrder
from application.execution.risk_monitor import RiskMonitor
from application.execution.stop_manager import StopManager

__all__ = [
    "RECENT_CLOSED_ORDERS",
    "BrokerReports",
    "HeldStops",
    "OrderJournal",
    "OrderManager",
    "OrderStats",
    "ReportStats",
    "RiskMonitor",
    "StopManager",
    "UnknownOrder",
]
