"""``[alerts]``: the rules' thresholds and the webhooks, checked; and the alert service wired.

```toml
[alerts]
evaluate_interval_s = 1.0
feed_down_after_s = 30
book_resync_failures = 3
broker_rejections = 5
loss_warning_fraction = 0.8
repeat_interval_s = 3600
[[alerts.webhooks]]
url = "https://hooks.slack.com/services/..."
format = "slack"          # json | slack | discord
timeout_s = 5
name = "ops-channel"      # optional: the webhook's name in logs and metrics (default: its index)
```
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from adapters.alerts import FORMATS, masked_url
from application.alerts import AlertNotifier, AlertPolicy, AlertService, EngineObserver, StoreCommits
from application.bus import MessageBus
from application.engine import Engine
from application.execution import BrokerReports, RiskMonitor
from application.live_reconciliation import LiveReconciliation
from application.ports import Clock, MarketDataRepository, TradeRepository
from application.strategy_engine import StrategyEngine
from entrypoints.config import ConfigError, known_keys

if TYPE_CHECKING:
    from adapters.alerts.webhooks import WebhookSender

WHERE = "[alerts]"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSettings:
    """One ``[[alerts.webhooks]]`` entry; ``url`` is secret-ish (never shown in full)."""

    url: str
    format: str = "json"
    timeout_s: float = 5.0
    name: str = ""

    def __repr__(self) -> str:  # the URL may carry a token in its path
        return f"WebhookSettings(url={masked_url(self.url)!r}, format={self.format!r}, name={self.name!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertSettings:
    """``[alerts]``, checked (see the module docstring for the keys)."""

    evaluate_interval_s: float = 1.0
    feed_down_after_s: float = 30.0
    book_resync_failures: int = 3
    broker_rejections: int = 5
    loss_warning_fraction: Decimal = Decimal("0.8")
    repeat_interval_s: float = 3600.0
    webhooks: tuple[WebhookSettings, ...] = ()

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> AlertSettings:
        """``[alerts]`` as parsed from TOML; raises ConfigError naming the key that is wrong."""
        if not isinstance(table, Mapping):
            raise ConfigError(f"{WHERE} must be a table")
        known_keys(table, {f.name for f in fields(cls)}, WHERE)
        defaults = cls()
        settings = cls(
            evaluate_interval_s=_seconds(
                table, "evaluate_interval_s", defaults.evaluate_interval_s, positive=True
            ),
            feed_down_after_s=_seconds(
                table, "feed_down_after_s", defaults.feed_down_after_s, positive=False
            ),
            book_resync_failures=_count(table, "book_resync_failures", defaults.book_resync_failures),
            broker_rejections=_count(table, "broker_rejections", defaults.broker_rejections),
            loss_warning_fraction=_fraction(table, "loss_warning_fraction", defaults.loss_warning_fraction),
            repeat_interval_s=_seconds(table, "repeat_interval_s", defaults.repeat_interval_s, positive=True),
            webhooks=_webhooks(table.get("webhooks", [])),
        )
        settings.policy()  # anything AlertPolicy refuses is named here, not at start
        return settings

    def policy(self) -> AlertPolicy:
        try:
            return AlertPolicy(
                evaluate_interval_s=self.evaluate_interval_s,
                feed_down_after_s=self.feed_down_after_s,
                book_resync_failures=self.book_resync_failures,
                broker_rejections=self.broker_rejections,
                loss_warning_fraction=self.loss_warning_fraction,
                repeat_interval_s=self.repeat_interval_s,
            )
        except ValueError as error:
            raise ConfigError(f"{WHERE} {error}") from None


# -- checks -----------------------------------------------------------------------------------


def _seconds(
    table: Mapping[str, Any], key: str, default: float, *, positive: bool, where: str = WHERE
) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where} {key} must be a number of seconds (was {value!r})")
    if value < 0 or (positive and value == 0):
        raise ConfigError(
            f"{where} {key} must be {'positive' if positive else 'zero or more'} (was {value!r})"
        )
    return float(value)


def _count(table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{WHERE} {key} must be a whole number, at least 1 (was {value!r})")
    return value


def _fraction(table: Mapping[str, Any], key: str, default: Decimal) -> Decimal:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ConfigError(f"{WHERE} {key} must be a fraction in (0, 1], e.g. 0.8 (was {value!r})")
    try:
        fraction = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{WHERE} {key} must be a fraction in (0, 1], e.g. 0.8 (was {value!r})") from None
    if not fraction.is_finite() or not Decimal(0) < fraction <= Decimal(1):
        raise ConfigError(f"{WHERE} {key} must be a fraction in (0, 1], e.g. 0.8 (was {value!r})")
    return fraction


def _webhooks(entries: object) -> tuple[WebhookSettings, ...]:
    if not isinstance(entries, list | tuple):
        raise ConfigError(f"{WHERE} webhooks must be a list of tables ([[alerts.webhooks]])")
    webhooks = tuple(_webhook(entry, index) for index, entry in enumerate(entries))
    names = [webhook.name for webhook in webhooks]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"[[alerts.webhooks]] name {name!r} is used twice; each webhook needs its own")
    return webhooks


def _webhook(entry: object, index: int) -> WebhookSettings:
    where = f"[[alerts.webhooks]] #{index + 1}"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a table")
    known_keys(entry, {f.name for f in fields(WebhookSettings)}, where)
    url = entry.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{where} url is required: the http(s) address to POST alerts to")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  # raises ValueError for a port out of range
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"{where} url must be an http:// or https:// URL with a host (was {masked_url(url)})"
        )
    kind = entry.get("format", "json")
    if kind not in FORMATS:
        raise ConfigError(f"{where} format must be one of {', '.join(FORMATS)} (was {kind!r})")
    timeout = _seconds(entry, "timeout_s", 5.0, positive=True, where=where)
    name = entry.get("name", str(index))
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where} name must be a non-empty string (was {name!r})")
    return WebhookSettings(url=url, format=kind, timeout_s=timeout, name=name)


# -- wiring -----------------------------------------------------------------------------------


def build_webhooks(settings: AlertSettings) -> list[WebhookSender]:
    if not settings.webhooks:
        return []
    from adapters.alerts.webhooks import WebhookSender  # an HTTP client: only when webhooks are configured

    return [
        WebhookSender(webhook.url, name=webhook.name, format=webhook.format, timeout_s=webhook.timeout_s)
        for webhook in settings.webhooks
    ]


def store_commits(
    risk: RiskMonitor, trades: TradeRepository, market_data: MarketDataRepository
) -> Callable[[], Mapping[str, StoreCommits]]:
    """Each store's commit counters, read where they are kept: the trades store's failures by
    the risk monitor (which commits it), its successes and the market-data writer's by the
    stores themselves, when they count them."""

    def counts() -> dict[str, StoreCommits]:
        commits = getattr(trades, "commits", None)
        found = {
            "trades": StoreCommits(
                failures=risk.store_failures, commits=commits if isinstance(commits, int) else None
            )
        }
        failed = getattr(market_data, "failed_batches", getattr(market_data, "failed", None))
        written = getattr(market_data, "written", None)
        if isinstance(failed, int):
            found["market_data"] = StoreCommits(
                failures=failed, commits=written if isinstance(written, int) else None
            )
        return found

    return counts


def build_alert_service(
    settings: Mapping[str, Any],
    *,
    bus: MessageBus,
    clock: Clock,
    engine: Engine,
    risk: RiskMonitor,
    strategies: StrategyEngine,
    reports: BrokerReports,
    broker: str,
    reconciliation: LiveReconciliation | None,
    trades: TradeRepository,
    market_data: MarketDataRepository,
    notifiers: list[AlertNotifier] | None = None,
) -> AlertService:
    """The alert service of ``[alerts]`` over the engine's parts; ``notifiers`` replaces the
    configured webhooks. Raises ConfigError for a wrong ``[alerts]``."""
    alerts = AlertSettings.from_mapping(settings)
    observe = EngineObserver(
        clock=clock,
        engine=engine,
        risk=risk,
        strategies=strategies,
        reports=reports,
        broker=broker,
        reconciliation=reconciliation,
        stores=store_commits(risk, trades, market_data),
    )
    senders: list[AlertNotifier] = list(build_webhooks(alerts)) if notifiers is None else notifiers
    return AlertService(policy=alerts.policy(), observe=observe, events=bus, notifiers=senders)


@contextlib.asynccontextmanager
async def alerts_running(alerts: AlertService) -> AsyncIterator[AlertService]:
    """Alerts evaluated and delivered for the duration of the block:
    ``async with alerts_running(app.alerts): await run_engine(...)``."""
    await alerts.start()
    try:
        yield alerts
    finally:
        await alerts.stop()
