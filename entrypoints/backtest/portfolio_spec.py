"""What a backtest of a configuration's ``[[strategies]]`` runs (``PortfolioSpec``) and its engine settings.

Without ``--strategy``, ``tradeplane backtest --config FILE`` replays every instrument the
configuration's enabled strategies use through one engine and one account, configured by the
file itself: its strategies (sizing, ``allow_short``), ``[[instruments]]``, ``[account]``
balances, ``[engine] valuation_currency``, ``[risk]``, ``[stops]`` and the paper broker's
``[broker]`` options (fees, slippage, account), as a live run of that file would be.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from application.backtest import HOUR_NS
from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId
from domain.strategies import create_strategy
from entrypoints.backtest.spec import BacktestError
from entrypoints.config import (
    ConfigError,
    GrpcSettings,
    RedisSettings,
    Settings,
    StorageSettings,
    StrategySettings,
    load_settings,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioSpec:
    """Everything one run of a configuration's strategies needs; picklable for a sweep's processes.

    ``params`` are the overrides as ``STRATEGY_ID.NAME`` -> value (the strategy id always
    written out), on top of the parameters of the file.
    """

    config: str
    data: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Instrument id -> its history files (empty with ``from_store``)."""
    params: Mapping[str, str] = field(default_factory=dict)
    from_store: bool = False
    start_ns: int | None = None
    end_ns: int | None = None
    skip_bad_rows: bool = False
    sample_ns: int = HOUR_NS

    @property
    def strategy(self) -> str:
        """How a sweep's messages name what runs: the configuration."""
        return f"the strategies of {self.config}"

    def overrides(self) -> dict[str, dict[str, str]]:
        """``params`` by strategy id: ``{"sma-btc": {"fast": "10"}}``."""
        by_strategy: dict[str, dict[str, str]] = {}
        for key, value in self.params.items():
            strategy_id, _, name = key.rpartition(".")
            by_strategy.setdefault(strategy_id, {})[name] = value
        return by_strategy


def load_config(path: str) -> Settings:
    """The configuration file, without environment overrides (a backtest repeats exactly)."""
    try:
        return load_settings(Path(path), environ={})
    except ConfigError as error:
        raise BacktestError(str(error)) from None


def enabled_strategies(settings: Settings) -> tuple[StrategySettings, ...]:
    """The strategies that trade; BacktestError when there is none."""
    strategies = tuple(entry for entry in settings.strategies if entry.enabled)
    if not strategies:
        raise BacktestError(
            f"{settings.source} has no enabled [[strategies]] entry to backtest; add one, or give --strategy"
        )
    return strategies


def instruments_used(strategies: Sequence[StrategySettings], settings: Settings) -> tuple[str, ...]:
    """Every instrument the strategies read, in the order of ``[[instruments]]`` (then of the
    strategies for any not listed there): events at the same time are replayed in this order."""
    used = {instrument for entry in strategies for instrument in entry.instruments}
    ordered = [instrument for instrument in settings.instrument_ids if instrument in used]
    for entry in strategies:
        ordered.extend(i for i in entry.instruments if i not in ordered)
    return tuple(ordered)


def users_of(instrument_id: str, strategies: Sequence[StrategySettings]) -> str:
    """The strategies reading ``instrument_id``, for a message: "sma-btc, pair"."""
    return ", ".join(entry.id for entry in strategies if instrument_id in entry.instruments)


def param_key(text_key: str, strategies: Sequence[StrategySettings]) -> str:
    """``--param`` key ``STRATEGY_ID.NAME`` (or ``NAME`` with one strategy) as ``STRATEGY_ID.NAME``."""
    ids = [entry.id for entry in strategies]
    strategy_id, dot, name = text_key.rpartition(".")
    if not dot:
        if len(ids) != 1:
            raise BacktestError(
                f"--param {text_key}: the configuration has {len(ids)} strategies; write"
                f" STRATEGY_ID.{text_key} (one of {', '.join(ids)})"
            )
        return f"{ids[0]}.{text_key}"
    if strategy_id not in ids or not name:
        raise BacktestError(
            f"--param {text_key}: no enabled strategy {strategy_id!r} in the configuration"
            f" (its strategies: {', '.join(ids)})"
        )
    return text_key


def merged_params(entry: StrategySettings, overrides: Mapping[str, str]) -> dict[str, object]:
    """The strategy's parameters from the file with ``overrides`` on top."""
    return {**entry.params, **overrides}


def check_overrides(strategies: Sequence[StrategySettings], params: Mapping[str, str]) -> None:
    """Refuse parameters a strategy would refuse, naming it; before any data is read."""
    spec = PortfolioSpec(config="", params=params)
    overrides = spec.overrides()
    for entry in strategies:
        if entry.id not in overrides:
            continue
        try:
            create_strategy(
                entry.kind,
                strategy_id=entry.id,
                instrument_ids=entry.instruments,
                params=merged_params(entry, overrides[entry.id]),
            )
        except InvalidParameter as error:
            problem = f"{error.problem} (was {error.value!r})"
            raise BacktestError(
                f"strategy {entry.id}: {error}", field=f"params.{entry.id}.{error.field}", problem=problem
            ) from None


def portfolio_settings(
    spec: PortfolioSpec, base: Settings, *, bar_driven: frozenset[str] = frozenset()
) -> Settings:
    """The engine configuration of the run: the file's, with the paper broker filling at the last
    trade price (history has no order book), nothing stored, no feeds, no gRPC, no shared cache,
    and the overridden parameters. Strategies in ``bar_driven`` (all their history is bars)
    read the bars' closes unless their parameters say otherwise.
    """
    if base.broker.kind != "paper":
        raise BacktestError(
            f"{base.source}: [broker] kind is {base.broker.kind!r}; a backtest trades on the paper broker:"
            ' use a configuration with [broker] kind = "paper" (its fees and account apply)'
        )
    typed = {str(instrument.id) for instrument in base.instruments}
    enabled = enabled_strategies(base)
    for instrument in instruments_used(enabled, base):
        if instrument not in typed:
            raise BacktestError(
                f"[[instruments]] {instrument}: a backtest reads no venue, so its entry must give its"
                " rules: base, quote, price_tick and lot_size (min_quantity, min_notional if any)"
            )
    overrides = spec.overrides()
    strategies = []
    for entry in enabled:
        params = merged_params(entry, overrides.get(entry.id, {}))
        if entry.id in bar_driven and "source" not in params:
            params["source"] = "bar"
        strategies.append(replace(entry, params=params))
    options = {**base.broker.options, "last_trade_liquidity": True}
    return replace(
        base,
        broker=replace(base.broker, options=options),
        strategies=tuple(strategies),
        instrument_ids=tuple(i for i in base.instrument_ids if i in typed),  # none read from a venue
        feeds=(),
        storage=StorageSettings(kind="memory"),
        grpc=GrpcSettings(enabled=False),
        redis=RedisSettings(),
    )


def parse_data_options(groups: Sequence[Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """``--data ID=FILES`` options as instrument id -> files.

    FILES is one path or glob pattern, or several separated by commas; the words after one
    ``ID=FILES`` that have no ``=`` are more files of that instrument (what a shell makes of
    ``ID=a.csv b.csv``). Raises BacktestError for a word with no instrument, a bad id, a
    pattern that matches nothing or a file that does not exist.
    """
    data: dict[str, list[str]] = {}
    current: str | None = None
    for group in groups:
        current = None  # each --data starts afresh
        for word in group:
            instrument, sep, files = word.partition("=")
            if sep and not Path(word).is_file():
                try:
                    current = str(InstrumentId(instrument))
                except (InvalidValue, ValueError) as error:
                    raise BacktestError(f"--data {word}: {error}", field="data") from None
                patterns = [item for item in files.split(",") if item]
            elif current is None:
                raise BacktestError(
                    f"--data {word}: name the instrument of each file, as --data SYMBOL.VENUE=FILES"
                    " (e.g. --data BTCUSDT.BINANCE=BTCUSDT-trades-2024-01.zip)",
                    field="data",
                )
            else:
                patterns = [word]
            if not patterns:
                raise BacktestError(f"--data {word}: no file given for {current}", field="data")
            for pattern in patterns:
                data.setdefault(current, []).extend(_expand(pattern))
    return {instrument: tuple(files) for instrument, files in data.items()}


def _expand(pattern: str) -> list[str]:
    if glob.has_magic(pattern):
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise BacktestError(f"--data: no file matches {pattern}", field="data")
        return matches
    if not Path(pattern).is_file():
        raise BacktestError(f"--data: no such file: {pattern}", field="data")
    return [pattern]
