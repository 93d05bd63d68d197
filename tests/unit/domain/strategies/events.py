"""Builders for strategy tests: price series as trades, bars or quotes, and a feeder."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal

from domain.identifiers import InstrumentId
from domain.market_data import Bar, QuoteTick, TradeTick
from domain.signals import Signal
from domain.strategies import PriceSource, Strategy
from domain.values import AggressorSide
from tests.builders import BTCUSDT, STEP_NS, TS

MarketEvent = TradeTick | QuoteTick | Bar
Number = str | int | Decimal
SIZE = Decimal("0.5")
HALF_SPREAD = Decimal("0.01")


def ts_of(index: int) -> int:
    """The ``ts_event`` builders give the event at position ``index`` of a series."""
    return TS + index * STEP_NS


def trades(
    prices: Iterable[Number], instrument_id: InstrumentId = BTCUSDT, start: int = 0
) -> list[TradeTick]:
    """One trade per price (a decimal string, int or Decimal), one millisecond apart."""
    return [
        TradeTick(
            instrument_id, Decimal(price), SIZE, AggressorSide.BUYER, f"T-{index}", ts_of(index), ts_of(index)
        )
        for index, price in enumerate(prices, start)
    ]


def bars(closes: Iterable[Number], instrument_id: InstrumentId = BTCUSDT, start: int = 0) -> list[Bar]:
    """One one-second bar per close; open, high and low bracket the close."""
    result = []
    for index, close in enumerate(closes, start):
        price = Decimal(close)
        result.append(
            Bar(instrument_id, price, price + 1, price / 2, price, SIZE, 10**9, ts_of(index), ts_of(index))
        )
    return result


def quotes(mids: Iterable[Number], instrument_id: InstrumentId = BTCUSDT, start: int = 0) -> list[QuoteTick]:
    """One quote per mid price, bid and ask one cent either side of it."""
    result = []
    for index, mid in enumerate(mids, start):
        price = Decimal(mid)
        bid, ask = price - HALF_SPREAD, price + HALF_SPREAD
        result.append(QuoteTick(instrument_id, bid, SIZE, ask, SIZE, ts_of(index), ts_of(index)))
    return result


def dispatch(strategy: Strategy, event: MarketEvent) -> Sequence[Signal]:
    """Hand ``event`` to the strategy handler for its kind, as the engine does."""
    if isinstance(event, TradeTick):
        return strategy.on_trade(event)
    if isinstance(event, QuoteTick):
        return strategy.on_quote(event)
    return strategy.on_bar(event)


def run(strategy: Strategy, events: Iterable[MarketEvent]) -> list[tuple[int, Signal]]:
    """Feed ``events`` in order; return ``(position of the triggering event, signal)`` pairs."""
    return [(index, signal) for index, event in enumerate(events) for signal in dispatch(strategy, event)]


def sides_at(strategy: Strategy, events: Iterable[MarketEvent]) -> list[tuple[int, str]]:
    """Like :func:`run`, reduced to ``(position, side name)`` for compact expectations."""
    return [(index, side_name(signal)) for index, signal in run(strategy, events)]


EVENTS_BY_SOURCE: Mapping[PriceSource, Callable[[Iterable[Number]], Sequence[MarketEvent]]] = {
    PriceSource.TRADE: trades,
    PriceSource.BAR: bars,
    PriceSource.MID: quotes,
}
"""The builder whose events carry each price for a strategy with that ``source``."""


def side_name(signal: Signal) -> str:
    """``BUY`` or ``SELL`` (``TARGET`` for a target-position signal)."""
    return signal.side.name if signal.side is not None else "TARGET"
