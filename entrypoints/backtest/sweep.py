"""Parameter grids and sweeps: every combination of the given values, run across processes, ranked."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal, InvalidOperation

from domain.errors import DomainError
from entrypoints.backtest.outcome import BacktestOutcome
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import BacktestError, BacktestSpec

RANKABLE = (
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "total_return",
    "annualized_return",
    "max_drawdown",
    "profit_factor",
    "win_rate",
    "net_profit",
)
"""The metrics a sweep can rank its runs by: higher is better, except those LOWER_IS_BETTER."""
LOWER_IS_BETTER = {"max_drawdown"}

MAX_RUNS = 100_000
"""Runs in one sweep at most: beyond, the grid is surely a typo (and would not finish)."""


def parse_param(text: str) -> tuple[str, list[str]]:
    """``k=v`` -> (k, [v]); ``k=a..b:step`` -> the range (inclusive); ``k=a,b,c`` -> the list."""
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise BacktestError(f"--param {text!r}: expected NAME=VALUE, NAME=FROM..TO:STEP or NAME=A,B,C")
    if ".." in value:
        bounds, _, step_text = value.partition(":")
        low_text, _, high_text = bounds.partition("..")
        try:
            low, high = Decimal(low_text), Decimal(high_text)
            step = Decimal(step_text) if step_text else Decimal(1)
        except InvalidOperation:
            raise BacktestError(f"--param {text!r}: FROM, TO and STEP must be numbers") from None
        if not (low.is_finite() and high.is_finite() and step.is_finite()) or step <= 0 or high < low:
            raise BacktestError(f"--param {text!r}: needs FROM <= TO and a positive STEP")
        try:
            count = int((high - low) / step) + 1
        except ArithmeticError:  # an exponent beyond the context's: no sane grid
            raise BacktestError(f"--param {text!r}: too many values; at most 10000 per parameter") from None
        if count > 10_000:
            raise BacktestError(f"--param {text!r}: {count} values; at most 10000 per parameter")
        return key, [str(low + i * step) for i in range(count)]
    values = [item for item in value.split(",") if item]
    if not values:
        raise BacktestError(f"--param {text!r}: no value")
    return key, values


def grid(params: Sequence[str]) -> list[dict[str, str]]:
    """Every combination of the given parameters, in a deterministic order."""
    parsed: dict[str, list[str]] = {}
    for text in params:
        key, values = parse_param(text)
        if key in parsed:
            raise BacktestError(f"--param {key} given twice")
        parsed[key] = values
    total = math.prod(len(values) for values in parsed.values())
    if total > MAX_RUNS:
        raise BacktestError(f"--param: the grid has {total:,} runs; at most {MAX_RUNS:,} in one sweep")
    keys = list(parsed)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(parsed[k] for k in keys))]


def rank_key(metric: str) -> Callable[[BacktestOutcome], tuple[bool, float]]:
    """A sort key putting the best run on ``metric`` first and runs without a value last."""

    def key(outcome: BacktestOutcome) -> tuple[bool, float]:
        value = getattr(outcome.metrics, metric)
        if value is None:
            return (True, 0.0)
        number = float(value)
        return (False, number if metric in LOWER_IS_BETTER else -number)

    return key


def _sweep_one(spec: BacktestSpec) -> BacktestOutcome | str:
    """One run of a sweep (in a worker process when there are several): its outcome, or why it failed."""
    try:
        return run_backtest(spec)
    except (BacktestError, DomainError, ValueError, OSError) as error:  # one run fails, the sweep goes on
        return f"{dict(spec.params)}: {error}"


def run_sweep(specs: Sequence[BacktestSpec], jobs: int) -> tuple[list[BacktestOutcome], list[str]]:
    """Each spec in its own process (``jobs`` at a time); outcomes in the order of ``specs``."""
    if jobs <= 1 or len(specs) == 1:
        answers = [_sweep_one(spec) for spec in specs]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            answers = list(pool.map(_sweep_one, specs))
    outcomes = [a for a in answers if isinstance(a, BacktestOutcome)]
    failures = [a for a in answers if isinstance(a, str)]
    return outcomes, failures
