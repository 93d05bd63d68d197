"""Settings of the Coinbase Advanced Trade market-data feed, validated at construction."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from adapters.config_checks import table_arguments, url, whole_number
from adapters.exchanges.coinbase.schemas import MAX_MESSAGES_PER_SECOND, SUPPORTED_CHANNELS, VENUE
from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId

MIB = 2**20


def _seconds(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameter(field, value, "must be a finite number of seconds")
    if value <= 0:
        raise InvalidParameter(field, value, "must be greater than 0")
    return float(value)


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameter(field, value, "must be true or false")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class CoinbaseFeedConfig:
    """What the Coinbase feed subscribes to, where, and how it paces and heals itself.

    * ``instrument_ids``: ``PRODUCT.COINBASE`` ids (``BTC-USD.COINBASE``); all share one
      connection.
    * ``channels``: among ``level2`` (the local book), ``market_trades`` and ``ticker`` (best
      bid/ask quotes); ``heartbeats`` is always subscribed too, as the venue closes quiet channels.
    * ``ws_url`` / ``rest_url``: the market-data WebSocket and the REST base (products); point
      both at the simulator for tests and demos.
    * ``messages_per_second``: our (un)subscribe messages per second (the venue allows 8 per IP).
    * ``heartbeat_timeout``: heartbeats come every second; this long without one makes every
      book stale: they are invalidated and the connection replaced.
    * ``stale_after``: seconds without any frame before the connection is replaced.
    * ``reconnect_initial_delay`` / ``reconnect_max_delay``: exponential backoff bounds (s).
    * ``open_timeout``: for the WebSocket handshake, and for a level2 snapshot to follow a
      resubscription before the connection is replaced instead.
    * ``max_frame_bytes``: largest frame accepted (level2 snapshots of liquid products are big).
    * ``trade_side_is_maker``: the venue documents a trade's ``side`` as the maker's, so the
      aggressor is the other side; set false if recorded data shows it is the taker's.
    * ``use_system_proxy``: honour HTTP(S)_PROXY.

    Raises InvalidParameter naming the field.
    """

    instrument_ids: tuple[InstrumentId, ...]
    name: str = "coinbase"
    ws_url: str = "wss://advanced-trade-ws.coinbase.com"
    rest_url: str = "https://api.coinbase.com"
    channels: tuple[str, ...] = SUPPORTED_CHANNELS
    messages_per_second: float = 5.0
    heartbeat_timeout: float = 3.0
    stale_after: float = 30.0
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    open_timeout: float = 10.0
    max_frame_bytes: int = 10 * MIB
    trade_side_is_maker: bool = True
    use_system_proxy: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "instrument_ids", _instruments(self.instrument_ids))
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParameter("name", self.name, "must be a non-empty string")
        set_(self, "ws_url", url(self.ws_url, "ws_url", ("ws", "wss")))
        set_(self, "rest_url", url(self.rest_url, "rest_url", ("http", "https")))
        set_(self, "channels", _channels(self.channels))
        rate = _seconds(self.messages_per_second, "messages_per_second")
        if rate > MAX_MESSAGES_PER_SECOND:
            raise InvalidParameter(
                "messages_per_second", rate, f"must not exceed the venue's {MAX_MESSAGES_PER_SECOND}"
            )
        set_(self, "messages_per_second", rate)
        for field in (
            "heartbeat_timeout",
            "stale_after",
            "reconnect_initial_delay",
            "reconnect_max_delay",
            "open_timeout",
        ):
            set_(self, field, _seconds(getattr(self, field), field))
        if self.reconnect_max_delay < self.reconnect_initial_delay:
            raise InvalidParameter(
                "reconnect_max_delay",
                self.reconnect_max_delay,
                f"must not be below reconnect_initial_delay {self.reconnect_initial_delay}",
            )
        set_(self, "max_frame_bytes", whole_number(self.max_frame_bytes, "max_frame_bytes", 1024, 2**30))
        _flag(self.trade_side_is_maker, "trade_side_is_maker")
        _flag(self.use_system_proxy, "use_system_proxy")

    @property
    def has_book(self) -> bool:
        """True when ``level2`` is subscribed (so the feed keeps local books)."""
        return "level2" in self.channels

    @property
    def product_ids(self) -> tuple[str, ...]:
        """The venue's product ids of ``instrument_ids`` (``BTC-USD``), in order."""
        return tuple(instrument_id.symbol for instrument_id in self.instrument_ids)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> CoinbaseFeedConfig:
        """Build from a parsed TOML table; an unknown key raises InvalidParameter naming it."""
        arguments = table_arguments(cls, values, "coinbase feed", ("instrument_ids", "channels"))
        return cls(**arguments)  # type: ignore[arg-type]


def _instruments(values: object) -> tuple[InstrumentId, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list) or not values:
        raise InvalidParameter(
            "instrument_ids", values, "must be a non-empty list of PRODUCT.COINBASE ids (BTC-USD.COINBASE)"
        )
    result: list[InstrumentId] = []
    for value in values:
        instrument_id = InstrumentId(value)  # raises InvalidValue for a malformed id
        if instrument_id.venue != VENUE:
            raise InvalidParameter("instrument_ids", value, f"must be on venue {VENUE}")
        base, dash, quote = instrument_id.symbol.partition("-")
        if not dash or not base or not quote or "-" in quote:
            raise InvalidParameter("instrument_ids", value, "must name a product as BASE-QUOTE (BTC-USD)")
        if instrument_id in result:
            raise InvalidParameter("instrument_ids", value, "must not repeat an instrument")
        result.append(instrument_id)
    return tuple(result)


def _channels(values: object) -> tuple[str, ...]:
    choices = ", ".join(SUPPORTED_CHANNELS)
    if isinstance(values, str) or not isinstance(values, tuple | list) or not values:
        raise InvalidParameter("channels", values, f"must be a non-empty list among {choices}")
    result = tuple(values)
    for value in result:
        if value not in SUPPORTED_CHANNELS:
            raise InvalidParameter("channels", value, f"must be one of {choices}")
    if len(set(result)) != len(result):
        raise InvalidParameter("channels", values, "must not repeat a channel")
    return result
