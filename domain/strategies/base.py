"""The Strategy protocol: pure objects fed market events that return signals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Final, Protocol, runtime_checkable

from domain.identifiers import InstrumentId, StrategyId
from domain.market_data import Bar, QuoteTick, TradeTick
from domain.signals import Signal

NO_SIGNALS: Final[tuple[Signal, ...]] = ()
"""What a strategy returns when an event yields no signal: one shared empty tuple, so the
per-tick path allocates nothing."""


class PriceSource(StrEnum):
    """Which events drive a price-based strategy; events of the other kinds are ignored.

    ``TRADE`` uses each trade's price, ``BAR`` each bar's close, ``MID`` each quote's
    mid price ``(bid + ask) / 2``.
    """

    TRADE = "trade"
    BAR = "bar"
    MID = "mid"


@runtime_checkable
class Strategy(Protocol):
    """A pure, deterministic function of the market events it is fed, returning signals.

    Strategies do no I/O and never read the clock: the same events in the same order give
    the same signals, which is what lets a backtest and a live run agree. Each handler
    returns a (possibly empty) sequence of signals whose ``ts_event`` is the event's;
    when there is nothing to say it returns :data:`NO_SIGNALS`, never a new empty
    container. ``id``, ``instrument_ids``, ``ready`` and ``warmup`` are read-only.
    """

    @property
    def id(self) -> StrategyId:
        """Who emits the signals."""
        ...

    @property
    def instrument_ids(self) -> frozenset[InstrumentId]:
        """The instruments the strategy is subscribed to; state is kept per instrument."""
        ...

    @property
    def ready(self) -> bool:
        """True once the warm-up is over for every subscribed instrument."""
        ...

    @property
    def warmup(self) -> int:
        """Events an instrument needs before its next one can produce a signal."""
        ...

    def parameters(self) -> Mapping[str, object]:
        """The current parameters, by name, as typed values."""
        ...

    def on_trade(self, tick: TradeTick) -> Sequence[Signal]:
        """Handle a public trade (the per-tick hot path)."""
        ...

    def on_quote(self, quote: QuoteTick) -> Sequence[Signal]:
        """Handle a best bid/ask update."""
        ...

    def on_bar(self, bar: Bar) -> Sequence[Signal]:
        """Handle a closed bar."""
        ...

    def reset(self) -> None:
        """Forget every event seen: back to the state right after construction."""
        ...
