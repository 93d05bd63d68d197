"""The bodies a webhook receives: generic JSON, or the chat formats Slack and Discord accept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from application.alerts import AlertEvent, describe
from application.messages import AlertResolved

FORMATS = ("json", "slack", "discord")
DISCORD_LIMIT = 2000
"""Characters Discord accepts in ``content``."""


def _iso(ts_ns: int | None) -> str | None:
    if ts_ns is None:
        return None
    moment = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ts_ns % 1_000_000_000:09d}Z"


def status(event: AlertEvent) -> str:
    """``resolved``, ``repeat`` (still active, sent again) or ``firing``."""
    if isinstance(event, AlertResolved):
        return "resolved"
    return "repeat" if event.repeat else "firing"


def line(event: AlertEvent) -> str:
    """One human line: ``[FIRING critical] TradingHalted: trading HALTED: ...``."""
    alert = event.alert
    return f"[{status(event).upper()} {alert.severity.value}] {describe(alert)}"


def render(event: AlertEvent, kind: str) -> dict[str, Any]:
    """The JSON body of ``event`` in format ``kind`` (one of ``FORMATS``); ValueError otherwise."""
    if kind == "slack":
        return {"text": line(event)}
    if kind == "discord":
        text = line(event)
        return {"content": text if len(text) <= DISCORD_LIMIT else text[: DISCORD_LIMIT - 1] + "…"}
    if kind != "json":
        raise ValueError(f"webhook format must be one of {', '.join(FORMATS)} (was {kind!r})")
    alert = event.alert
    return {
        "status": status(event),
        "name": alert.name,
        "severity": alert.severity.value,
        "summary": alert.summary,
        "labels": alert.label_map,
        "fired_at": _iso(alert.fired_at_ns),
        "fired_at_ns": alert.fired_at_ns,
        "resolved_at": _iso(alert.resolved_at_ns),
        "resolved_at_ns": alert.resolved_at_ns,
    }
