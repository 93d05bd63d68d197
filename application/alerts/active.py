"""The active alerts: one per name and labels, raised once, repeated at an interval, resolved.

Pure logic: time comes in as ``now_ns``. Given the conditions that hold now, ``update`` says
which alerts began, which are due to be sent again, and which ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from application.alerts.rules import Condition
from application.messages import Alert

Key = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class AlertChanges:
    """What one update changed: alerts raised, still active and due again, resolved."""

    raised: tuple[Alert, ...] = ()
    repeated: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.raised or self.repeated or self.resolved)


class ActiveAlerts:
    """The set of active alerts (see the module docstring).

    Conditions with the same name and labels are one alert (the first one's summary wins
    within an update). An active alert keeps its ``fired_at_ns`` and takes the latest summary
    (its numbers move); it is repeated every ``repeat_interval_ns`` after it was last sent.
    """

    def __init__(self, repeat_interval_ns: int) -> None:
        if repeat_interval_ns <= 0:
            raise ValueError(f"repeat_interval_ns must be positive (was {repeat_interval_ns})")
        self._repeat_ns = repeat_interval_ns
        self._active: dict[Key, Alert] = {}
        self._sent_ns: dict[Key, int] = {}

    @property
    def active(self) -> tuple[Alert, ...]:
        """The active alerts, oldest first."""
        return tuple(self._active.values())

    def update(self, conditions: Iterable[Condition], now_ns: int) -> AlertChanges:
        holding: dict[Key, Condition] = {}
        for condition in conditions:
            holding.setdefault((condition.name, condition.labels), condition)
        raised: list[Alert] = []
        repeated: list[Alert] = []
        resolved: list[Alert] = []
        for key in [key for key in self._active if key not in holding]:
            resolved.append(replace(self._active.pop(key), resolved_at_ns=now_ns))
            del self._sent_ns[key]
        for key, condition in holding.items():
            current = self._active.get(key)
            if current is None:
                alert = Alert(
                    name=condition.name,
                    severity=condition.severity,
                    summary=condition.summary,
                    labels=condition.labels,
                    fired_at_ns=now_ns,
                )
                self._active[key] = alert
                self._sent_ns[key] = now_ns
                raised.append(alert)
                continue
            alert = current
            if alert.summary != condition.summary or alert.severity != condition.severity:
                alert = self._active[key] = replace(
                    alert, summary=condition.summary, severity=condition.severity
                )
            if now_ns - self._sent_ns[key] >= self._repeat_ns:
                self._sent_ns[key] = now_ns
                repeated.append(alert)
        return AlertChanges(tuple(raised), tuple(repeated), tuple(resolved))
