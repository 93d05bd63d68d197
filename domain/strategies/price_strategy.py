"""PriceStrategy: shared plumbing for strategies driven by one price series per instrument."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any, ClassVar, Final, Generic, Protocol, Self, TypeVar

from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId, StrategyId, strategy_id
from domain.market_data import Bar, QuoteTick, TradeTick
from domain.signals import Signal
from domain.strategies.base import NO_SIGNALS, PriceSource
from domain.values import OrderSide

_TRADE: Final = PriceSource.TRADE
_BAR: Final = PriceSource.BAR
_MID: Final = PriceSource.MID

integer_ratio: Final = Decimal.as_integer_ratio
"""Decimal -> float goes through the exact integer ratio, ``n / d``: int true division is
correctly rounded, so the result is bit-identical to ``float(price)``, and ~25 % cheaper
(measured ~155 ns against ~210 ns on CPython 3.11: float(Decimal) formats the number as a
string and parses it back)."""


class PriceParams(Protocol):
    """What PriceStrategy needs of its parameters: a dataclass with a ``source`` field."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def source(self) -> PriceSource: ...


P = TypeVar("P", bound=PriceParams)


class InstrumentState:
    """What a PriceStrategy keeps per instrument: its id and how many prices it has seen."""

    __slots__ = ("count", "instrument_id")

    def __init__(self, instrument_id: InstrumentId) -> None:
        self.instrument_id = instrument_id
        self.count = 0


S = TypeVar("S", bound=InstrumentState)


def format_number(value: float) -> str:
    """A float for a signal's reason: up to 10 significant digits, no binary noise."""
    return f"{value:.10g}"


def checked_strategy_id(value: object) -> StrategyId:
    """Validate a strategy id; raises InvalidParameter naming ``strategy_id``."""
    try:
        return strategy_id(value)  # type: ignore[arg-type]  # checked inside
    except InvalidValue as error:
        raise InvalidParameter("strategy_id", value, error.problem) from None


def checked_instrument_ids(values: object) -> frozenset[InstrumentId]:
    """Validate a non-empty collection of instrument ids (``SYMBOL.VENUE`` strings).

    Raises InvalidParameter naming ``instrument_ids`` for a single string (which would
    otherwise be read character by character), a non-collection, an empty collection or
    a malformed id.
    """
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidParameter("instrument_ids", values, "must be a collection of instrument ids")
    ids = []
    for value in values:
        try:
            ids.append(InstrumentId(value))
        except InvalidValue as error:
            raise InvalidParameter("instrument_ids", value, error.problem) from None
    if not ids:
        raise InvalidParameter("instrument_ids", values, "must name at least one instrument")
    return frozenset(ids)


class PriceStrategy(ABC, Generic[P, S]):
    """A strategy fed one float price per event, chosen by its ``source`` parameter.

    ``source`` "trade" takes each trade's price, "bar" each bar's close, "mid" each
    quote's ``(bid + ask) / 2``; events of the other kinds, and events for instruments the
    strategy is not subscribed to, return :data:`NO_SIGNALS`. Each subscribed instrument
    has its own state (indicators, previous readings), so interleaving instruments never
    changes any one instrument's signals. Prices are converted from Decimal to float once
    per event; indicators work in floats.

    Subclasses define ``name``, ``parse_parameters``, ``_new_state``, ``_warmup_of`` and
    ``_on_price``. Construction raises InvalidParameter for a bad strategy id, an empty or
    malformed ``instrument_ids``, or parameters the indicators refuse.
    """

    __slots__ = ("_id", "_instrument_ids", "_params", "_source", "_states", "_warmup")

    name: ClassVar[str]
    """The registry name, e.g. ``sma_crossover``."""

    def __init__(
        self,
        *,
        strategy_id: StrategyId | str,
        instrument_ids: Iterable[InstrumentId | str],
        params: P | Mapping[str, object] | None = None,
    ) -> None:
        """``params``: typed parameters, a mapping to parse (see :meth:`create`), or None for the defaults."""
        self._id = checked_strategy_id(strategy_id)
        self._instrument_ids = checked_instrument_ids(instrument_ids)
        if params is None or isinstance(params, Mapping):
            params = self.parse_parameters(params or {})
        self._apply(params)

    @classmethod
    def create(
        cls,
        *,
        strategy_id: StrategyId | str,
        instrument_ids: Iterable[InstrumentId | str],
        params: Mapping[str, object],
    ) -> Self:
        """Build from untyped parameters (``{"fast": "10"}`` from the command line, or typed).

        Raises InvalidParameter for an unknown, mistyped or out-of-range parameter, a
        broken cross-field rule, a bad strategy id or bad instrument ids.
        """
        return cls(
            strategy_id=strategy_id, instrument_ids=instrument_ids, params=cls.parse_parameters(params)
        )

    @classmethod
    @abstractmethod
    def parse_parameters(cls, mapping: Mapping[str, object]) -> P:
        """Parse and validate parameters; missing ones take their defaults.

        Raises InvalidParameter for unknown keys, wrong types, out-of-range values and
        broken cross-field rules.
        """

    @abstractmethod
    def _new_state(self, params: P, instrument_id: InstrumentId) -> S:
        """Fresh state (new indicators built from ``params``) for one instrument."""

    @abstractmethod
    def _warmup_of(self, state: S) -> int:
        """Prices an instrument needs before the next one can produce a signal."""

    @abstractmethod
    def _on_price(self, state: S, price: float, ts_event: int) -> Sequence[Signal]:
        """Fold one price into ``state``; return the signals it triggers."""

    def _apply(self, params: P) -> None:
        states = {
            instrument_id: self._new_state(params, instrument_id)
            for instrument_id in sorted(self._instrument_ids)
        }
        self._params = params
        self._source = params.source
        self._states = states
        self._warmup = self._warmup_of(next(iter(states.values())))

    @property
    def id(self) -> StrategyId:
        """Who emits the signals."""
        return self._id

    @property
    def instrument_ids(self) -> frozenset[InstrumentId]:
        """The instruments the strategy is subscribed to."""
        return self._instrument_ids

    @property
    def params(self) -> P:
        """The current parameters, typed."""
        return self._params

    @property
    def source(self) -> PriceSource:
        """Which events drive the strategy."""
        return self._source

    @property
    def warmup(self) -> int:
        """Prices (driving events) an instrument needs before the next one can signal."""
        return self._warmup

    @property
    def ready(self) -> bool:
        """True once every subscribed instrument has seen ``warmup`` prices."""
        warmup = self._warmup
        return all(state.count >= warmup for state in self._states.values())

    def ready_for(self, instrument_id: InstrumentId) -> bool:
        """True once ``instrument_id`` has seen ``warmup`` prices.

        Raises InvalidParameter when the strategy is not subscribed to it.
        """
        state = self._states.get(instrument_id)
        if state is None:
            raise InvalidParameter("instrument_id", instrument_id, f"is not subscribed to by {self._id}")
        return state.count >= self._warmup

    def parameters(self) -> Mapping[str, object]:
        """The current parameters by name (a read-only view), e.g. ``{"fast": 10, ...}``."""
        return MappingProxyType(
            {field.name: getattr(self._params, field.name) for field in dataclasses.fields(self._params)}
        )

    def update_parameters(self, mapping: Mapping[str, object]) -> None:
        """Change some parameters; the others keep their current values.

        The new set is validated as a whole first, so a bad update changes nothing and
        raises InvalidParameter. A valid one rebuilds every indicator and forgets all
        per-instrument state: warm-up restarts and no signal comes until it is over again.
        """
        if not isinstance(mapping, Mapping):
            raise InvalidParameter("params", mapping, "must be a mapping of parameter names to values")
        self._apply(self.parse_parameters({**self.parameters(), **mapping}))

    def reset(self) -> None:
        """Forget every price seen on every instrument (fresh indicators, warm-up restarts)."""
        self._apply(self._params)

    def on_trade(self, tick: TradeTick) -> Sequence[Signal]:
        """Feed the trade's price when ``source`` is "trade"; otherwise no signals."""
        if self._source is not _TRADE:
            return NO_SIGNALS
        state = self._states.get(tick.instrument_id)
        if state is None:
            return NO_SIGNALS
        numerator, denominator = integer_ratio(tick.price)
        return self._on_price(state, numerator / denominator, tick.ts_event)

    def on_quote(self, quote: QuoteTick) -> Sequence[Signal]:
        """Feed the quote's mid price when ``source`` is "mid"; otherwise no signals."""
        if self._source is not _MID:
            return NO_SIGNALS
        state = self._states.get(quote.instrument_id)
        if state is None:
            return NO_SIGNALS
        numerator, denominator = integer_ratio(quote.bid_price + quote.ask_price)
        return self._on_price(state, numerator / (2 * denominator), quote.ts_event)

    def on_bar(self, bar: Bar) -> Sequence[Signal]:
        """Feed the bar's close when ``source`` is "bar"; otherwise no signals."""
        if self._source is not _BAR:
            return NO_SIGNALS
        state = self._states.get(bar.instrument_id)
        if state is None:
            return NO_SIGNALS
        numerator, denominator = integer_ratio(bar.close)
        return self._on_price(state, numerator / denominator, bar.ts_event)

    def _signal(self, state: S, side: OrderSide, reason: str, ts_event: int) -> tuple[Signal]:
        return (
            Signal(
                strategy_id=self._id,
                instrument_id=state.instrument_id,
                side=side,
                strength=1.0,
                reason=reason,
                ts_event=ts_event,
            ),
        )

    def __repr__(self) -> str:
        params = ", ".join(
            f"{key}={value.value if isinstance(value, Enum) else value!r}"
            for key, value in self.parameters().items()
        )
        return f"{type(self).__name__}(id={self._id!r}, instruments={sorted(self._instrument_ids)}, {params})"
