"""What of a webhook URL may be shown: its scheme and host. The path often holds the secret."""

from __future__ import annotations

from urllib.parse import urlsplit


def masked_url(url: str) -> str:
    """The URL with its path, query and credentials hidden: ``https://hooks.slack.com/…``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<unparsable URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme or '?'}://{host}{port}/…"
