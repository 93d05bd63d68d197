"""Risk limits: the validated, immutable numbers that the pre- and post-trade rules read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId
from domain.values import ONE, ZERO, plain, to_decimal

_INTEGER_TEXT = re.compile(r"[0-9]{1,19}")


def _limit_decimal(value: object, name: str) -> Decimal:
    """A positive, finite Decimal (from a Decimal, an int or a decimal string)."""
    try:
        result = to_decimal(value, name)
    except InvalidParameter:
        raise
    except InvalidValue as error:
        raise InvalidParameter(error.field, error.value, error.problem) from None
    if result <= ZERO:
        raise InvalidParameter(name, value, "must be greater than zero (leave it unset for no limit)")
    return result


def _limit_fraction(value: object, name: str) -> Decimal:
    result = _limit_decimal(value, name)
    if result > ONE:
        raise InvalidParameter(name, value, "must be a fraction in (0, 1], e.g. 0.05 for 5%")
    return result


def _limit_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(name, value, f"must be an integer, not {type(value).__name__}")
    if value < 1:
        raise InvalidParameter(name, value, "must be at least 1")
    return value


def _parse_int(value: object, name: str) -> int:
    """An int, or a string of decimal digits (as a config or an RPC may send it)."""
    if isinstance(value, str):
        if not _INTEGER_TEXT.fullmatch(value):
            raise InvalidParameter(name, value, "must be a whole number written with digits only")
        value = int(value)
    return _limit_int(value, name)


_INSTRUMENT_KEYS = ("max_order_quantity", "max_position_quantity")


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentLimits:
    """Per-instrument overrides of the quantity limits; an unset field inherits the global one.

    Raises InvalidParameter naming the field for a non-positive, non-finite or float value.
    """

    max_order_quantity: Decimal | None = None
    max_position_quantity: Decimal | None = None

    def __post_init__(self) -> None:
        for name in _INSTRUMENT_KEYS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _limit_decimal(value, name))


_DECIMALS = (
    "max_order_quantity",
    "max_order_notional",
    "max_position_quantity",
    "max_gross_exposure",
    "daily_loss_limit",
)
_FRACTIONS = ("price_band_fraction", "max_drawdown_fraction")
_INTS = ("max_orders_per_window", "window_ns", "max_open_orders", "max_data_age_ns")


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """Every risk limit in one frozen value; None means "no limit".

    Quantities are in base units; ``max_order_notional``, ``max_gross_exposure`` and
    ``daily_loss_limit`` are in the portfolio's valuation currency. ``daily_loss_limit`` is
    positive: trading turns REDUCE_ONLY once today's P&L is at or below ``-daily_loss_limit``.
    Fractions are in (0, 1] (0.05 = 5 %). ``max_orders_per_window`` and ``window_ns`` go
    together. ``instrument_limits`` overrides the two quantity limits per instrument.

    Construction validates every field and raises InvalidParameter naming it: Decimal
    limits must be positive and finite (a Decimal, an int or a decimal string; never a
    float), counts and durations integers >= 1 (never a bool).
    """

    max_order_quantity: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_position_quantity: Decimal | None = None
    instrument_limits: Mapping[InstrumentId, InstrumentLimits] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    max_gross_exposure: Decimal | None = None
    price_band_fraction: Decimal | None = None
    max_orders_per_window: int | None = None
    window_ns: int | None = None
    max_open_orders: int | None = None
    max_data_age_ns: int | None = None
    daily_loss_limit: Decimal | None = None
    max_drawdown_fraction: Decimal | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in _DECIMALS:
            value = getattr(self, name)
            if value is not None:
                set_(self, name, _limit_decimal(value, name))
        for name in _FRACTIONS:
            value = getattr(self, name)
            if value is not None:
                set_(self, name, _limit_fraction(value, name))
        for name in _INTS:
            value = getattr(self, name)
            if value is not None:
                _limit_int(value, name)
        if (self.max_orders_per_window is None) != (self.window_ns is None):
            missing = "window_ns" if self.window_ns is None else "max_orders_per_window"
            raise InvalidParameter(missing, None, "must be set together with the other order-rate limit")
        if not isinstance(self.instrument_limits, Mapping):
            raise InvalidParameter("instrument_limits", self.instrument_limits, "must be a mapping")
        overrides: dict[InstrumentId, InstrumentLimits] = {}
        for key, value in self.instrument_limits.items():
            instrument_id = _instrument_key(key)
            if not isinstance(value, InstrumentLimits):
                raise InvalidParameter(f"instrument_limits.{key}", value, "must be an InstrumentLimits")
            overrides[instrument_id] = value
        set_(self, "instrument_limits", MappingProxyType(overrides))

    # -- lookups --------------------------------------------------------------------------

    def order_quantity_limit(self, instrument_id: InstrumentId) -> Decimal | None:
        """The max order quantity for ``instrument_id``: its override, else the global one."""
        override = self.instrument_limits.get(instrument_id)
        if override is not None and override.max_order_quantity is not None:
            return override.max_order_quantity
        return self.max_order_quantity

    def position_limit(self, instrument_id: InstrumentId) -> Decimal | None:
        """The max |position| for ``instrument_id``: its override, else the global one."""
        override = self.instrument_limits.get(instrument_id)
        if override is not None and override.max_position_quantity is not None:
            return override.max_position_quantity
        return self.max_position_quantity

    # -- mapping form (TOML config, gRPC UpdateRiskLimits) -----------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> RiskLimits:
        """Parse a mapping of limit name -> value; a missing key or None means no limit.

        Decimal limits take decimal strings or ints; counts and durations take ints or
        digit strings; ``instrument_limits`` maps ``SYMBOL.VENUE`` to a mapping with
        ``max_order_quantity`` and/or ``max_position_quantity``. Raises InvalidParameter
        naming the key for an unknown key, a float, a bool or any out-of-range value.
        """
        if not isinstance(data, Mapping):
            raise InvalidParameter("risk_limits", data, "must be a mapping of limit name to value")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in _KNOWN_KEYS:
                raise InvalidParameter(
                    str(key), value, f"is not a known risk limit (known: {', '.join(_KNOWN_KEYS)})"
                )
            if value is None:
                continue
            if key in _INTS:
                kwargs[key] = _parse_int(value, key)
            elif key == "instrument_limits":
                kwargs[key] = _parse_instrument_limits(value)
            else:
                kwargs[key] = value  # validated (and parsed) by __post_init__
        return cls(**kwargs)

    def to_mapping(self) -> dict[str, object]:
        """The limits as plain data (Decimals as exact strings); unset limits are left out.

        ``RiskLimits.from_mapping(limits.to_mapping()) == limits`` always holds.
        """
        result: dict[str, object] = {}
        for name in _KNOWN_KEYS:
            value = getattr(self, name)
            if value is None:
                continue
            if name == "instrument_limits":
                if value:
                    result[name] = {
                        str(iid): {
                            key: plain(getattr(override, key))
                            for key in _INSTRUMENT_KEYS
                            if getattr(override, key) is not None
                        }
                        for iid, override in value.items()
                    }
            elif isinstance(value, Decimal):
                result[name] = plain(value)
            else:
                result[name] = value
        return result

    def updated(self, changes: Mapping[str, object]) -> RiskLimits:
        """A copy with ``changes`` applied (a None value removes that limit); validated as above."""
        return RiskLimits.from_mapping({**self.to_mapping(), **changes})


_KNOWN_KEYS: tuple[str, ...] = tuple(f.name for f in fields(RiskLimits))


def _instrument_key(key: object) -> InstrumentId:
    try:
        return InstrumentId(key)  # type: ignore[arg-type]  # InstrumentId validates the type itself
    except InvalidValue as error:
        raise InvalidParameter("instrument_limits", key, error.problem) from None


def _parse_instrument_limits(value: object) -> dict[InstrumentId, InstrumentLimits]:
    if not isinstance(value, Mapping):
        raise InvalidParameter("instrument_limits", value, "must map SYMBOL.VENUE to a mapping of limits")
    result: dict[InstrumentId, InstrumentLimits] = {}
    for key, entry in value.items():
        instrument_id = _instrument_key(key)
        where = f"instrument_limits.{key}"
        if not isinstance(entry, Mapping):
            raise InvalidParameter(where, entry, "must be a mapping of limits")
        kwargs: dict[str, Any] = {}
        for name, limit in entry.items():
            if name not in _INSTRUMENT_KEYS:
                raise InvalidParameter(
                    f"{where}.{name}",
                    limit,
                    f"is not a per-instrument limit (known: {', '.join(_INSTRUMENT_KEYS)})",
                )
            if limit is not None:
                kwargs[name] = _limit_decimal(limit, f"{where}.{name}")
        result[instrument_id] = InstrumentLimits(**kwargs)
    return result
