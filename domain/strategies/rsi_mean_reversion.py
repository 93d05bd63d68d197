"""RsiMeanReversion: buy when the RSI falls into oversold, sell when it rises into overbought."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import isnan, nan
from typing import ClassVar

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId
from domain.indicators import MAX_PERIOD, RSI
from domain.signals import Signal
from domain.strategies.base import NO_SIGNALS, PriceSource
from domain.strategies.parameters import ParameterReader, check_int, check_real, check_source
from domain.strategies.price_strategy import InstrumentState, PriceStrategy, format_number
from domain.values import OrderSide


@dataclass(frozen=True, kw_only=True)
class RsiMeanReversionParams:
    """Parameters of :class:`RsiMeanReversion`: RSI ``period``, the two thresholds, ``source``.

    ``period`` in [2, 100000]; ``0 < oversold < overbought < 100`` (numbers, stored as
    floats); ``source`` is "trade", "bar" or "mid". Raises InvalidParameter naming the
    offending field.
    """

    period: int = 14
    oversold: float = 30.0
    overbought: float = 70.0
    source: PriceSource = PriceSource.TRADE

    def __post_init__(self) -> None:
        check_int("period", self.period, minimum=2, maximum=MAX_PERIOD)
        object.__setattr__(self, "oversold", check_real("oversold", self.oversold, above=0.0, below=100.0))
        object.__setattr__(
            self, "overbought", check_real("overbought", self.overbought, above=0.0, below=100.0)
        )
        if self.oversold >= self.overbought:
            raise InvalidParameter(
                "oversold", self.oversold, f"must be less than overbought ({self.overbought:g})"
            )
        object.__setattr__(self, "source", check_source(self.source))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> RsiMeanReversionParams:
        """Parse ``{"period": "14", "oversold": "25", ...}``; absent keys take the defaults.

        Raises InvalidParameter for an unknown key (listing the allowed ones), a value of
        the wrong type (a bool is not a number), out of range, or ``oversold >= overbought``.
        """
        reader = ParameterReader("rsi_mean_reversion", mapping, cls)
        return cls(
            period=reader.integer("period"),
            oversold=reader.number("oversold"),
            overbought=reader.number("overbought"),
            source=reader.source(),
        )


class _RsiState(InstrumentState):
    __slots__ = ("last_price", "previous", "rsi")

    def __init__(self, instrument_id: InstrumentId, params: RsiMeanReversionParams) -> None:
        super().__init__(instrument_id)
        self.rsi = RSI(params.period)
        self.last_price = nan
        self.previous = nan  # RSI at the last update that could move it; NaN: none yet


class RsiMeanReversion(PriceStrategy[RsiMeanReversionParams, _RsiState]):
    """Mean reversion on Wilder's RSI: fade moves that push it into an extreme zone.

    Every price updates RSI(period). Once it is ready, each new reading is compared with
    the previous one: a BUY is emitted when the RSI crosses down into the oversold zone
    (previous ``>= oversold``, now ``< oversold``), a SELL when it crosses up into the
    overbought zone (previous ``<= overbought``, now ``> overbought``). Staying in the zone
    emits nothing, so there is one signal per entry. The first ready reading only sets the
    previous one (no signal).

    A price equal to the previous price is folded into the RSI but never compared: in
    exact arithmetic it cannot move the RSI (average gain and loss decay by the same
    factor), while in floats a long flat stretch (~10k prices for period 14) lets both
    decay into subnormals whose ratio drifts to 50. Compared there, a zone the market never
    left would seem left, and the next move would signal a second entry.

    ``warmup`` is ``period + 1`` prices: the earliest signal comes on price
    ``period + 2``. ``strength`` is 1.0: entering the zone is a yes/no event. The reason
    reads e.g. "RSI(14) 28.41 crossed below oversold 30".
    """

    __slots__ = ()

    name: ClassVar[str] = "rsi_mean_reversion"

    @classmethod
    def parse_parameters(cls, mapping: Mapping[str, object]) -> RsiMeanReversionParams:
        """See :meth:`RsiMeanReversionParams.from_mapping`."""
        return RsiMeanReversionParams.from_mapping(mapping)

    def _new_state(self, params: RsiMeanReversionParams, instrument_id: InstrumentId) -> _RsiState:
        return _RsiState(instrument_id, params)

    def _warmup_of(self, state: _RsiState) -> int:
        return state.rsi.warmup

    def _on_price(self, state: _RsiState, price: float, ts_event: int) -> Sequence[Signal]:
        rsi = state.rsi
        rsi.update(price)
        unchanged = price == state.last_price
        state.last_price = price
        count = state.count + 1
        state.count = count
        if count < self._warmup:
            return NO_SIGNALS
        previous = state.previous
        if unchanged and not isnan(previous):  # a flat step, and a previous reading exists
            return NO_SIGNALS
        value = rsi.value
        state.previous = value
        params = self._params
        # With no previous reading (NaN) both comparisons are false: no signal.
        if previous >= params.oversold > value:
            reason = f"RSI({params.period}) {format_number(value)} crossed below oversold {params.oversold:g}"
            return self._signal(state, OrderSide.BUY, reason, ts_event)
        if previous <= params.overbought < value:
            reason = (
                f"RSI({params.period}) {format_number(value)} crossed above overbought {params.overbought:g}"
            )
            return self._signal(state, OrderSide.SELL, reason, ts_event)
        return NO_SIGNALS
