"""``[metrics]``: where the Prometheus endpoint listens, if anywhere."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_PORT = 9464
KNOWN_KEYS = ("listen",)


class MetricsSettingsError(ValueError):
    """``[metrics]`` says something that cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """``listen`` is ``host:port`` (port 0 picks a free one); None turns the endpoint off."""

    host: str | None = None
    port: int = DEFAULT_PORT

    @property
    def enabled(self) -> bool:
        return self.host is not None

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> MetricsSettings:
        """Read ``[metrics]`` as written; raises MetricsSettingsError naming an unknown key or a
        ``listen`` that is not ``host:port``. Absent or "" ``listen``: off."""
        unknown = sorted(set(table) - set(KNOWN_KEYS))
        if unknown:
            raise MetricsSettingsError(
                f"[metrics] has unknown key(s) {', '.join(unknown)}; known: {', '.join(KNOWN_KEYS)}"
            )
        listen = table.get("listen", "")
        if not isinstance(listen, str):
            raise MetricsSettingsError(
                f"[metrics] listen must be a string like 127.0.0.1:9464 (was {listen!r})"
            )
        if not listen.strip():
            return cls()
        host, port = parse_listen(listen.strip())
        return cls(host, port)


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) -> (host, port); raises MetricsSettingsError."""
    host, sep, port_text = listen.rpartition(":")
    hint = "expected host:port, e.g. 127.0.0.1:9464 or 0.0.0.0:9464 (port 0 picks a free one)"
    if not sep or not host or not port_text.isdigit():
        raise MetricsSettingsError(f"[metrics] listen {listen!r} is not host:port; {hint}")
    port = int(port_text)
    if port > 65535:
        raise MetricsSettingsError(f"[metrics] listen {listen!r}: port {port} is above 65535; {hint}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        _check_ip(host, listen, hint)
    elif ":" in host:
        raise MetricsSettingsError(f"[metrics] listen {listen!r}: write an IPv6 host in brackets; {hint}")
    elif not _is_hostname(host):
        raise MetricsSettingsError(
            f"[metrics] listen {listen!r}: {host!r} is not a host name or address; {hint}"
        )
    return host, port


def _check_ip(host: str, listen: str, hint: str) -> None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise MetricsSettingsError(
            f"[metrics] listen {listen!r}: {host!r} is not an IP address; {hint}"
        ) from None


def _is_hostname(host: str) -> bool:
    labels = host.split(".")
    return len(host) <= 253 and all(
        0 < len(label) <= 63 and label.replace("-", "").isalnum() and not label.startswith("-")
        for label in labels
    )
