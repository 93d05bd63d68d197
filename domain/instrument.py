"""Instruments and the venue rules every price and quantity must obey."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

from domain.errors import InstrumentRuleViolation, InvalidValue, UnknownInstrument
from domain.identifiers import InstrumentId
from domain.values import ZERO, exact_mul, non_negative, positive

_ASSET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _asset(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or not 1 <= len(value) <= 16 or not set(value) <= _ASSET_CHARS:
        raise InvalidValue(field, value, "must be an upper-case asset code such as BTC or USDT")
    return value


_STEPS = Context(prec=100, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
"""Counts steps exactly: the default 28-digit context rounds ``value / step`` (which can
round a size up across a lot boundary) and refuses ``%`` when there are more than 10**28 steps."""


def _off_step(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is not a whole number of ``step``."""
    return bool(_STEPS.remainder(value, step))


def _steps(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """``value`` rounded to a whole number of ``step`` in the given direction, exactly."""
    whole, rest = _STEPS.divmod(value, step)  # whole truncated toward zero; rest has value's sign
    count = int(whole)
    if rest:
        if rounding == ROUND_FLOOR:
            count -= 1 if rest < ZERO else 0
        elif rounding == ROUND_CEILING:
            count += 1 if rest > ZERO else 0
        else:  # ROUND_HALF_EVEN
            twice = _STEPS.multiply(rest.copy_abs(), 2)
            if twice > step or (twice == step and count % 2):
                count += 1 if rest > ZERO else -1
    return _STEPS.multiply(Decimal(count), step)


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """A tradable spot pair and its rules.

    ``price_tick`` is the smallest price increment, ``lot_size`` the quantity step,
    ``min_quantity`` and ``min_notional`` the venue minimums (0 means none).
    Construction validates everything and raises InvalidValue naming the field.
    """

    id: InstrumentId
    base: str
    quote: str
    price_tick: Decimal
    lot_size: Decimal
    min_quantity: Decimal = ZERO
    min_notional: Decimal = ZERO

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "id", InstrumentId(self.id))
        set_(self, "base", _asset(self.base, "base"))
        set_(self, "quote", _asset(self.quote, "quote"))
        if self.base == self.quote:
            raise InvalidValue("quote", self.quote, "must differ from base")
        set_(self, "price_tick", positive(self.price_tick, "price_tick"))
        set_(self, "lot_size", positive(self.lot_size, "lot_size"))
        set_(self, "min_quantity", non_negative(self.min_quantity, "min_quantity"))
        set_(self, "min_notional", non_negative(self.min_notional, "min_notional"))
        if self.min_quantity and _off_step(self.min_quantity, self.lot_size):
            raise InvalidValue(
                "min_quantity", self.min_quantity, f"must be a multiple of lot_size {self.lot_size}"
            )

    # -- rounding -------------------------------------------------------------------------

    def round_price(self, price: Decimal) -> Decimal:
        """Nearest valid price (ties to even)."""
        return _steps(price, self.price_tick, ROUND_HALF_EVEN)

    def round_price_down(self, price: Decimal) -> Decimal:
        """Largest valid price not above ``price`` (a passive bid)."""
        return _steps(price, self.price_tick, ROUND_FLOOR)

    def round_price_up(self, price: Decimal) -> Decimal:
        """Smallest valid price not below ``price`` (a passive ask)."""
        return _steps(price, self.price_tick, ROUND_CEILING)

    def round_quantity(self, quantity: Decimal) -> Decimal:
        """Largest whole number of lots not above ``quantity``: sizing never rounds up."""
        return _steps(quantity, self.lot_size, ROUND_FLOOR)

    # -- validation -----------------------------------------------------------------------

    def check_price(self, price: object, field: str = "price") -> Decimal:
        """Parse and validate a price (or a stop price: ``field``): finite, positive, on the tick."""
        value = positive(price, field)
        if _off_step(value, self.price_tick):
            raise InstrumentRuleViolation(
                field, price, f"is not a multiple of the {self.id} price tick {self.price_tick}"
            )
        return value

    def check_quantity(self, quantity: object) -> Decimal:
        """Parse and validate a quantity: finite, positive, on the lot, at least the minimum."""
        value = positive(quantity, "quantity")
        if _off_step(value, self.lot_size):
            raise InstrumentRuleViolation(
                "quantity", quantity, f"is not a multiple of the {self.id} lot size {self.lot_size}"
            )
        if value < self.min_quantity:
            raise InstrumentRuleViolation(
                "quantity", quantity, f"is below the {self.id} minimum quantity {self.min_quantity}"
            )
        return value

    def check_notional(self, price: Decimal, quantity: Decimal) -> Decimal:
        """Validate ``price * quantity`` against the minimum notional; returns the notional."""
        notional = exact_mul(price, quantity)
        if notional < self.min_notional:
            raise InstrumentRuleViolation(
                "notional", notional, f"is below the {self.id} minimum notional {self.min_notional}"
            )
        return notional

    def meets_minimums(self, price: Decimal, quantity: Decimal) -> bool:
        """True when a quantity (already on the lot) satisfies both minimums at ``price``."""
        return (
            quantity > ZERO
            and quantity >= self.min_quantity
            and exact_mul(price, quantity) >= self.min_notional
        )


class InstrumentRegistry(Mapping[InstrumentId, Instrument]):
    """The instruments the engine knows; looking up an unknown id raises UnknownInstrument."""

    __slots__ = ("_by_id",)

    def __init__(self, instruments: Iterable[Instrument] = ()) -> None:
        self._by_id: dict[InstrumentId, Instrument] = {}
        for instrument in instruments:
            self.add(instrument)

    def add(self, instrument: Instrument) -> None:
        if instrument.id in self._by_id and self._by_id[instrument.id] != instrument:
            raise InvalidValue("instrument", instrument.id, "is already registered with other rules")
        self._by_id[instrument.id] = instrument

    def __getitem__(self, key: InstrumentId | str) -> Instrument:
        try:
            return self._by_id[key]  # type: ignore[index]
        except KeyError:
            raise UnknownInstrument(str(key)) from None

    def get(self, key: InstrumentId | str, default: Instrument | None = None) -> Instrument | None:  # type: ignore[override]
        """The instrument, or ``default``: one dict lookup (the ABC's version costs an exception)."""
        found = self._by_id.get(key)  # type: ignore[arg-type]  # a str id is looked up as is
        return default if found is None else found

    def __iter__(self) -> Iterator[InstrumentId]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)
