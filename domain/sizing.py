"""Position sizing: how much to trade for a signal, rounded down to what the venue accepts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Protocol

from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId, StrategyId
from domain.instrument import Instrument
from domain.intents import OrderIntent
from domain.orders import OrderType
from domain.values import (
    MAX_MAGNITUDE,
    ONE,
    ZERO,
    OrderSide,
    exact_sub,
    non_negative,
    plain,
    positive,
    to_decimal,
)

_DOWN = Context(prec=40, rounding=ROUND_FLOOR, traps=[InvalidOperation, DivisionByZero, Overflow])
"""Sizing arithmetic rounds toward zero (all operands are positive), so a size never grows."""
_WHOLE = Context(prec=100, rounding=ROUND_FLOOR, traps=[InvalidOperation, DivisionByZero, Overflow])
"""Wide enough that a notional (price × quantity below MAX_MAGNITUDE) is exact."""


def _plain(value: Decimal) -> str:
    if value and not -20 <= value.adjusted() < 24:  # a degenerate input: do not print 200 zeros
        return f"{value:E}"
    return plain(value)


@dataclass(frozen=True, slots=True)
class SizingResult:
    """A quantity on the instrument's lot (zero means "do not trade") and why."""

    quantity: Decimal
    reason: str


class Sizer(Protocol):
    """Turns a price, equity and signal strength into a quantity of the instrument's base asset."""

    def size(
        self,
        *,
        instrument: Instrument,
        price: Decimal,
        equity: Decimal,
        strength: float = 1.0,
        atr: float | None = None,
    ) -> SizingResult: ...


def _parameter(value: object, name: str, *, at_most_one: bool) -> Decimal:
    try:
        result = positive(value, name)
    except InvalidParameter:
        raise
    except InvalidValue as error:
        raise InvalidParameter(error.field, error.value, error.problem) from None
    if at_most_one and result > ONE:
        raise InvalidParameter(name, value, "must be a fraction in (0, 1], e.g. 0.02 for 2%")
    return result


def _float_to_decimal(value: float) -> Decimal:
    # repr() is the shortest decimal that reads back as the same float: 0.1 -> "0.1", where
    # Decimal(0.1) would carry the binary noise 0.1000000000000000055511151231257827...
    # into exact arithmetic and the reason text. The float is an estimate anyway.
    return Decimal(repr(float(value)))


_FULL_STRENGTH = Decimal("1.0")  # what _float_to_decimal(1.0) gives, so results read the same


def _strength(value: object) -> Decimal:
    if value == 1.0 and type(value) is float:  # the usual full-conviction signal
        return _FULL_STRENGTH
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValue("strength", value, "must be a number in [0, 1]")
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidValue("strength", value, "must be within [0, 1]")
    return _float_to_decimal(float(value))


def _inputs(price: object, equity: object, strength: object) -> tuple[Decimal, Decimal, Decimal]:
    return positive(price, "price"), to_decimal(equity, "equity"), _strength(strength)


def _zero(reason: str) -> SizingResult:
    return SizingResult(ZERO, reason)


def _nothing_to_spend(equity: Decimal, conviction: Decimal) -> SizingResult | None:
    """A zero size with its reason when equity is not positive or the strength is 0."""
    if equity <= ZERO:
        return _zero(f"equity {_plain(equity)} is not positive")
    if not conviction:
        return _zero("signal strength is 0")
    return None


def _budget(equity: Decimal, fraction: Decimal, conviction: Decimal, name: str) -> tuple[Decimal, str]:
    """``equity × fraction × strength``, rounded down, and how it was computed."""
    budget = _DOWN.multiply(_DOWN.multiply(equity, fraction), conviction)
    return budget, f"equity {_plain(equity)} × {name} {_plain(fraction)} × strength {_plain(conviction)}"


def _on_lot(raw: Decimal, instrument: Instrument, price: Decimal, how: str) -> SizingResult:
    """Round ``raw`` down to the lot; zero (with the reason) below one lot or a venue minimum."""
    lot = instrument.lot_size
    if raw >= MAX_MAGNITUDE:
        return _zero(f"{how} = {_plain(raw)}: beyond any tradable quantity (is the ATR or price degenerate?)")
    quantity = instrument.round_quantity(raw)  # exact floor to whole lots: never rounds up
    if quantity <= ZERO:
        return _zero(f"{how} = {_plain(raw)}, less than one lot {_plain(lot)} of {instrument.id}")
    if quantity < instrument.min_quantity:
        return _zero(
            f"{how} = {_plain(raw)}, rounded down to {_plain(quantity)}: below the minimum quantity"
            f" {_plain(instrument.min_quantity)} of {instrument.id}"
        )
    notional = _WHOLE.multiply(price, quantity)
    if notional < instrument.min_notional:
        return _zero(
            f"{how} = {_plain(raw)}, rounded down to {_plain(quantity)}: notional {_plain(notional)} is"
            f" below the minimum notional {_plain(instrument.min_notional)} of {instrument.id}"
        )
    return SizingResult(quantity, f"{how} = {_plain(raw)}, rounded down to the lot {_plain(lot)}")


@dataclass(frozen=True, slots=True)
class FixedQuantity:
    """Always the same quantity (rounded down to the lot); a strength of 0 sizes to zero.

    Raises InvalidParameter for a non-positive, non-finite or float quantity.
    """

    quantity: Decimal
    _on_lot_cache: dict[InstrumentId, tuple[Instrument, SizingResult]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Per instrument, the quantity on its lot: it does not depend on the price, and sizing
    runs on the signal-to-order path, so the rounding and its sentence are computed once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantity", _parameter(self.quantity, "quantity", at_most_one=False))

    def size(
        self,
        *,
        instrument: Instrument,
        price: Decimal,
        equity: Decimal,
        strength: float = 1.0,
        atr: float | None = None,
    ) -> SizingResult:
        """The fixed quantity; raises InvalidValue for a bad price, equity or strength."""
        price, _, conviction = _inputs(price, equity, strength)
        if not conviction:
            return _zero("signal strength is 0")
        cached = self._on_lot_cache.get(instrument.id)
        if cached is None or cached[0] is not instrument:
            # A huge price cannot fail the lot or minimum-quantity rules, only the notional.
            cached = (instrument, _on_lot(self.quantity, instrument, MAX_MAGNITUDE, self._how()))
            self._on_lot_cache[instrument.id] = cached
        result = cached[1]
        if not result.quantity or _WHOLE.multiply(price, result.quantity) >= instrument.min_notional:
            return result
        return _on_lot(self.quantity, instrument, price, self._how())

    def _how(self) -> str:
        return f"fixed quantity {_plain(self.quantity)}"


@dataclass(frozen=True, slots=True)
class FixedFraction:
    """Spend a fraction of equity: quantity = equity × fraction × strength / price.

    Equity must be in the instrument's quote currency. Raises InvalidParameter for a
    fraction outside (0, 1].
    """

    fraction: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "fraction", _parameter(self.fraction, "fraction", at_most_one=True))

    def size(
        self,
        *,
        instrument: Instrument,
        price: Decimal,
        equity: Decimal,
        strength: float = 1.0,
        atr: float | None = None,
    ) -> SizingResult:
        """The quantity worth ``fraction`` of equity; raises InvalidValue for bad inputs."""
        price, equity, conviction = _inputs(price, equity, strength)
        refused = _nothing_to_spend(equity, conviction)
        if refused is not None:
            return refused
        budget, how = _budget(equity, self.fraction, conviction, "fraction")
        return _on_lot(_DOWN.divide(budget, price), instrument, price, f"{how} / price {_plain(price)}")


@dataclass(frozen=True, slots=True)
class VolatilityTarget:
    """Risk a fixed fraction of equity per ATR move: quantity = equity × risk_fraction × strength
    / (atr × atr_multiple).

    A stop ``atr_multiple`` ATRs away then loses about ``risk_fraction`` of equity. Equity
    and ATR must be in the instrument's quote currency. No ATR (None, NaN while the
    indicator warms up, or 0) sizes to zero with the reason. Raises InvalidParameter for a
    risk fraction outside (0, 1] or a non-positive ATR multiple.
    """

    risk_fraction: Decimal
    atr_multiple: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "risk_fraction", _parameter(self.risk_fraction, "risk_fraction", at_most_one=True)
        )
        object.__setattr__(
            self, "atr_multiple", _parameter(self.atr_multiple, "atr_multiple", at_most_one=False)
        )

    def size(
        self,
        *,
        instrument: Instrument,
        price: Decimal,
        equity: Decimal,
        strength: float = 1.0,
        atr: float | None = None,
    ) -> SizingResult:
        """The quantity whose ``atr_multiple`` ATR move costs ``risk_fraction`` of equity.

        Raises InvalidValue for a bad price, equity or strength, and for a negative,
        infinite or non-numeric ATR (a bug upstream, unlike NaN which means "not yet").
        """
        price, equity, conviction = _inputs(price, equity, strength)
        value: object = atr  # checked at run time: callers outside mypy pass anything
        if value is None:
            return _zero("no ATR yet")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidValue("atr", value, "must be a float")
        atr = float(value)
        if math.isnan(atr):
            return _zero("ATR is NaN (the indicator is still warming up)")
        if math.isinf(atr) or atr < 0:
            raise InvalidValue("atr", atr, "must be finite and not negative")
        if atr == 0:
            return _zero("ATR is 0: no volatility measured, the size would be unbounded")
        refused = _nothing_to_spend(equity, conviction)
        if refused is not None:
            return refused
        range_ = _float_to_decimal(float(atr))
        budget, how = _budget(equity, self.risk_fraction, conviction, "risk")
        raw = _DOWN.divide(budget, _DOWN.multiply(range_, self.atr_multiple))
        how = f"{how} / (ATR {_plain(range_)} × {_plain(self.atr_multiple)})"
        return _on_lot(raw, instrument, price, how)


def target_position(side: OrderSide, size: Decimal, allow_short: bool) -> Decimal:
    """The signed position a sized side asks for: BUY -> +size; SELL -> -size, or 0 when
    shorting is not allowed (the sell then only closes a long).

    Raises InvalidValue for a negative or non-Decimal size or a side that is not an OrderSide.
    """
    if not isinstance(side, OrderSide):
        raise InvalidValue("side", side, "must be BUY or SELL")
    amount = non_negative(size, "size")
    if side is OrderSide.BUY:
        return amount
    return amount.copy_negate() if allow_short else ZERO


def intent_for_target(
    target: Decimal,
    current: Decimal,
    instrument: Instrument,
    *,
    price: Decimal,
    strategy_id: StrategyId,
    ts_event: int,
    reason: str,
    limit_price: Decimal | None = None,
) -> OrderIntent | None:
    """The order that moves the position from ``current`` toward ``target``, or None.

    The delta is rounded down to the lot (so the position never overshoots the target);
    None when that leaves nothing, or less than the instrument's minimum quantity or
    minimum notional at ``price`` (the reference price). A MARKET intent, or a LIMIT at
    ``limit_price`` (which must be on the tick). The intent is ``reduce_only`` when it only
    brings the position closer to zero. Raises InvalidValue for malformed numbers and
    InstrumentRuleViolation for a limit price off the tick.
    """
    goal = to_decimal(target, "target")
    held = to_decimal(current, "current")
    reference = positive(price, "price")
    limit = instrument.check_price(limit_price) if limit_price is not None else None
    delta = exact_sub(goal, held)
    quantity = instrument.round_quantity(delta.copy_abs())
    if not instrument.meets_minimums(reference, quantity):
        return None
    side = OrderSide.BUY if delta > ZERO else OrderSide.SELL
    reduces = (
        held != ZERO
        and goal.copy_abs() < held.copy_abs()
        and (goal == ZERO or (goal > ZERO) == (held > ZERO))
    )
    return OrderIntent(
        strategy_id=strategy_id,
        instrument_id=instrument.id,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        price=limit,
        reduce_only=reduces,
        reason=reason,
        ts_event=ts_event,
    )
