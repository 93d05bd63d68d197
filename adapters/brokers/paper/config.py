"""Paper broker settings: fees, latency, slippage and which market data may fill resting orders."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from types import MappingProxyType

from domain.errors import InvalidParameter
from domain.values import ZERO, to_decimal

MAX_FEE_BPS = Decimal(1000)
"""10 %: far beyond any venue's schedule, so a larger fee is a unit mistake (percent for bps)."""
MAX_REBATE_BPS = Decimal(10)
"""Venues pay makers at most a few bps; a larger rebate would make any churn profitable."""
MAX_SLIPPAGE_BPS = Decimal(1000)
MAX_LATENCY_NS = 60_000_000_000
"""One minute: a larger latency is almost surely milliseconds or seconds given as nanoseconds."""
MAX_FEE_DECIMALS = 18
ACCOUNT_TYPES = ("spot", "margin")
VENUE_FEE_KEYS = ("maker_fee_bps", "taker_fee_bps")
_VENUE = re.compile(r"[A-Z][A-Z0-9_]{0,15}")  # InstrumentId's venue part
MAX_LEVERAGE = Decimal(10)
"""A margin account borrows at most ten times its equity: beyond, a typo more than a strategy."""


def _bps(value: object, field: str, low: Decimal, high: Decimal) -> Decimal:
    result = to_decimal(value, field)  # raises InvalidValue naming the field
    if not low <= result <= high:
        raise InvalidParameter(field, value, f"must be between {low} and {high} bps")
    return result


def _whole(value: object, field: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(field, value, "must be a whole number")
    if not 0 <= value <= high:
        raise InvalidParameter(field, value, f"must be between 0 and {high}")
    return value


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameter(field, value, "must be true or false")
    return value


@dataclass(frozen=True, slots=True)
class VenueFees:
    """The maker and taker rates (bps) charged on one venue's instruments."""

    maker_fee_bps: Decimal
    taker_fee_bps: Decimal


def _maker(value: object, field: str) -> Decimal:
    return _bps(value, field, -MAX_REBATE_BPS, MAX_FEE_BPS)


def _taker(value: object, field: str) -> Decimal:
    return _bps(value, field, Decimal(0), MAX_FEE_BPS)


def _venue_fees(raw: object, default: VenueFees) -> Mapping[str, VenueFees]:
    """``{"COINBASE": {"maker_fee_bps": "40", ...}}`` checked; a rate left out is the default's."""
    if not isinstance(raw, Mapping):
        raise InvalidParameter("venues", raw, "must be a table of VENUE = { maker_fee_bps, taker_fee_bps }")
    checked: dict[str, VenueFees] = {}
    for venue, given in raw.items():
        if not isinstance(venue, str) or not _VENUE.fullmatch(venue):
            raise InvalidParameter(
                "venues", venue, "keys must be venue names as instrument ids write them, e.g. COINBASE"
            )
        rates = (
            {"maker_fee_bps": given.maker_fee_bps, "taker_fee_bps": given.taker_fee_bps}
            if isinstance(given, VenueFees)
            else given
        )
        if not isinstance(rates, Mapping):
            raise InvalidParameter(
                f"venues.{venue}", rates, "must be a table of maker_fee_bps, taker_fee_bps"
            )
        for key in rates:
            if key not in VENUE_FEE_KEYS:
                raise InvalidParameter(
                    f"venues.{venue}.{key}",
                    rates[key],
                    f"is not a per-venue setting (known: {', '.join(VENUE_FEE_KEYS)})",
                )
        maker = rates.get("maker_fee_bps", default.maker_fee_bps)
        taker = rates.get("taker_fee_bps", default.taker_fee_bps)
        checked[venue] = VenueFees(
            _maker(maker, f"venues.{venue}.maker_fee_bps"), _taker(taker, f"venues.{venue}.taker_fee_bps")
        )
    return MappingProxyType(checked)


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperBrokerConfig:
    """How the paper broker charges, delays and fills; validated at construction.

    ``maker_fee_bps`` / ``taker_fee_bps``: fee on a fill's notional, in basis points of the
    quote currency (defaults: Binance spot's base tier, 10 bps each). A negative maker fee is a
    rebate, at most ``MAX_REBATE_BPS``. ``venues``: per-venue rates that replace those two on
    the instruments of that venue (``InstrumentId.venue``), e.g. ``{"COINBASE":
    {"maker_fee_bps": "40", "taker_fee_bps": "60"}}``; a rate a venue leaves out is the
    default one; :meth:`fees_for` answers for any venue. ``latency_ns``: one-way delay before a submit or a
    cancel reaches the simulated venue (event time). ``slippage_bps``: how much worse than the
    displayed price every taker fill is, rounded to the tick against the trader (never
    beyond a limit order's price). ``fee_decimals``: the fee is rounded half-even to this many
    decimal places. ``use_trades_for_fills`` / ``use_book_for_fills``: whether public trades,
    and the book (or quote) moving through the price, fill resting limit orders.
    ``account``: ``"spot"`` (the default) refuses an order the free balance cannot pay for, as
    a spot venue does; ``"margin"`` also lets a sell borrow the base asset, a short's notional
    at most the account's equity × ``max_leverage`` (default 1; see ``account.py``).
    ``last_trade_liquidity``: with neither book nor quote (history of trades or bars only), a
    taker order fills in full at the last trade price (a bar's open when it arrives during the
    bar, else the last close), slippage applied; off live, where a missing book means no fill.

    Raises InvalidValue (malformed number) or InvalidParameter (out of range), naming the field.
    """

    maker_fee_bps: Decimal = Decimal(10)
    taker_fee_bps: Decimal = Decimal(10)
    latency_ns: int = 0
    slippage_bps: Decimal = Decimal(0)
    fee_decimals: int = 12
    use_trades_for_fills: bool = True
    use_book_for_fills: bool = True
    last_trade_liquidity: bool = False
    account: str = "spot"
    max_leverage: Decimal = Decimal(1)
    venues: Mapping[str, VenueFees] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "maker_fee_bps", _maker(self.maker_fee_bps, "maker_fee_bps"))
        set_(self, "taker_fee_bps", _taker(self.taker_fee_bps, "taker_fee_bps"))
        set_(self, "venues", _venue_fees(self.venues, self.default_fees))
        set_(self, "slippage_bps", _bps(self.slippage_bps, "slippage_bps", Decimal(0), MAX_SLIPPAGE_BPS))
        set_(self, "latency_ns", _whole(self.latency_ns, "latency_ns", MAX_LATENCY_NS))
        set_(self, "fee_decimals", _whole(self.fee_decimals, "fee_decimals", MAX_FEE_DECIMALS))
        set_(self, "use_trades_for_fills", _flag(self.use_trades_for_fills, "use_trades_for_fills"))
        set_(self, "use_book_for_fills", _flag(self.use_book_for_fills, "use_book_for_fills"))
        set_(self, "last_trade_liquidity", _flag(self.last_trade_liquidity, "last_trade_liquidity"))
        if self.account not in ACCOUNT_TYPES:
            raise InvalidParameter("account", self.account, f"must be one of {', '.join(ACCOUNT_TYPES)}")
        leverage = to_decimal(self.max_leverage, "max_leverage")
        if not ZERO < leverage <= MAX_LEVERAGE:
            raise InvalidParameter(
                "max_leverage", self.max_leverage, f"must be above 0 and at most {MAX_LEVERAGE}"
            )
        set_(self, "max_leverage", leverage)

    def fees_for(self, venue: str) -> VenueFees:
        """The rates charged on ``venue``'s instruments: its own, else the default ones."""
        fees = self.venues.get(venue)
        return self.default_fees if fees is None else fees

    @property
    def default_fees(self) -> VenueFees:
        """``maker_fee_bps`` and ``taker_fee_bps`` together: the rates of a venue without its own."""
        return VenueFees(self.maker_fee_bps, self.taker_fee_bps)

    @property
    def margin(self) -> bool:
        """Whether the account may borrow the base asset to sell it short."""
        return self.account == "margin"

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> PaperBrokerConfig:
        """Build from a parsed TOML table; an unknown key raises InvalidParameter naming it."""
        known = {field.name for field in fields(cls)}
        for key in values:
            if key not in known:
                raise InvalidParameter(
                    key, values[key], f"is not a paper broker setting (known: {', '.join(sorted(known))})"
                )
        return cls(**values)  # type: ignore[arg-type]  # each value is validated in __post_init__
