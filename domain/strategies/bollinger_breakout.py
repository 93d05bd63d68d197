"""BollingerBreakout: buy when the price breaks above the upper band, sell below the lower."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from domain.identifiers import InstrumentId
from domain.indicators import MAX_PERIOD, BollingerBands
from domain.signals import Signal
from domain.strategies.base import NO_SIGNALS, PriceSource
from domain.strategies.parameters import ParameterReader, check_int, check_real, check_source
from domain.strategies.price_strategy import InstrumentState, PriceStrategy, format_number
from domain.values import OrderSide

MAX_NUM_STD: Final = 10.0
"""Widest bands accepted: prices essentially never reach 10σ, so more is a typo."""

BEYOND_REL: Final = 1e-12
"""A price must pass a band by more than this, relative to the middle band, to be beyond
it. On a flat market the bands collapse onto the mean up to rounding, and a price equal
to every price in the window must not read as a breakout."""


@dataclass(frozen=True, kw_only=True)
class BollingerBreakoutParams:
    """Parameters of :class:`BollingerBreakout`: band ``period``, ``num_std``, ``source``.

    ``period`` in [2, 100000]; ``num_std`` a number in (0, 10], stored as a float;
    ``source`` is "trade", "bar" or "mid". Raises InvalidParameter naming the offending
    field.
    """

    period: int = 20
    num_std: float = 2.0
    source: PriceSource = PriceSource.TRADE

    def __post_init__(self) -> None:
        check_int("period", self.period, minimum=2, maximum=MAX_PERIOD)
        object.__setattr__(
            self, "num_std", check_real("num_std", self.num_std, above=0.0, maximum=MAX_NUM_STD)
        )
        object.__setattr__(self, "source", check_source(self.source))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> BollingerBreakoutParams:
        """Parse ``{"period": "20", "num_std": "2.5", ...}``; absent keys take the defaults.

        Raises InvalidParameter for an unknown key (listing the allowed ones), a value of
        the wrong type (a bool is not a number) or out of range.
        """
        reader = ParameterReader("bollinger_breakout", mapping, cls)
        return cls(period=reader.integer("period"), num_std=reader.number("num_std"), source=reader.source())


class _BandState(InstrumentState):
    __slots__ = ("above", "bands", "below", "compared")

    def __init__(self, instrument_id: InstrumentId, params: BollingerBreakoutParams) -> None:
        super().__init__(instrument_id)
        self.bands = BollingerBands(params.period, params.num_std)
        self.compared = False  # whether the last update was compared with bands
        self.above = False  # the last compared price was beyond the upper band
        self.below = False  # ... beyond the lower band


class BollingerBreakout(PriceStrategy[BollingerBreakoutParams, _BandState]):
    """Breakout on Bollinger Bands (SMA(period) ± num_std population σ).

    Each price is compared with the bands of the ``period`` prices BEFORE it, then folded
    in. Bands that include the current price would damp the very move they measure, and
    could never be broken at all when ``num_std >= sqrt(period - 1)`` (Samuelson's
    inequality: no value of a window lies further than ``σ·sqrt(n - 1)`` from its mean;
    e.g. period 5 with 2σ).

    A price is above the upper band when ``price - upper > 1e-12 × |middle|``
    (:data:`BEYOND_REL`), below the lower band symmetrically. A BUY is emitted when the
    price is above the upper band and the previous compared price was not (at or below
    it); a SELL when it is below the lower band and the previous one was not. The first
    comparison only records where the price stood (no signal). So a run of prices beyond
    a band signals once, on entry.

    ``warmup`` is ``period + 1`` prices (``period`` to fill the bands, one to compare):
    the earliest signal comes on price ``period + 2``. ``strength`` is 1.0: a breakout is
    a yes/no event. The reason reads e.g. "price 105.3 broke above upper band 104.9 of
    Bollinger(20, 2σ), middle 101.2".
    """

    __slots__ = ()

    name: ClassVar[str] = "bollinger_breakout"

    @classmethod
    def parse_parameters(cls, mapping: Mapping[str, object]) -> BollingerBreakoutParams:
        """See :meth:`BollingerBreakoutParams.from_mapping`."""
        return BollingerBreakoutParams.from_mapping(mapping)

    def _new_state(self, params: BollingerBreakoutParams, instrument_id: InstrumentId) -> _BandState:
        return _BandState(instrument_id, params)

    def _warmup_of(self, state: _BandState) -> int:
        return state.bands.warmup + 1

    def _on_price(self, state: _BandState, price: float, ts_event: int) -> Sequence[Signal]:
        bands = state.bands
        state.count += 1
        if not bands.ready:
            bands.update(price)
            return NO_SIGNALS
        upper = bands.upper
        lower = bands.lower
        middle = bands.middle
        bands.update(price)
        margin = BEYOND_REL * abs(middle)
        above = price - upper > margin
        below = lower - price > margin
        compared = state.compared
        was_above = state.above
        was_below = state.below
        state.compared = True
        state.above = above
        state.below = below
        if not compared:
            return NO_SIGNALS
        params = self._params
        if above and not was_above:
            band = f"above upper band {format_number(upper)}"
            side = OrderSide.BUY
        elif below and not was_below:
            band = f"below lower band {format_number(lower)}"
            side = OrderSide.SELL
        else:
            return NO_SIGNALS
        reason = (
            f"price {format_number(price)} broke {band} of Bollinger({params.period}, "
            f"{params.num_std:g}σ), middle {format_number(middle)}"
        )
        return self._signal(state, side, reason, ts_event)
