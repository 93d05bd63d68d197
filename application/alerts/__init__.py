"""Alerts: rules over the engine's status and counters, the active set, and the service that
evaluates them at an interval and announces what changed (bus, notifiers, logs)."""

from application.alerts.active import ActiveAlerts, AlertChanges
from application.alerts.observe import EngineObserver
from application.alerts.policy import ALERT_NAMES, AlertPolicy
from application.alerts.rules import AlertRules, Condition, Observation, StoreCommits
from application.alerts.service import AlertEvent, AlertMetrics, AlertNotifier, AlertService, describe

__all__ = [
    "ALERT_NAMES",
    "ActiveAlerts",
    "AlertChanges",
    "AlertEvent",
    "AlertMetrics",
    "AlertNotifier",
    "AlertPolicy",
    "AlertRules",
    "AlertService",
    "Condition",
    "EngineObserver",
    "Observation",
    "StoreCommits",
    "describe",
]
