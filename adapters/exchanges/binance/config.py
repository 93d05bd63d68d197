"""Settings of the Binance spot market-data feed, validated at construction."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from adapters.config_checks import table_arguments, url, whole_number
from adapters.exchanges.binance.schemas import (
    MAX_INCOMING_MESSAGES_PER_SECOND,
    MAX_STREAMS_PER_CONNECTION,
    SUPPORTED_STREAMS,
    VENUE,
)
from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId

MAX_DEPTH_LIMIT = 5000
ROTATE_BEFORE_24H = 23 * 3600 + 50 * 60
"""Default connection age at which the feed rotates: ten minutes before the venue's 24 h cut."""


def _seconds(value: object, field: str, *, zero_ok: bool = False, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameter(field, value, "must be a finite number of seconds")
    if value < 0 or (value == 0 and not zero_ok):
        raise InvalidParameter(field, value, "must not be negative" if zero_ok else "must be greater than 0")
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class BinanceFeedConfig:
    """What the Binance spot feed subscribes to, where, and how it paces and heals itself.

    * ``instrument_ids``: ``SYMBOL.BINANCE`` ids; ``streams``: kinds per instrument among
      ``trade``, ``bookTicker``, ``depth``, ``depth@100ms`` (a depth stream enables the local book).
    * ``ws_url`` / ``rest_url``: bases of the combined-stream endpoint and of REST
      (``/api/v3/depth``); point both at the simulator for tests and demos.
    * ``depth_limit``: levels per side of the REST snapshot (weight 5..250 by limit).
    * ``reconnect_initial_delay`` / ``reconnect_max_delay``: exponential backoff bounds (s);
      each delay is drawn in [d/2, d] (jitter) and the attempt count resets once a new
      connection delivers data.
    * ``max_connection_age``: a connection is replaced (new one first, overlap, then the old
      one closed) at this age, before the venue's 24 h disconnect.
    * ``stale_after``: seconds without a frame on a connection before the feed reports stale
      and replaces the connection.
    * ``handover_timeout``: longest overlap of the old and the new connection when rotating.
    * ``control_messages_per_second``: our JSON requests per connection (venue limit 5, with
      pings and pongs counted too, hence a default below it).
    * ``max_streams_per_connection`` (venue limit 1024) and ``max_url_length``: streams go in
      the URL while it stays short enough, the rest are SUBSCRIBEd after connecting,
      ``streams_per_subscribe`` per request, paced by ``control_messages_per_second``.
    * ``connection_attempts_per_5min``: our share of the venue's 300 per IP.
    * ``snapshot_min_interval``: per instrument, the least time between two REST snapshot
      requests (one in flight at most); ``rest_weight_per_minute``: REST weight budget of
      this feed (the IP's limit is 6000); ``snapshot_timeout``: per REST call.
    * ``ping_interval`` / ``ping_timeout``: our own keepalive pings (None disables); the
      venue's pings are answered automatically by the WebSocket library.
    * ``use_system_proxy``: honour HTTP(S)_PROXY for both WebSocket and REST.

    Raises InvalidParameter naming the field.
    """

    instrument_ids: tuple[InstrumentId, ...]
    name: str = "binance"
    ws_url: str = "wss://stream.binance.com:9443"
    rest_url: str = "https://api.binance.com"
    streams: tuple[str, ...] = ("trade", "bookTicker", "depth@100ms")
    depth_limit: int = 1000
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    max_connection_age: float = float(ROTATE_BEFORE_24H)
    stale_after: float = 30.0
    handover_timeout: float = 10.0
    open_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    control_messages_per_second: float = 4.0
    max_streams_per_connection: int = MAX_STREAMS_PER_CONNECTION
    max_url_length: int = 4000
    streams_per_subscribe: int = 200
    connection_attempts_per_5min: int = 100
    snapshot_min_interval: float = 1.0
    snapshot_timeout: float = 10.0
    rest_weight_per_minute: int = 3000
    max_buffered_deltas: int = 10_000
    max_frame_bytes: int = 2**20
    use_system_proxy: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "instrument_ids", _instruments(self.instrument_ids))
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParameter("name", self.name, "must be a non-empty string")
        set_(self, "ws_url", url(self.ws_url, "ws_url", ("ws", "wss")))
        set_(self, "rest_url", url(self.rest_url, "rest_url", ("http", "https")))
        set_(self, "streams", _streams(self.streams))
        set_(self, "depth_limit", whole_number(self.depth_limit, "depth_limit", 1, MAX_DEPTH_LIMIT))
        for field in ("reconnect_initial_delay", "reconnect_max_delay", "max_connection_age"):
            set_(self, field, _seconds(getattr(self, field), field))
        for field in ("stale_after", "handover_timeout", "open_timeout", "snapshot_timeout"):
            set_(self, field, _seconds(getattr(self, field), field))
        set_(
            self,
            "snapshot_min_interval",
            _seconds(self.snapshot_min_interval, "snapshot_min_interval", zero_ok=True),
        )
        for field in ("ping_interval", "ping_timeout"):
            set_(self, field, _seconds(getattr(self, field), field, optional=True))
        if self.reconnect_max_delay < self.reconnect_initial_delay:
            raise InvalidParameter(
                "reconnect_max_delay",
                self.reconnect_max_delay,
                f"must not be below reconnect_initial_delay {self.reconnect_initial_delay}",
            )
        rate = _seconds(self.control_messages_per_second, "control_messages_per_second")
        if rate is not None and rate > MAX_INCOMING_MESSAGES_PER_SECOND:
            raise InvalidParameter(
                "control_messages_per_second",
                rate,
                f"must not exceed the venue's {MAX_INCOMING_MESSAGES_PER_SECOND}",
            )
        set_(self, "control_messages_per_second", rate)
        set_(
            self,
            "max_streams_per_connection",
            whole_number(
                self.max_streams_per_connection, "max_streams_per_connection", 1, MAX_STREAMS_PER_CONNECTION
            ),
        )
        if self.max_streams_per_connection < len(self.streams):
            raise InvalidParameter(
                "max_streams_per_connection",
                self.max_streams_per_connection,
                f"must hold the {len(self.streams)} streams of one instrument",
            )
        set_(self, "max_url_length", whole_number(self.max_url_length, "max_url_length", 64, 65_536))
        set_(
            self,
            "streams_per_subscribe",
            whole_number(self.streams_per_subscribe, "streams_per_subscribe", 1, MAX_STREAMS_PER_CONNECTION),
        )
        set_(
            self,
            "connection_attempts_per_5min",
            whole_number(self.connection_attempts_per_5min, "connection_attempts_per_5min", 1, 300),
        )
        set_(
            self,
            "rest_weight_per_minute",
            whole_number(self.rest_weight_per_minute, "rest_weight_per_minute", 250, 6000),
        )
        set_(
            self,
            "max_buffered_deltas",
            whole_number(self.max_buffered_deltas, "max_buffered_deltas", 1, 10_000_000),
        )
        set_(self, "max_frame_bytes", whole_number(self.max_frame_bytes, "max_frame_bytes", 1024, 2**30))
        if not isinstance(self.use_system_proxy, bool):
            raise InvalidParameter("use_system_proxy", self.use_system_proxy, "must be true or false")

    @property
    def has_depth(self) -> bool:
        """True when a diff-depth stream is subscribed (so the feed keeps local books)."""
        return any(kind.startswith("depth") for kind in self.streams)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> BinanceFeedConfig:
        """Build from a parsed TOML table; an unknown key raises InvalidParameter naming it."""
        arguments = table_arguments(cls, values, "binance feed", ("instrument_ids", "streams"))
        return cls(**arguments)  # type: ignore[arg-type]


def _instruments(values: object) -> tuple[InstrumentId, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list) or not values:
        raise InvalidParameter("instrument_ids", values, "must be a non-empty tuple of SYMBOL.BINANCE ids")
    result: list[InstrumentId] = []
    for value in values:
        instrument_id = InstrumentId(value)  # raises InvalidValue for a malformed id
        if instrument_id.venue != VENUE:
            raise InvalidParameter("instrument_ids", value, f"must be on venue {VENUE}")
        if instrument_id in result:
            raise InvalidParameter("instrument_ids", value, "must not repeat an instrument")
        result.append(instrument_id)
    return tuple(result)


def _streams(values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list) or not values:
        raise InvalidParameter(
            "streams", values, f"must be a non-empty list among {', '.join(SUPPORTED_STREAMS)}"
        )
    result = tuple(values)
    for value in result:
        if value not in SUPPORTED_STREAMS:
            raise InvalidParameter("streams", value, f"must be one of {', '.join(SUPPORTED_STREAMS)}")
    if len(set(result)) != len(result) or sum(kind.startswith("depth") for kind in result) > 1:
        raise InvalidParameter("streams", values, "must not repeat a stream or hold two depth streams")
    return result
