"""Stop-loss, take-profit and trailing stops per position, emitting reduce-only exit intents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId, StrategyId
from domain.identifiers import strategy_id as checked_strategy_id
from domain.intents import OrderIntent
from domain.orders import OrderType
from domain.positions import Position
from domain.values import ONE, ROUNDED, ZERO, OrderSide, plain, positive

from ._text import percent
from .limits import _limit_decimal, _limit_fraction
from .reasons import RiskReason

STOPS_STRATEGY_ID = StrategyId("risk-stops")
"""The strategy id exit intents carry unless another is given."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StopRules:
    """Exit rules as fractions of the average entry price (0.05 = 5 %); None disables one.

    ``stop_loss_fraction`` and ``trailing_fraction`` are in (0, 1]; ``take_profit_fraction``
    is positive (a long may gain more than 100 %). Raises InvalidParameter naming the field.
    """

    stop_loss_fraction: Decimal | None = None
    take_profit_fraction: Decimal | None = None
    trailing_fraction: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("stop_loss_fraction", "trailing_fraction"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _limit_fraction(value, name))
        if self.take_profit_fraction is not None:
            object.__setattr__(
                self,
                "take_profit_fraction",
                _limit_decimal(self.take_profit_fraction, "take_profit_fraction"),
            )

    @property
    def enabled(self) -> bool:
        return (
            self.stop_loss_fraction is not None
            or self.take_profit_fraction is not None
            or self.trailing_fraction is not None
        )


class _Track:
    """What the tracker remembers of one open position."""

    __slots__ = ("best", "cost", "fired", "quantity")

    def __init__(self, position: Position, price: Decimal) -> None:
        self.quantity = position.quantity
        self.cost = position.cost
        entry = position.avg_entry_price or price
        self.best = max(entry, price) if position.quantity > ZERO else min(entry, price)
        self.fired = False


class PositionStops:
    """Watches positions tick by tick and emits one market exit when a stop is hit.

    ``on_price`` returns a reduce-only MARKET OrderIntent closing the whole position (the
    side opposite to it, quantity |position|) when, for a long (mirrored for a short):

    - STOP_LOSS: price <= avg entry × (1 − stop_loss_fraction);
    - TAKE_PROFIT: price >= avg entry × (1 + take_profit_fraction);
    - TRAILING_STOP: price <= best price × (1 − trailing_fraction), where the best price
      is the highest seen since the position opened (at least the entry price); it resets
      when the position flips or goes flat, not when it is added to.

    Touching a level triggers it; when several are hit the first in the order above wins.
    Once an exit is emitted the position is not exited again until it changes (a fill) or
    ``rearm`` is called (e.g. the exit order was rejected or canceled). The intent's reason
    starts with the RiskReason value ("STOP_LOSS: ...") followed by the numbers.
    ``overrides`` gives other rules to some instruments; exits carry ``strategy_id``.
    Raises InvalidParameter for rules that are not StopRules, InvalidValue for a bad id.
    """

    __slots__ = ("_overrides", "_rules", "_strategy_id", "_tracks")

    def __init__(
        self,
        rules: StopRules,
        *,
        strategy_id: StrategyId = STOPS_STRATEGY_ID,
        overrides: Mapping[InstrumentId, StopRules] | None = None,
    ) -> None:
        if not isinstance(rules, StopRules):
            raise InvalidParameter("rules", rules, "must be StopRules")
        for key, value in (overrides or {}).items():
            if not isinstance(value, StopRules):
                raise InvalidParameter(f"overrides.{key}", value, "must be StopRules")
        self._rules = rules
        self._overrides = {InstrumentId(k): v for k, v in (overrides or {}).items()}
        self._strategy_id = checked_strategy_id(strategy_id)
        self._tracks: dict[InstrumentId, _Track] = {}

    @property
    def enabled(self) -> bool:
        """False when no rule is set for any instrument: the engine can skip the per-tick call."""
        return self._rules.enabled or any(rules.enabled for rules in self._overrides.values())

    def rules_for(self, instrument_id: InstrumentId) -> StopRules:
        return self._overrides.get(instrument_id, self._rules)

    def best_price(self, instrument_id: InstrumentId) -> Decimal | None:
        """The best price the open position has seen (None when not tracked)."""
        track = self._tracks.get(instrument_id)
        return track.best if track is not None else None

    def forget(self, instrument_id: InstrumentId) -> None:
        """The position went flat: its track (best price, whether a stop fired) starts afresh."""
        self._tracks.pop(instrument_id, None)

    def rearm(self, instrument_id: InstrumentId) -> None:
        """Allow another exit for the unchanged position (its exit order died without filling)."""
        track = self._tracks.get(instrument_id)
        if track is not None:
            track.fired = False

    def on_price(self, position: Position, price: Decimal, ts_event: int) -> OrderIntent | None:
        """Update the position's best price and return an exit intent if a stop is hit now.

        Raises InvalidValue for a non-positive or non-Decimal price.
        """
        iid = position.instrument_id
        quantity = position.quantity
        if not quantity:
            self._tracks.pop(iid, None)
            return None
        rules = self.rules_for(iid)
        if not rules.enabled:
            return None
        price = positive(price, "price")
        track = self._tracks.get(iid)
        if track is None or (track.quantity > ZERO) != (quantity > ZERO):
            track = self._tracks[iid] = _Track(position, price)
        elif track.quantity != quantity or track.cost != position.cost:
            track.quantity = quantity
            track.cost = position.cost
            track.fired = False
        long = quantity > ZERO
        if long:
            track.best = max(track.best, price)
        else:
            track.best = min(track.best, price)
        if track.fired:
            return None
        entry = position.avg_entry_price
        if entry is None:  # pragma: no cover - a non-flat position always has one
            return None
        hit = _hit(rules, long, entry, track.best, price)
        if hit is None:
            return None
        track.fired = True
        reason, sentence = hit
        held = f"{'long' if long else 'short'} {plain(quantity.copy_abs())} {iid}"
        return OrderIntent(
            strategy_id=self._strategy_id,
            instrument_id=iid,
            side=OrderSide.SELL if long else OrderSide.BUY,
            quantity=quantity.copy_abs(),
            order_type=OrderType.MARKET,
            reduce_only=True,
            reason=f"{reason.value}: {sentence} for the {held}; closing it at market",
            ts_event=ts_event,
        )


def _level(reference: Decimal, fraction: Decimal, up: bool) -> Decimal:
    return ROUNDED.multiply(reference, ONE + fraction if up else ONE - fraction)


def _hit(
    rules: StopRules, long: bool, entry: Decimal, best: Decimal, price: Decimal
) -> tuple[RiskReason, str] | None:
    """The first rule the price hits, with its sentence, or None."""
    # A long loses below its entry and gains above it; a short the other way round.
    loss = rules.stop_loss_fraction
    if loss is not None:
        level = _level(entry, loss, up=not long)
        if price <= level if long else price >= level:
            where = "below" if long else "above"
            return RiskReason.STOP_LOSS, (
                f"price {plain(price)} hit the stop-loss {plain(level)}"
                f" ({percent(loss)} {where} the average entry {plain(entry)})"
            )
    profit = rules.take_profit_fraction
    if profit is not None and (long or profit < ONE):
        level = _level(entry, profit, up=long)
        if price >= level if long else price <= level:
            where = "above" if long else "below"
            return RiskReason.TAKE_PROFIT, (
                f"price {plain(price)} hit the take-profit {plain(level)}"
                f" ({percent(profit)} {where} the average entry {plain(entry)})"
            )
    trail = rules.trailing_fraction
    if trail is not None:
        level = _level(best, trail, up=not long)
        if price <= level if long else price >= level:
            where = "below the highest" if long else "above the lowest"
            return RiskReason.TRAILING_STOP, (
                f"price {plain(price)} hit the trailing stop {plain(level)}"
                f" ({percent(trail)} {where} price {plain(best)} since entry)"
            )
    return None
