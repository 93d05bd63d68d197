"""The alert service: evaluates the rules at an interval and tells everyone what changed.

Every ``evaluate_interval_s`` it reads the engine (``observe``), runs the rules, updates the
active set, and for each change publishes ``AlertRaised`` / ``AlertResolved`` on the bus (the
gRPC stream listens there), hands it to each notifier (webhooks: they queue it and return at
once, so the engine never waits on a receiver) and logs it (ERROR for a critical alert,
WARNING for a warning, INFO for a resolution). It runs on the engine's event loop, between
two market events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from application.alerts.active import ActiveAlerts, AlertChanges
from application.alerts.policy import ALERT_NAMES, AlertPolicy
from application.alerts.rules import AlertRules, Observation
from application.messages import Alert, AlertRaised, AlertResolved, AlertSeverity

log = logging.getLogger("tradeplane.alerts")

AlertEvent = AlertRaised | AlertResolved


class AlertPublisher(Protocol):
    """Where alert events go for observers in the process (the message bus)."""

    def publish(self, message: object) -> None: ...


class AlertNotifier(Protocol):
    """Delivers alert events outside the process (a webhook). ``notify`` must never wait: it
    queues the event for the notifier's own task, which ``start`` begins and ``stop`` ends."""

    @property
    def name(self) -> str: ...

    @property
    def failures(self) -> int:
        """Deliveries that failed so far (each failed attempt counts)."""
        ...

    def notify(self, event: AlertEvent) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertMetrics:
    """The alert numbers a metrics exporter reads (one label value per key).

    ``active``: 1 while an alert of that name is active, else 0, for every alert name
    (``tradeplane_alert_active{alert}``); ``fired``: alerts of that name raised since start
    (``tradeplane_alerts_fired_total{alert}``); ``webhook_failures``: failed deliveries per
    webhook name (``tradeplane_webhook_failures_total{webhook}``).
    """

    active: Mapping[str, int]
    fired: Mapping[str, int]
    webhook_failures: Mapping[str, int]


def describe(alert: Alert) -> str:
    """``TradingHalted: trading HALTED: ...`` plus its labels: one line for logs and chats."""
    labels = ", ".join(f"{key}={value}" for key, value in alert.labels)
    return f"{alert.name}{f' [{labels}]' if labels else ''}: {alert.summary}"


class AlertService:
    """The rules, the active set and their delivery (see the module docstring).

    ``observe`` reads the engine now; ``events`` receives the alert messages; ``notifiers``
    deliver them outside the process. ``evaluate`` runs once (tests drive it with a manual
    clock); ``start`` runs it at the policy's interval until ``stop``.
    """

    def __init__(
        self,
        *,
        policy: AlertPolicy,
        observe: Callable[[], Observation],
        events: AlertPublisher,
        notifiers: Sequence[AlertNotifier] = (),
    ) -> None:
        self.policy = policy
        self._observe = observe
        self._events = events
        self.notifiers = tuple(notifiers)
        self._rules = AlertRules(policy)
        self._active = ActiveAlerts(policy.repeat_interval_ns)
        self._fired = dict.fromkeys(ALERT_NAMES, 0)
        self._task: asyncio.Task[None] | None = None
        self.evaluations = 0
        self.evaluation_errors = 0

    @property
    def active(self) -> tuple[Alert, ...]:
        """The active alerts, oldest first."""
        return self._active.active

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def metrics(self) -> AlertMetrics:
        active = dict.fromkeys(ALERT_NAMES, 0)
        for alert in self._active.active:
            active[alert.name] = 1
        return AlertMetrics(
            active=active,
            fired=dict(self._fired),
            webhook_failures={notifier.name: notifier.failures for notifier in self.notifiers},
        )

    # -- evaluation -----------------------------------------------------------------------

    def evaluate(self) -> AlertChanges:
        """Read the engine, apply the rules, announce what changed; returns the changes."""
        seen = self._observe()
        changes = self._active.update(self._rules.evaluate(seen), seen.now_ns)
        self.evaluations += 1
        for alert in changes.resolved:
            log.info("alert resolved: %s", describe(alert), extra=_fields(alert))
            self._announce(AlertResolved(alert=alert))
        for alert in changes.raised:
            self._fired[alert.name] = self._fired.get(alert.name, 0) + 1
            self._log(alert, "alert")
            self._announce(AlertRaised(alert=alert))
        for alert in changes.repeated:
            self._log(alert, "alert still active")
            self._announce(AlertRaised(alert=alert, repeat=True))
        return changes

    def _log(self, alert: Alert, what: str) -> None:
        level = logging.ERROR if alert.severity is AlertSeverity.CRITICAL else logging.WARNING
        log.log(level, "%s: %s", what, describe(alert), extra=_fields(alert))

    def _announce(self, event: AlertEvent) -> None:
        self._events.publish(event)
        for notifier in self.notifiers:
            try:
                notifier.notify(event)
            except Exception:  # one broken notifier must not keep the others from hearing
                log.exception("alert notifier %s failed to queue an alert", notifier.name)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the notifiers, evaluate once, then every ``evaluate_interval_s`` until ``stop``.
        Starting a running service does nothing."""
        if self.running:
            return
        for notifier in self.notifiers:
            await notifier.start()
        self._evaluate_safely()
        self._task = asyncio.create_task(self._run(), name="alerts")

    async def stop(self) -> None:
        """Stop evaluating, then stop the notifiers together (each gets a bounded time to deliver
        what it holds). Alerts still active stay in ``active``; nothing is resolved by stopping."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(self._stop(notifier) for notifier in self.notifiers))

    @staticmethod
    async def _stop(notifier: AlertNotifier) -> None:
        try:
            await notifier.stop()
        except Exception:
            log.exception("alert notifier %s did not stop cleanly", notifier.name)

    async def _run(self) -> None:
        interval = self.policy.evaluate_interval_s
        while True:
            await asyncio.sleep(interval)
            self._evaluate_safely()

    def _evaluate_safely(self) -> None:
        try:
            self.evaluate()
        except Exception:  # alerts must never take the engine down; the next run tries again
            self.evaluation_errors += 1
            if self.evaluation_errors == 1 or self.evaluation_errors % 100 == 0:
                log.exception("alert evaluation failed (%d time(s) so far)", self.evaluation_errors)


def _fields(alert: Alert) -> dict[str, object]:
    return {"alert": alert.name, "severity": alert.severity.value, "labels": alert.label_map}
