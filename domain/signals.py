"""Signals: what a strategy wants, before sizing and risk turn it into an order."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidValue
from domain.identifiers import InstrumentId, StrategyId
from domain.values import OrderSide, to_decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """Who (strategy), what (instrument plus a side or a target position), how strong, why, when.

    Exactly one of ``side`` and ``target_position`` is set. A side says "buy/sell, size it
    for me"; a target position (signed, in base units) says "be this long or short". A
    target of zero means "go flat". ``strength`` is in [0, 1] and lets sizing scale.
    Raises InvalidValue on a missing or doubled intent, a bad strength or an empty reason.
    """

    strategy_id: StrategyId
    instrument_id: InstrumentId
    side: OrderSide | None = None
    target_position: Decimal | None = None
    strength: float = 1.0
    reason: str
    ts_event: int

    def __post_init__(self) -> None:
        if (self.side is None) == (self.target_position is None):
            raise InvalidValue(
                "side/target_position", (self.side, self.target_position), "exactly one must be set"
            )
        if self.side is not None and not isinstance(self.side, OrderSide):
            raise InvalidValue("side", self.side, "must be BUY or SELL")
        if self.target_position is not None:
            object.__setattr__(self, "target_position", to_decimal(self.target_position, "target_position"))
        if isinstance(self.strength, bool) or not isinstance(self.strength, (int, float)):
            raise InvalidValue("strength", self.strength, "must be a number in [0, 1]")
        if not math.isfinite(self.strength) or not 0.0 <= self.strength <= 1.0:
            raise InvalidValue("strength", self.strength, "must be within [0, 1]")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise InvalidValue("reason", self.reason, "must be a non-empty sentence")
        if isinstance(self.ts_event, bool) or not isinstance(self.ts_event, int) or self.ts_event < 0:
            raise InvalidValue("ts_event", self.ts_event, "must be a non-negative integer of nanoseconds")
