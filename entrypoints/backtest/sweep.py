"""Parameter grids and sweeps: every combination of the given values, run across processes, ranked."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeAlias, overload

from domain.errors import DomainError
from entrypoints.backtest.formatting import format_count, format_params
from entrypoints.backtest.outcome import BacktestOutcome
from entrypoints.backtest.portfolio import PortfolioOutcome, run_portfolio
from entrypoints.backtest.portfolio_spec import PortfolioSpec
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import BacktestError, BacktestSpec, check_strategy

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


@dataclass(slots=True)
class SkippedCombinations:
    """The combinations of a grid the strategy refuses (``fast=20 slow=20``), set aside before
    the sweep runs: each with its reason, and how many gave each reason."""

    total: int = 0
    combinations: list[tuple[dict[str, str], str]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    def summary(self, strategy: str) -> str:
        """One line: how many were skipped of how many, and why."""
        why = "; ".join(f"{reason} ({format_count(count)})" for reason, count in self.reasons.most_common())
        return (
            f"skipped {format_count(len(self.combinations))} of {format_count(self.total)} parameter"
            f" combinations that {strategy} refuses: {why}"
        )

    def as_json(self) -> list[dict[str, object]]:
        return [{"params": params, "reason": reason} for params, reason in self.combinations]


_VALUE_IN_BRACKETS = re.compile(r"\s*\([^()]*\)")


def valid_combinations(
    strategy: str,
    combinations: Sequence[dict[str, str]],
    *,
    check: Callable[[dict[str, str]], None] | None = None,
) -> tuple[list[dict[str, str]], SkippedCombinations]:
    """The combinations ``strategy`` accepts, in order, and those it refuses with why.

    ``check`` raises BacktestError for a combination that cannot run (default: the refusals of
    the built-in strategy ``strategy``).

    Refusals are grouped by their message without the values in brackets, so "fast must be
    less than slow (20) (was 30)" and "... (40) (was 50)" count as one reason.
    """
    valid: list[dict[str, str]] = []
    skipped = SkippedCombinations(total=len(combinations))
    for params in combinations:
        try:
            if check is None:
                check_strategy(strategy, params)
            else:
                check(params)
        except BacktestError as error:
            skipped.combinations.append((params, str(error)))
            skipped.reasons[_VALUE_IN_BRACKETS.sub("", str(error))] += 1
        else:
            valid.append(params)
    return valid, skipped


Outcome: TypeAlias = BacktestOutcome | PortfolioOutcome
"""A finished run: of one strategy, or of a configuration's strategies."""


def rank_key(metric: str) -> Callable[[Outcome], tuple[bool, float]]:
    """A sort key putting the best run on ``metric`` first and runs without a value last."""

    def key(outcome: Outcome) -> tuple[bool, float]:
        value = getattr(outcome.metrics, metric)
        if value is None:
            return (True, 0.0)
        number = float(value)
        return (False, number if metric in LOWER_IS_BETTER else -number)

    return key


def _sweep_one(spec: BacktestSpec | PortfolioSpec) -> Outcome | str:
    """One run of a sweep (in a worker process when there are several): its outcome, or why it failed."""
    try:
        if isinstance(spec, PortfolioSpec):
            return run_portfolio(spec)
        return run_backtest(spec)
    except (BacktestError, DomainError, ValueError, OSError) as error:  # one run fails, the sweep goes on
        return f"{format_params(spec.params)}: {error}"


@overload
def run_sweep(
    specs: Sequence[BacktestSpec], jobs: int, *, on_run_done: Callable[[int, int], None] | None = None
) -> tuple[list[BacktestOutcome], list[str]]: ...


@overload
def run_sweep(
    specs: Sequence[PortfolioSpec], jobs: int, *, on_run_done: Callable[[int, int], None] | None = None
) -> tuple[list[PortfolioOutcome], list[str]]: ...


def run_sweep(
    specs: Sequence[BacktestSpec] | Sequence[PortfolioSpec],
    jobs: int,
    *,
    on_run_done: Callable[[int, int], None] | None = None,
) -> tuple[list[BacktestOutcome], list[str]] | tuple[list[PortfolioOutcome], list[str]]:
    """Each spec in its own process (``jobs`` at a time); outcomes in the order of ``specs``.

    ``on_run_done(done, total)`` is called as each run ends, whichever ends first.
    """
    total = len(specs)

    def finished(done: int) -> None:
        if on_run_done is not None:
            on_run_done(done, total)

    runs: list[BacktestSpec | PortfolioSpec] = list(specs)
    answers: list[Outcome | str | None] = [None] * total
    if jobs <= 1 or total == 1:
        for index, spec in enumerate(runs):
            answers[index] = _sweep_one(spec)
            finished(index + 1)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_sweep_one, spec): index for index, spec in enumerate(runs)}
            for done, future in enumerate(as_completed(futures), start=1):
                answers[futures[future]] = future.result()
                finished(done)
    failures = [a for a in answers if isinstance(a, str)]
    if specs and isinstance(specs[0], PortfolioSpec):
        return [a for a in answers if isinstance(a, PortfolioOutcome)], failures
    return [a for a in answers if isinstance(a, BacktestOutcome)], failures
