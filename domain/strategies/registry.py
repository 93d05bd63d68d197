"""The built-in strategies by name, and the one factory that builds them from untyped parameters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId, StrategyId
from domain.strategies.base import Strategy
from domain.strategies.bollinger_breakout import BollingerBreakout
from domain.strategies.lead_lag import LeadLag
from domain.strategies.price_strategy import PriceStrategy
from domain.strategies.rsi_mean_reversion import RsiMeanReversion
from domain.strategies.sma_crossover import SmaCrossover

BUILTIN_STRATEGIES: Final[Mapping[str, type[PriceStrategy[Any, Any]]]] = MappingProxyType(
    {cls.name: cls for cls in (SmaCrossover, RsiMeanReversion, BollingerBreakout, LeadLag)}
)
"""Built-in strategy classes by registry name (read-only)."""


def create_strategy(
    name: str,
    *,
    strategy_id: StrategyId | str,
    instrument_ids: Iterable[InstrumentId | str],
    params: Mapping[str, object],
) -> Strategy:
    """Build the built-in strategy ``name`` from untyped parameters (e.g. ``--param fast=10``).

    ``params`` values may be strings or typed values; absent ones take their defaults.
    Raises InvalidParameter for an unknown ``name`` (listing the known ones), a bad
    ``strategy_id``, empty or malformed ``instrument_ids``, and any parameter the
    strategy refuses (unknown key, wrong type, out of range, broken cross-field rule).
    """
    cls = BUILTIN_STRATEGIES.get(name) if isinstance(name, str) else None
    if cls is None:
        known = ", ".join(sorted(BUILTIN_STRATEGIES))
        raise InvalidParameter("strategy", name, f"is not a built-in strategy; known: {known}")
    return cls.create(strategy_id=strategy_id, instrument_ids=instrument_ids, params=params)
