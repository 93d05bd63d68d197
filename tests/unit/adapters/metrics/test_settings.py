"""``[metrics]``: off unless ``listen`` is set; a mistake named."""

from __future__ import annotations

import pytest

from adapters.metrics.settings import DEFAULT_PORT, MetricsSettings, MetricsSettingsError


@pytest.mark.parametrize("table", [{}, {"listen": ""}, {"listen": "  "}])
def test_off_by_default(table: dict[str, str]) -> None:
    settings = MetricsSettings.from_mapping(table)
    assert not settings.enabled
    assert settings.port == DEFAULT_PORT


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("localhost:9100", "localhost", 9100),
        ("[::1]:9464", "::1", 9464),
        ("metrics-host.internal:80", "metrics-host.internal", 80),
    ],
)
def test_host_and_port(listen: str, host: str, port: int) -> None:
    settings = MetricsSettings.from_mapping({"listen": listen})
    assert (settings.enabled, settings.host, settings.port) == (True, host, port)


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("9464", "is not host:port"),
        (":9464", "is not host:port"),
        ("127.0.0.1:", "is not host:port"),
        ("127.0.0.1:port", "is not host:port"),
        ("127.0.0.1:70000", "above 65535"),
        ("::1:9464", "IPv6 host in brackets"),
        ("[localhost]:9464", "not an IP address"),
        ("bad host:9464", "not a host name or address"),
        (9464, "must be a string"),
    ],
)
def test_a_bad_listen_is_named(listen: object, message: str) -> None:
    with pytest.raises(MetricsSettingsError, match=message) as raised:
        MetricsSettings.from_mapping({"listen": listen})
    assert "[metrics] listen" in str(raised.value)


def test_unknown_keys_are_named() -> None:
    with pytest.raises(MetricsSettingsError, match=r"unknown key\(s\) path, port; known: listen"):
        MetricsSettings.from_mapping({"listen": "127.0.0.1:9464", "port": 1, "path": "/m"})
