"""Webhook delivery to a local receiver: formats, retries, a receiver down or slow, a full queue."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from adapters.alerts import masked_url, render
from adapters.alerts.webhooks import WebhookSender
from application.messages import Alert, AlertRaised, AlertResolved, AlertSeverity
from tests.unit.adapters.alerts.receiver import Receiver, closed_port_url, receiving

TS = 1_700_000_000_123_456_789
ALERT = Alert(
    name="FeedDown",
    severity=AlertSeverity.CRITICAL,
    summary="feed kraken disconnected for 31s: connection reset",
    labels=(("feed", "kraken"),),
    fired_at_ns=TS,
)
LINE = "[FIRING critical] FeedDown [feed=kraken]: feed kraken disconnected for 31s: connection reset"


def run(coroutine: Coroutine[Any, Any, None], timeout_s: float = 15.0) -> None:
    asyncio.run(asyncio.wait_for(coroutine, timeout_s))


def sender(url: str, **options: Any) -> WebhookSender:
    options.setdefault("name", "ops")
    options.setdefault("backoff_s", 0.01)
    return WebhookSender(url, **options)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "slack",
            {"text": LINE},
        ),
        (
            "discord",
            {"content": LINE},
        ),
        (
            "json",
            {
                "status": "firing",
                "name": "FeedDown",
                "severity": "critical",
                "summary": "feed kraken disconnected for 31s: connection reset",
                "labels": {"feed": "kraken"},
                "fired_at": "2023-11-14T22:13:20.123456789Z",
                "fired_at_ns": TS,
                "resolved_at": None,
                "resolved_at_ns": None,
            },
        ),
    ],
)
def test_each_format_reaches_the_receiver(kind: str, expected: dict[str, Any]) -> None:
    async def scenario() -> None:
        async with receiving() as receiver:
            webhook = sender(receiver.url, format=kind)
            await webhook.start()
            webhook.notify(AlertRaised(alert=ALERT))
            await receiver.wait_for(1)
            await webhook.stop()
            assert receiver.bodies == [expected]
            assert (webhook.delivered, webhook.failures) == (1, 0)

    run(scenario())


def test_resolved_and_repeated_alerts_say_so() -> None:
    resolved = AlertResolved(alert=Alert(**{**_fields(ALERT), "resolved_at_ns": TS + 1_000_000_000}))
    assert render(resolved, "json")["status"] == "resolved"
    assert render(resolved, "json")["resolved_at"] == "2023-11-14T22:13:21.123456789Z"
    assert render(AlertRaised(alert=ALERT, repeat=True), "slack")["text"].startswith("[REPEAT critical]")
    assert render(resolved, "discord")["content"].startswith("[RESOLVED critical]")


def test_discord_content_is_cut_to_its_limit() -> None:
    long = Alert(**{**_fields(ALERT), "summary": "x" * 5000})
    content = render(AlertRaised(alert=long), "discord")["content"]
    assert len(content) == 2000
    assert content.endswith("…")


def test_server_errors_are_retried_with_backoff_until_delivered() -> None:
    async def scenario() -> None:
        async with receiving(Receiver(answers=[500, 503])) as receiver:
            webhook = sender(receiver.url, attempts=4)
            await webhook.start()
            webhook.notify(AlertRaised(alert=ALERT))
            await receiver.wait_for(1)
            await webhook.stop()
            assert receiver.requests == 3
            assert (webhook.delivered, webhook.failures, webhook.abandoned) == (1, 2, 0)

    run(scenario())


def test_retries_are_bounded_and_a_refused_body_is_not_retried() -> None:
    async def scenario() -> None:
        async with receiving(Receiver(answers=[500, 500, 500, 400])) as receiver:
            webhook = sender(receiver.url, attempts=3)
            await webhook.start()
            webhook.notify(AlertRaised(alert=ALERT))  # 500 three times: given up
            webhook.notify(AlertResolved(alert=ALERT))  # 400: given up at once
            webhook.notify(AlertRaised(alert=ALERT, repeat=True))  # delivered
            await receiver.wait_for(1)
            await webhook.stop()
            assert receiver.requests == 5
            assert (webhook.delivered, webhook.failures, webhook.abandoned) == (1, 4, 2)
            assert receiver.bodies[0]["status"] == "repeat"

    run(scenario())


def test_a_receiver_that_is_down_costs_the_caller_nothing_and_its_url_is_never_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = closed_port_url()

    async def scenario() -> None:
        webhook = sender(url, attempts=2)
        await webhook.start()
        started = time.perf_counter()
        for _ in range(50):
            webhook.notify(AlertRaised(alert=ALERT))
        assert time.perf_counter() - started < 0.5  # queued, not sent
        while webhook.abandoned < 1:
            await asyncio.sleep(0.01)
        await webhook.stop()
        assert webhook.failures >= 2

    with caplog.at_level(logging.WARNING, logger="tradeplane.alerts.webhooks"):
        run(scenario())
    assert "attempt 1 of 2 failed: ClientConnectorError" in caplog.text
    assert "secret-token" not in caplog.text
    assert masked_url(url) in caplog.text


def test_a_slow_receiver_times_out_and_stop_is_bounded() -> None:
    async def scenario() -> None:
        async with receiving(Receiver(delay_s=5.0)) as receiver:
            webhook = sender(receiver.url, timeout_s=0.2, attempts=2, stop_grace_s=0.5)
            await webhook.start()
            webhook.notify(AlertRaised(alert=ALERT))
            while webhook.failures < 2:
                await asyncio.sleep(0.01)
            assert webhook.abandoned == 1
            webhook.notify(AlertRaised(alert=ALERT))
            started = time.perf_counter()
            await webhook.stop()  # the post in flight is cut off after the grace
            assert time.perf_counter() - started < 2.0

    run(scenario())


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    async def scenario() -> None:
        async with receiving() as receiver:
            webhook = sender(receiver.url, format="json", queue_size=2)
            for summary in ("first", "second", "third"):
                webhook.notify(AlertRaised(alert=Alert(**{**_fields(ALERT), "summary": summary})))
            assert (webhook.dropped, webhook.queued) == (1, 2)
            await webhook.start()
            await receiver.wait_for(2)
            await webhook.stop()
            assert [body["summary"] for body in receiver.bodies] == ["second", "third"]

    run(scenario())


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/…"),
        ("https://user:pass@discord.com:8443/api/webhooks/1/tok?wait=true", "https://discord.com:8443/…"),
        ("http://[::1]:9000/hook", "http://[::1]:9000/…"),
    ],
)
def test_a_masked_url_keeps_only_scheme_host_and_port(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="json, slack, discord"):
        WebhookSender("https://example.com/x", name="x", format="teams")


def _fields(alert: Alert) -> dict[str, Any]:
    return {name: getattr(alert, name) for name in Alert.__dataclass_fields__}
