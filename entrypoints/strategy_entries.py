"""A ``[[strategies]]`` entry as the strategy it configures: one place for every process.

A built-in kind comes from the domain's registry; an ML kind loads its model
(``entrypoints.ml_strategies``, imported only when one is configured: LightGBM is heavy).
Whatever is wrong is a ConfigError naming the entry.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.errors import DomainError
from domain.identifiers import InstrumentId, strategy_id
from domain.ml.strategy import KINDS as ML_KINDS
from domain.strategies import create_strategy
from domain.strategies.base import Strategy
from entrypoints.config import ConfigError, StrategySettings

Closer = Callable[[], None]


def build_strategy(
    entry: StrategySettings, *, replay: bool = True, retraining: bool = True
) -> tuple[Strategy, Closer | None]:
    """The strategy of ``entry``, and what to call when the engine stops (an ML strategy's
    retraining worker), if anything. ``replay``: an ML strategy retrains at once instead of in
    a worker process; ``retraining=False`` refuses an ML entry that asks to retrain (a process
    that cannot run it)."""
    if entry.kind in ML_KINDS:
        from entrypoints.ml_strategies import build_ml_strategy

        return build_ml_strategy(entry, replay=replay, retraining=retraining)
    try:
        built = create_strategy(
            entry.kind,
            strategy_id=strategy_id(entry.id),
            instrument_ids=[InstrumentId(i) for i in entry.instruments],
            params=entry.params,
        )
    except (DomainError, ValueError) as error:
        raise ConfigError(f"strategy {entry.id}: {error}") from None
    return built, None
