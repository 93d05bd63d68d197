"""``[alerts]`` checked with clear messages, and the alert service the composition root builds."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from adapters.alerts.webhooks import WebhookSender
from application.alerts import AlertPolicy
from entrypoints.alerts import AlertSettings, WebhookSettings, alerts_running
from entrypoints.config import ConfigError, parse_settings
from entrypoints.container import bootstrap
from tests.integration.grpc.support import settings_dict
from tests.unit.application.harness import build

HOOK = "https://hooks.slack.com/services/T000/B000/very-secret"


def test_the_contract_table_is_read_exactly() -> None:
    settings = AlertSettings.from_mapping(
        {
            "evaluate_interval_s": 1.0,
            "feed_down_after_s": 30,
            "book_resync_failures": 3,
            "broker_rejections": 5,
            "loss_warning_fraction": 0.8,
            "repeat_interval_s": 3600,
            "webhooks": [{"url": HOOK, "format": "slack", "timeout_s": 5}],
        }
    )
    assert settings.policy() == AlertPolicy(loss_warning_fraction=Decimal("0.8"))
    assert settings.webhooks == (WebhookSettings(url=HOOK, format="slack", timeout_s=5.0, name="0"),)
    assert "very-secret" not in repr(settings)


def test_an_absent_table_gives_the_defaults() -> None:
    assert AlertSettings.from_mapping({}) == AlertSettings()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"evaluate_intervall_s": 1},
            r"\[alerts\]: unknown key\(s\) evaluate_intervall_s; known: book_resync",
        ),
        ({"evaluate_interval_s": 0}, r"\[alerts\] evaluate_interval_s must be positive \(was 0\)"),
        ({"feed_down_after_s": "30"}, r"feed_down_after_s must be a number of seconds \(was '30'\)"),
        ({"feed_down_after_s": True}, r"feed_down_after_s must be a number of seconds"),
        ({"book_resync_failures": 0}, r"book_resync_failures must be a whole number, at least 1 \(was 0\)"),
        ({"broker_rejections": 2.5}, r"broker_rejections must be a whole number"),
        ({"loss_warning_fraction": 1.2}, r"loss_warning_fraction must be a fraction in \(0, 1\]"),
        ({"loss_warning_fraction": "nan"}, r"loss_warning_fraction must be a fraction"),
        ({"repeat_interval_s": -1}, r"repeat_interval_s must be positive"),
        ({"webhooks": {"url": HOOK}}, r"webhooks must be a list of tables"),
        ({"webhooks": [{"format": "json"}]}, r"\[\[alerts.webhooks\]\] #1 url is required"),
        (
            {"webhooks": [{"url": HOOK, "fromat": "json"}]},
            r"#1: unknown key\(s\) fromat; known: format, name",
        ),
        ({"webhooks": [{"url": HOOK, "format": "teams"}]}, r"format must be one of json, slack, discord"),
        ({"webhooks": [{"url": HOOK, "timeout_s": 0}]}, r"#1 timeout_s must be positive"),
        ({"webhooks": [{"url": "ftp://hooks.example.com/x/secret"}]}, r"must be an http:// or https:// URL"),
        ({"webhooks": [{"url": HOOK, "name": "a"}, {"url": HOOK, "name": "a"}]}, r"name 'a' is used twice"),
    ],
)
def test_a_mistake_is_named(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        AlertSettings.from_mapping(table)
    assert "secret" not in str(refused.value)


def test_bootstrap_builds_the_service_with_the_configured_webhooks() -> None:
    h = build()
    assert h.app.alerts.notifiers == ()
    assert h.app.alerts.metrics().active == dict.fromkeys(h.app.alerts.metrics().active, 0)


def test_a_wrong_alerts_table_stops_bootstrap_with_its_message() -> None:
    raw = settings_dict()
    raw["alerts"] = {"broker_rejections": 0}
    with pytest.raises(ConfigError, match="broker_rejections"):
        bootstrap(parse_settings(raw))


def test_alerts_running_starts_and_stops_the_service() -> None:
    h = build()

    async def scenario() -> None:
        async with alerts_running(h.app.alerts) as alerts:
            assert alerts.running
            assert alerts.evaluations == 1  # evaluated at start
        assert not alerts.running

    asyncio.run(asyncio.wait_for(scenario(), 5))


def test_webhooks_from_settings_are_the_service_notifiers() -> None:
    raw = settings_dict()
    raw["alerts"] = {"webhooks": [{"url": HOOK, "name": "ops"}]}
    app = bootstrap(parse_settings(raw))
    try:
        (sender,) = app.alerts.notifiers
        assert isinstance(sender, WebhookSender)
        assert (sender.name, sender.shown) == ("ops", "https://hooks.slack.com/…")
        assert app.alerts.metrics().webhook_failures == {"ops": 0}
    finally:
        app.close()
