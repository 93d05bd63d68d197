"""The metrics options of run and demo, and what runs beside the engine: the alert service and
the metrics endpoint, both up for the block and both down after it."""

from __future__ import annotations

import argparse
import asyncio
import socket
import urllib.error
import urllib.request

import pytest

from entrypoints.commands.demo import demo_settings
from entrypoints.config import ConfigError
from entrypoints.container import bootstrap
from entrypoints.logs import Console
from entrypoints.operations import add_arguments, operations, with_metrics_options


def _args(*argv: str, default: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser, default_listen=default)
    return parser.parse_args(list(argv))


def test_the_command_line_turns_metrics_on_moves_them_or_turns_them_off() -> None:
    settings = demo_settings("ws://127.0.0.1:1", "http://127.0.0.1:1")
    assert with_metrics_options(settings, _args()).metrics.get("listen") is None
    assert (
        with_metrics_options(settings, _args("--metrics-listen", "127.0.0.1:0")).metrics["listen"]
        == "127.0.0.1:0"
    )
    on_by_default = _args(default="127.0.0.1:0")
    assert with_metrics_options(settings, on_by_default).metrics["listen"] == "127.0.0.1:0"
    off = _args("--no-metrics", default="127.0.0.1:0")
    assert with_metrics_options(settings, off).metrics["listen"] == ""


def test_a_bad_address_or_a_taken_port_is_refused_before_anything_starts() -> None:
    settings = demo_settings("ws://127.0.0.1:1", "http://127.0.0.1:1")
    with pytest.raises(ConfigError, match="metrics"):
        with_metrics_options(settings, _args("--metrics-listen", "not an address"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=r"--metrics-listen 127\.0\.0\.1:0 for any free port"):
            with_metrics_options(settings, _args("--metrics-listen", f"127.0.0.1:{port}"))


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_operations_run_alerts_and_metrics_for_the_block_only() -> None:
    settings = with_metrics_options(
        demo_settings("ws://127.0.0.1:1", "http://127.0.0.1:1"), _args("--metrics-listen", "127.0.0.1:0")
    )
    app = bootstrap(settings)

    async def scenario() -> str:
        async with operations(app, settings, Console("text")) as metrics:
            assert metrics is not None
            running_inside = app.alerts.running
            url = metrics.url
            status, text = await asyncio.to_thread(_get, f"{url}/metrics")
            assert status == 200
            assert "tradeplane_alert_active" in text
            assert "tradeplane_equity" in text
        assert running_inside
        assert not app.alerts.running
        return url

    url = asyncio.run(asyncio.wait_for(scenario(), 20))
    app.close()
    with pytest.raises(urllib.error.URLError, match="refused"):
        _get(f"{url}/healthz")
