"""Settings of the Kraken WebSocket v2 market-data feed, validated at construction."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from adapters.config_checks import table_arguments, url, whole_number
from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId

VENUE = "KRAKEN"
CHANNELS = ("book", "trade", "ticker")
BOOK_DEPTHS = (10, 25, 100, 500, 1000)
MAX_PRECISION = 18
"""No pair is quoted finer than this many decimal places; more is a typing error."""


def pair_of(instrument_id: InstrumentId) -> str:
    """``BTC-USD.KRAKEN`` -> ``BTC/USD`` (the v2 pair); the symbol must be BASE-QUOTE."""
    base, dash, quote = instrument_id.symbol.partition("-")
    if not dash or not base or not quote or "-" in quote:
        raise InvalidParameter(
            "instrument_ids", instrument_id, "must be BASE-QUOTE.KRAKEN, e.g. BTC-USD.KRAKEN"
        )
    return f"{base}/{quote}"


def instrument_of(pair: str) -> InstrumentId:
    """``BTC/USD`` -> ``BTC-USD.KRAKEN``."""
    return InstrumentId.of(pair.replace("/", "-"), VENUE)


def _seconds(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameter(field, value, "must be a finite number of seconds")
    if value <= 0:
        raise InvalidParameter(field, value, "must be greater than 0")
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class KrakenFeedConfig:
    """What the Kraken feed subscribes to, where, and how it paces and heals itself.

    * ``instrument_ids``: ``BASE-QUOTE.KRAKEN`` ids (pair ``BASE/QUOTE`` on the wire).
    * ``channels``: among ``book``, ``trade``, ``ticker``; ``book_depth``: levels per side
      the venue keeps for us (10, 25, 100, 500 or 1000).
    * ``messages_per_second``: our requests per connection (the venue's limit is dynamic
      and unpublished, so this stays low).
    * ``heartbeat_timeout``: seconds without a heartbeat or any data before the connection
      counts as stale and is replaced; ``stale_after``: seconds without any frame at all.
    * ``reconnect_initial_delay`` / ``reconnect_max_delay``: backoff bounds; the venue asks
      for at least 5 s between reconnects.
    * ``ping_interval_s``: period of the application-level ``ping`` request.
    * ``precisions``: fallback ``{"BTC/USD": [price_precision, qty_precision]}`` for pairs
      the ``instrument`` channel does not describe (the book checksum needs them).

    Raises InvalidParameter naming the field.
    """

    instrument_ids: tuple[InstrumentId, ...]
    name: str = "kraken"
    ws_url: str = "wss://ws.kraken.com/v2"
    channels: tuple[str, ...] = CHANNELS
    book_depth: int = 10
    messages_per_second: float = 5.0
    heartbeat_timeout: float = 5.0
    stale_after: float = 30.0
    reconnect_initial_delay: float = 5.0
    reconnect_max_delay: float = 60.0
    open_timeout: float = 10.0
    max_frame_bytes: int = 10 * 2**20
    ping_interval_s: float = 30.0
    precisions: Mapping[str, tuple[int, int]] | None = None
    use_system_proxy: bool = True
    """Honour HTTP(S)_PROXY (false for a simulator on loopback)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "instrument_ids", _instruments(self.instrument_ids))
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParameter("name", self.name, "must be a non-empty string")
        set_(self, "ws_url", url(self.ws_url, "ws_url", ("ws", "wss")))
        set_(self, "channels", _channels(self.channels))
        if isinstance(self.book_depth, bool) or self.book_depth not in BOOK_DEPTHS:
            raise InvalidParameter("book_depth", self.book_depth, f"must be one of {BOOK_DEPTHS}")
        for field in (
            "messages_per_second",
            "heartbeat_timeout",
            "stale_after",
            "reconnect_initial_delay",
            "reconnect_max_delay",
            "open_timeout",
            "ping_interval_s",
        ):
            set_(self, field, _seconds(getattr(self, field), field))
        if self.reconnect_max_delay < self.reconnect_initial_delay:
            raise InvalidParameter(
                "reconnect_max_delay",
                self.reconnect_max_delay,
                f"must not be below reconnect_initial_delay {self.reconnect_initial_delay}",
            )
        set_(self, "max_frame_bytes", whole_number(self.max_frame_bytes, "max_frame_bytes", 1024, 2**30))
        set_(self, "precisions", _precisions(self.precisions))
        if not isinstance(self.use_system_proxy, bool):
            raise InvalidParameter("use_system_proxy", self.use_system_proxy, "must be true or false")

    @property
    def pairs(self) -> dict[str, InstrumentId]:
        """Wire pair -> instrument id, in configuration order."""
        return {pair_of(instrument_id): instrument_id for instrument_id in self.instrument_ids}

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> KrakenFeedConfig:
        """Build from a parsed TOML table; an unknown key raises InvalidParameter naming it."""
        arguments = table_arguments(cls, values, "kraken feed", ("instrument_ids", "channels"))
        return cls(**arguments)  # type: ignore[arg-type]


def _instruments(values: object) -> tuple[InstrumentId, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list) or not values:
        raise InvalidParameter("instrument_ids", values, "must be a non-empty list of BASE-QUOTE.KRAKEN ids")
    result: list[InstrumentId] = []
    for value in values:
        instrument_id = InstrumentId(value)  # raises InvalidValue for a malformed id
        if instrument_id.venue != VENUE:
            raise InvalidParameter("instrument_ids", value, f"must be on venue {VENUE}")
        pair_of(instrument_id)
        if instrument_id in result:
            raise InvalidParameter("instrument_ids", value, "must not repeat an instrument")
        result.append(instrument_id)
    return tuple(result)


def _channels(values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list) or not values:
        raise InvalidParameter("channels", values, f"must be a non-empty list among {', '.join(CHANNELS)}")
    result = tuple(values)
    for value in result:
        if value not in CHANNELS:
            raise InvalidParameter("channels", value, f"must be one of {', '.join(CHANNELS)}")
    if len(set(result)) != len(result):
        raise InvalidParameter("channels", values, "must not repeat a channel")
    return result


def _precision(value: object, field: str) -> int:
    return whole_number(value, field, 0, MAX_PRECISION)


def _precisions(values: object) -> Mapping[str, tuple[int, int]] | None:
    if values is None:
        return None
    if not isinstance(values, Mapping):
        raise InvalidParameter(
            "precisions", values, 'must map pairs to [price, qty], e.g. {"BTC/USD" = [1, 8]}'
        )
    result: dict[str, tuple[int, int]] = {}
    for pair, value in values.items():
        field = f"precisions.{pair}"
        if not isinstance(pair, str) or pair.count("/") != 1 or pair.startswith("/") or pair.endswith("/"):
            raise InvalidParameter("precisions", pair, "keys must be pairs written BASE/QUOTE, e.g. BTC/USD")
        if isinstance(value, str) or not isinstance(value, tuple | list) or len(value) != 2:
            raise InvalidParameter(field, value, "must be [price_precision, qty_precision]")
        result[pair] = (_precision(value[0], f"{field}[0]"), _precision(value[1], f"{field}[1]"))
    return result
