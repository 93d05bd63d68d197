"""What one backtest runs (``BacktestSpec``), the error it refuses with, and the checks of its inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from domain.errors import InvalidParameter, InvalidValue
from domain.ml.strategy import KINDS as ML_KINDS
from domain.strategies import create_strategy
from domain.values import to_decimal

DEFAULT_FRACTION = Decimal("0.95")
"""Each entry's size as a fraction of equity, unless a fraction or a quantity is given."""


class BacktestError(Exception):
    """A backtest that cannot run as asked (bad data, bad parameters); the message says why.

    ``field`` names the input at fault when one is (``data``, ``strategy``, ``params.fast``,
    ``capital``, ...) and ``problem`` is the message without it, for callers (the gRPC
    service) that name the field their own way.
    """

    def __init__(self, message: str, *, field: str | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.problem = problem or message


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestSpec:
    """Everything one run needs; picklable, so a sweep sends it to other processes."""

    data: tuple[str, ...]
    strategy: str
    params: Mapping[str, str] = field(default_factory=dict)
    instrument: str | None = None
    capital: Decimal = Decimal(10_000)
    fees_bps: Decimal = Decimal(10)
    slippage_bps: Decimal = Decimal(0)
    fraction: Decimal | None = DEFAULT_FRACTION
    quantity: Decimal | None = None
    allow_short: bool = False
    skip_bad_rows: bool = False
    config: str | None = None
    sample_ns: int = 3_600_000_000_000
    from_store: bool = False
    """Replay the market-data store of ``config`` (``[storage]``) instead of ``data`` files."""
    start_ns: int | None = None
    end_ns: int | None = None


def check_strategy(strategy: str, params: Mapping[str, str]) -> None:
    """Refuse an unknown strategy or parameters it would refuse, before any data is read.

    Raises BacktestError with ``field`` "strategy" or "params.NAME".
    """
    if strategy in ML_KINDS:
        _check_ml_strategy(strategy, params)
        return
    try:
        create_strategy(strategy, strategy_id="check", instrument_ids=["CHECK.CHECK"], params=params)
    except InvalidParameter as error:
        field = "strategy" if error.field == "strategy" else f"params.{error.field}"
        problem = f"{error.problem} (was {error.value!r})"
        raise BacktestError(str(error), field=field, problem=problem) from None


def _check_ml_strategy(strategy: str, params: Mapping[str, str]) -> None:
    from entrypoints.config import ConfigError, StrategySettings
    from entrypoints.strategy_entries import build_strategy

    try:
        build_strategy(
            StrategySettings(id="check", kind=strategy, instruments=("CHECK.CHECK",), params=params)
        )
    except ConfigError as error:
        field = "params.model" if "model" in str(error) else "params"
        raise BacktestError(str(error), field=field, problem=str(error)) from None


def parse_amount(text: str, name: str, *, positive: bool = True) -> Decimal:
    """``text`` as a finite decimal, positive (or non-negative); raises BacktestError whose
    ``field`` is ``name`` and whose message starts with it."""
    try:
        value = to_decimal(text, name)  # the domain's rules: finite, bounded, no float
    except InvalidValue as error:
        problem = f"{error.problem} (was {text!r})"
        raise BacktestError(f"{name} {problem}", field=name, problem=problem) from None
    if value < 0 or (positive and value == 0):
        problem = f"must be a {'positive' if positive else 'non-negative'} number (was {text})"
        raise BacktestError(f"{name} {problem}", field=name, problem=problem)
    return value
