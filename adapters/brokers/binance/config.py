"""Settings of the Binance Spot broker, validated at construction.

The environment picks the venue's documented endpoints; ``rest_url`` / ``ws_api_url`` point
the broker elsewhere (the simulated venue in tests and demos).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from adapters.config_checks import url, whole_number
from domain.errors import InvalidParameter

ENDPOINTS: dict[str, tuple[str, str]] = {
    "live": ("https://api.binance.com", "wss://ws-api.binance.com:443/ws-api/v3"),
    "testnet": ("https://testnet.binance.vision", "wss://ws-api.testnet.binance.vision/ws-api/v3"),
}
"""(REST base, WebSocket API URL) per environment; REST paths (``/api/v3/...``) are appended."""

MAX_RECV_WINDOW_MS = 60_000
VENUE_CONNECTION_LIMIT_S = 24 * 3600
"""The venue closes every WebSocket connection at this age."""


def _seconds(value: object, field: str, *, high: float = 86_400.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameter(field, value, "must be a finite number of seconds")
    if not 0 < value <= high:
        raise InvalidParameter(field, value, f"must be greater than 0 and at most {high:g}")
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class BinanceBrokerConfig:
    """Where the broker trades and how it paces, waits and heals itself.

    * ``environment``: ``testnet`` (virtual funds, the default) or ``live``.
    * ``rest_url``: REST base without ``/api`` (e.g. ``https://api.binance.com``);
      ``ws_api_url``: the WebSocket API URL (``.../ws-api/v3``). Empty: the environment's.
    * ``recv_window_ms``: how long after its timestamp a signed request may still be executed
      (venue default 5000, at most 60000).
    * ``request_timeout_s``: per REST call and WebSocket request; past it the outcome is unknown.
    * ``max_connection_age_s``: the order-update connection is replaced (new one first) at this
      age, before the venue's 24 h cut.
    * ``reconnect_initial_delay`` / ``reconnect_max_delay``: backoff bounds (s) after a loss.
    * ``clock_resync_interval_s``: how often the venue's clock is read again.
    * ``unknown_outcome_retry_s`` / ``unknown_outcome_max_delay_s``: backoff bounds (s) while
      asking the venue about a request whose outcome is unknown.
    * ``no_record_margin_ms``: an order the venue has no record of is concluded lost only once
      its request's timestamp + ``recv_window_ms`` + this margin has passed (venue time).
    * ``disconnect_timeout_s``: how long ``disconnect`` waits for the answers still owed.
    * ``ping_interval_s``: our keepalive pings on the WebSocket (the venue's are answered anyway).
    * ``use_system_proxy``: honour HTTP(S)_PROXY.

    Raises InvalidParameter (a ValueError) naming the field.
    """

    environment: str = "testnet"
    rest_url: str = ""
    ws_api_url: str = ""
    recv_window_ms: int = 5000
    request_timeout_s: float = 10.0
    max_connection_age_s: float = 23.5 * 3600
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 30.0
    clock_resync_interval_s: float = 300.0
    unknown_outcome_retry_s: float = 1.0
    unknown_outcome_max_delay_s: float = 30.0
    no_record_margin_ms: int = 2000
    disconnect_timeout_s: float = 10.0
    ping_interval_s: float = 20.0
    use_system_proxy: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.environment not in ENDPOINTS:
            raise InvalidParameter(
                "environment", self.environment, f"must be one of {', '.join(sorted(ENDPOINTS))}"
            )
        rest_default, ws_default = ENDPOINTS[self.environment]
        rest = url(self.rest_url or rest_default, "rest_url", ("http", "https"))
        if urlsplit(rest).path.rstrip("/").endswith("/api"):
            raise InvalidParameter("rest_url", self.rest_url, "must be the base without /api")
        set_(self, "rest_url", rest)
        set_(self, "ws_api_url", url(self.ws_api_url or ws_default, "ws_api_url", ("ws", "wss")))
        set_(
            self, "recv_window_ms", whole_number(self.recv_window_ms, "recv_window_ms", 1, MAX_RECV_WINDOW_MS)
        )
        set_(
            self,
            "no_record_margin_ms",
            whole_number(self.no_record_margin_ms, "no_record_margin_ms", 0, 600_000),
        )
        for name in (
            "request_timeout_s",
            "reconnect_initial_delay",
            "reconnect_max_delay",
            "clock_resync_interval_s",
            "unknown_outcome_retry_s",
            "unknown_outcome_max_delay_s",
            "disconnect_timeout_s",
            "ping_interval_s",
        ):
            set_(self, name, _seconds(getattr(self, name), name))
        age = _seconds(self.max_connection_age_s, "max_connection_age_s")
        if age >= VENUE_CONNECTION_LIMIT_S:
            raise InvalidParameter(
                "max_connection_age_s", age, "must be below the venue's 24 h connection limit"
            )
        set_(self, "max_connection_age_s", age)
        for low, high in (
            ("reconnect_initial_delay", "reconnect_max_delay"),
            ("unknown_outcome_retry_s", "unknown_outcome_max_delay_s"),
        ):
            if getattr(self, high) < getattr(self, low):
                problem = f"must not be below {low} {getattr(self, low)}"
                raise InvalidParameter(high, getattr(self, high), problem)
        if not isinstance(self.use_system_proxy, bool):
            raise InvalidParameter("use_system_proxy", self.use_system_proxy, "must be true or false")

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> BinanceBrokerConfig:
        """Build from a parsed TOML table; an unknown key raises InvalidParameter naming it."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(str(key) for key in values if key not in known)
        if unknown:
            raise InvalidParameter(
                unknown[0],
                values[unknown[0]],
                f"is not a binance broker setting (known: {', '.join(sorted(known))})",
            )
        for key in ("environment", "rest_url", "ws_api_url"):
            if key in values and not isinstance(values[key], str):
                raise InvalidParameter(key, values[key], "must be a string")
        return cls(**values)  # type: ignore[arg-type]  # each value is validated in __post_init__
