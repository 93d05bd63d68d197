"""SmaCrossover: buy when a fast simple moving average crosses above a slow one, sell below."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId
from domain.indicators import MAX_PERIOD
from domain.indicators.sma_pair import SmaPair
from domain.market_data import TradeTick
from domain.signals import Signal
from domain.strategies.base import NO_SIGNALS, PriceSource
from domain.strategies.parameters import ParameterReader, check_int, check_source
from domain.strategies.price_strategy import InstrumentState, PriceStrategy, format_number, integer_ratio
from domain.values import OrderSide

_TRADE: Final = PriceSource.TRADE

SAME_REL: Final = 1e-12
"""Averages closer than this, relative to the slow one, count as equal. A moving sum drifts
by a few ulps per window, so on a flat market ``fast - slow`` is rounding noise around
zero; without this dead band that noise would flip the sign and spray BUY/SELL pairs."""


@dataclass(frozen=True, kw_only=True)
class SmaCrossoverParams:
    """Parameters of :class:`SmaCrossover`: ``fast`` and ``slow`` SMA periods, ``source``.

    ``fast`` in [1, 100000], ``slow`` in [2, 100000], ``fast < slow``. ``source`` is
    "trade", "bar" or "mid". Raises InvalidParameter naming the offending field.
    """

    fast: int = 10
    slow: int = 30
    source: PriceSource = PriceSource.TRADE

    def __post_init__(self) -> None:
        check_int("fast", self.fast, minimum=1, maximum=MAX_PERIOD)
        check_int("slow", self.slow, minimum=2, maximum=MAX_PERIOD)
        if self.fast >= self.slow:
            raise InvalidParameter("fast", self.fast, f"must be less than slow ({self.slow})")
        object.__setattr__(self, "source", check_source(self.source))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> SmaCrossoverParams:
        """Parse ``{"fast": "10", "slow": 30, ...}``; absent keys take the defaults.

        Raises InvalidParameter for an unknown key (listing the allowed ones), a value of
        the wrong type (a bool is not an int), out of range, or ``fast >= slow``.
        """
        reader = ParameterReader("sma_crossover", mapping, cls)
        return cls(fast=reader.integer("fast"), slow=reader.integer("slow"), source=reader.source())


class _CrossState(InstrumentState):
    __slots__ = ("averages", "push", "sign")

    def __init__(self, instrument_id: InstrumentId, params: SmaCrossoverParams) -> None:
        super().__init__(instrument_id)
        # Both averages over one buffer, one call per price: the same bits as two SMAs.
        self.averages = SmaPair(params.fast, params.slow)
        self.push: Callable[[float], tuple[float, float]] = self.averages.push  # bound once
        self.sign = 0  # sign of fast - slow at the last update that was not a tie; 0: none yet


class SmaCrossover(PriceStrategy[SmaCrossoverParams, _CrossState]):
    """Trend following on two simple moving averages of the same price series.

    Every price updates SMA(fast) and SMA(slow). Once both are ready, the sign of
    ``fast - slow`` is taken at every update; differences within ``1e-12 × |slow|``
    (:data:`SAME_REL`) count as a tie, and a tie keeps the previous sign. A BUY signal is
    emitted when the sign turns from negative to positive (fast crossed above slow), a
    SELL when it turns from positive to negative. The first ready update only records the
    sign (no signal), and so does the first non-tie one if every ready update before it
    was a tie. Signals therefore alternate BUY, SELL, BUY... per instrument.

    ``warmup`` is ``slow`` prices: the earliest signal comes on price ``slow + 1``.
    ``strength`` is 1.0: a cross is a yes/no event, and the gap at the crossing tick only
    measures tick granularity. The reason reads e.g. "fast SMA(10) 101.2 crossed above
    slow SMA(30) 100.9".
    """

    __slots__ = ()

    name: ClassVar[str] = "sma_crossover"

    @classmethod
    def parse_parameters(cls, mapping: Mapping[str, object]) -> SmaCrossoverParams:
        """See :meth:`SmaCrossoverParams.from_mapping`."""
        return SmaCrossoverParams.from_mapping(mapping)

    def _new_state(self, params: SmaCrossoverParams, instrument_id: InstrumentId) -> _CrossState:
        return _CrossState(instrument_id, params)

    def _warmup_of(self, state: _CrossState) -> int:
        return state.averages.slow

    def on_trade(self, tick: TradeTick) -> Sequence[Signal]:
        """Feed the trade's price when ``source`` is "trade"; otherwise no signals.

        The per-tick hot path: :meth:`_on_price` inlined, and the Decimal price turned into
        a float through its integer ratio (bit-identical to ``float(price)``, cheaper).
        """
        if self._source is not _TRADE:
            return NO_SIGNALS
        state = self._states.get(tick.instrument_id)
        if state is None:
            return NO_SIGNALS
        numerator, denominator = integer_ratio(tick.price)
        price = numerator / denominator
        fast, slow = state.push(price)
        count = state.count + 1
        state.count = count
        if count < self._warmup:
            return NO_SIGNALS
        difference = fast - slow
        # Same sign as before, or an exact tie: nothing to do, whatever the dead band says.
        if difference > 0.0:
            if state.sign > 0:
                return NO_SIGNALS
        elif difference < 0.0:
            if state.sign < 0:
                return NO_SIGNALS
        else:
            return NO_SIGNALS
        return self._turn(state, fast, slow, tick.ts_event)

    def _on_price(self, state: _CrossState, price: float, ts_event: int) -> Sequence[Signal]:
        # on_trade inlines this body: change both together (the tests compare them).
        fast, slow = state.push(price)
        count = state.count + 1
        state.count = count
        if count < self._warmup:
            return NO_SIGNALS
        difference = fast - slow
        if difference > 0.0:
            if state.sign > 0:
                return NO_SIGNALS
        elif difference < 0.0:
            if state.sign < 0:
                return NO_SIGNALS
        else:
            return NO_SIGNALS
        return self._turn(state, fast, slow, ts_event)

    def _turn(self, state: _CrossState, fast: float, slow: float, ts_event: int) -> Sequence[Signal]:
        # The sign of fast - slow may have changed: apply the dead band, record, maybe signal.
        difference = fast - slow
        if abs(difference) <= SAME_REL * abs(slow):
            return NO_SIGNALS
        sign = 1 if difference > 0.0 else -1
        previous = state.sign
        state.sign = sign
        if previous == 0:
            return NO_SIGNALS
        params = self._params
        direction = "above" if sign > 0 else "below"
        reason = (
            f"fast SMA({params.fast}) {format_number(fast)} crossed {direction} "
            f"slow SMA({params.slow}) {format_number(slow)}"
        )
        return self._signal(state, OrderSide.BUY if sign > 0 else OrderSide.SELL, reason, ts_event)
