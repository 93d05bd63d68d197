"""``tradeplane backtest``: replay history through the live engine, measure it, report it.

One run::

    tradeplane backtest --data BTCUSDT-1m-2024-*.zip --strategy sma_crossover \\
        --param fast=20 --param slow=100 --capital 10000 --fees-bps 10 --report out/

A sweep (any ``--param`` given as ``a..b:step`` or ``a,b,c``) runs the grid across processes
and ranks the runs by ``--rank-by``; ``--report`` then describes the best one.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.historical import (
    HistoricalDataError,
    ReadStats,
    instrument_id_from_file_name,
    parse_binance_file_name,
    read_merged,
)
from application.backtest import BacktestProgress, BacktestResult, BacktestRunner, ReplayClock
from domain.errors import DomainError, InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId
from domain.market_data import Bar, MarketEvent
from domain.performance import PerformanceConfig, PerformanceReport, compute_performance
from domain.strategies import create_strategy
from domain.values import to_decimal
from entrypoints.config import ConfigError, Settings, load_settings, parse_settings

if TYPE_CHECKING:
    from entrypoints.backtest_runs import OpenedResults

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
LOWER_IS_BETTER = {"max_drawdown"}
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


@dataclass(slots=True)
class BacktestOutcome:
    spec: BacktestSpec
    result: BacktestResult
    metrics: PerformanceReport
    instrument: str
    quote: str
    seconds: float
    stats: list[ReadStats]


def settings_for(spec: BacktestSpec, instrument_id: str) -> Settings:
    """The engine configuration of a run: the paper broker filling at the last trade price,
    one strategy, no risk limits unless ``--config`` brings its [risk] and [[instruments]]."""
    base = load_settings(Path(spec.config), environ={}) if spec.config else None
    instrument: dict[str, Any] | None = None
    if base is not None:
        for known in base.instruments:
            if known.id == instrument_id:
                instrument = {
                    "id": str(known.id),
                    "base": known.base,
                    "quote": known.quote,
                    "price_tick": str(known.price_tick),
                    "lot_size": str(known.lot_size),
                    "min_quantity": str(known.min_quantity),
                    "min_notional": str(known.min_notional),
                }
    if instrument is None:
        symbol = instrument_id.partition(".")[0]
        base_asset, quote_asset = _split_symbol(symbol)
        instrument = {
            "id": instrument_id,
            "base": base_asset,
            "quote": quote_asset,
            "price_tick": "0.00000001",
            "lot_size": "0.00000001",
        }
    sizing: dict[str, Any] = (
        {"kind": "fixed_quantity", "quantity": str(spec.quantity)}
        if spec.quantity is not None
        else {"kind": "fixed_fraction", "fraction": str(spec.fraction)}
    )
    fees = str(spec.fees_bps)
    raw: dict[str, Any] = {
        "engine": {"name": "backtest", "order_id_prefix": "BT", "valuation_currency": instrument["quote"]},
        "account": {"balances": {instrument["quote"]: str(spec.capital)}},
        "instruments": [instrument],
        "broker": {
            "kind": "paper",
            "maker_fee_bps": fees,
            "taker_fee_bps": fees,
            "slippage_bps": str(spec.slippage_bps),
            "last_trade_liquidity": True,
        },
        "strategies": [
            {
                "id": spec.strategy,
                "kind": spec.strategy,
                "instruments": [instrument_id],
                "params": dict(spec.params),
                "sizing": sizing,
                "allow_short": spec.allow_short,
            }
        ],
        "storage": {"kind": "memory"},
        "grpc": {"enabled": False},
    }
    settings = parse_settings(raw, source="<backtest>")
    if base is not None:
        settings = replace(settings, risk=base.risk, stops=base.stops)
    return settings


QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB", "TRY")


def _split_symbol(symbol: str) -> tuple[str, str]:
    for quote in QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    problem = f"cannot tell the quote currency of {symbol!r}; give --config with its [[instruments]] entry"
    raise BacktestError(problem, field="instrument", problem=problem)


def check_strategy(strategy: str, params: Mapping[str, str]) -> None:
    """Refuse an unknown strategy or parameters it would refuse, before any data is read.

    Raises BacktestError with ``field`` "strategy" or "params.NAME".
    """
    try:
        create_strategy(strategy, strategy_id="check", instrument_ids=["CHECK.CHECK"], params=params)
    except InvalidParameter as error:
        field = "strategy" if error.field == "strategy" else f"params.{error.field}"
        problem = f"{error.problem} (was {error.value!r})"
        raise BacktestError(str(error), field=field, problem=problem) from None


def run_backtest(
    spec: BacktestSpec,
    *,
    progress: bool | Callable[[BacktestProgress], None] = False,
    progress_every: int = 100_000,
) -> BacktestOutcome:
    """One run, start to end; raises BacktestError for data or parameters that cannot run.

    ``progress``: True draws a progress line on stderr; a callable is called with a
    ``BacktestProgress`` every ``progress_every`` events and once at the end.
    """
    stats: list[ReadStats] = []
    closers: list[Callable[[], None]] = []
    instrument_id, events = _open_events(spec, stats, closers)
    try:
        return _replay(
            spec, instrument_id, events, stats=stats, progress=progress, progress_every=progress_every
        )
    finally:
        for close in closers:
            close()


def _replay(
    spec: BacktestSpec,
    instrument_id: str,
    events: Iterator[MarketEvent],
    *,
    stats: list[ReadStats],
    progress: bool | Callable[[BacktestProgress], None],
    progress_every: int,
) -> BacktestOutcome:
    from entrypoints.container import bootstrap  # the composition root: imported when used

    try:
        first = next(events, None)
    except HistoricalDataError as error:
        raise BacktestError(str(error), field="data") from None
    if first is None:
        raise BacktestError(f"no market data in {_source(spec)}", field="data")
    if isinstance(first, Bar) and "source" not in spec.params:
        spec = replace(spec, params={**spec.params, "source": "bar"})  # bars drive the strategy
    try:
        settings = settings_for(spec, instrument_id)
    except ConfigError as error:
        raise BacktestError(str(error)) from None
    clock = ReplayClock()
    try:
        engine = bootstrap(settings, clock=clock, feeds=[])
    except ConfigError as error:
        raise BacktestError(str(error)) from None
    bar = progress if callable(progress) else (_ProgressBar() if progress else None)
    runner = BacktestRunner(
        engine, clock, sample_ns=spec.sample_ns, progress_every=progress_every, on_progress=bar
    )
    started = time.perf_counter()
    try:
        result = runner.run(itertools.chain((first,), events))
    except HistoricalDataError as error:
        raise BacktestError(str(error), field="data") from None
    finally:
        engine.close()
    seconds = time.perf_counter() - started
    if not result.events:
        raise BacktestError(f"no market data in {_source(spec)}", field="data")
    try:
        metrics = compute_performance(
            result.equity_curve,
            result.fills,
            starting_capital=spec.capital,
            start_ns=result.first_ts,
            end_ns=result.last_ts,
            config=PerformanceConfig(),
        )
    except DomainError as error:
        raise BacktestError(f"measuring the run failed: {error}") from None
    quote = settings.engine.valuation_currency
    return BacktestOutcome(spec, result, metrics, instrument_id, quote, seconds, stats)


def _open_events(
    spec: BacktestSpec, stats: list[ReadStats], closers: list[Callable[[], None]]
) -> tuple[str, Iterator[MarketEvent]]:
    """The instrument and the time-ordered events of ``spec``: its files, or the store."""
    if spec.from_store and not spec.instrument:
        raise BacktestError("--from-store needs --instrument SYMBOL.VENUE", field="instrument")
    try:
        instrument_id = spec.instrument or str(instrument_id_from_file_name(spec.data[0]))
    except (HistoricalDataError, ValueError) as error:
        raise BacktestError(
            f"{error}; give --instrument SYMBOL.VENUE",
            field="instrument",
            problem=f"{error}; give the instrument as SYMBOL.VENUE",
        ) from None
    events: Iterator[MarketEvent]
    if spec.from_store:
        events = _store_events(spec, instrument_id, closers)
    else:
        _check_files(spec.data, instrument_id)
        events = read_merged(list(spec.data), instrument_id, skip_bad_rows=spec.skip_bad_rows, stats=stats)
    return instrument_id, events


def _check_files(paths: Sequence[str], instrument_id: str) -> None:
    """One run replays one instrument and one kind of data: files named for another symbol,
    a mix of trades and klines, or the same file twice would silently corrupt the history."""
    resolved = [Path(path).resolve() for path in paths]
    twice = sorted({str(p) for p in resolved if resolved.count(p) > 1})
    if twice:
        raise BacktestError(f"--data: {', '.join(twice)} given more than once", field="data")
    symbol = instrument_id.partition(".")[0]
    kinds = set()
    for path in paths:
        try:
            name = parse_binance_file_name(path)
        except HistoricalDataError:
            continue  # not a Binance name: nothing to check it against
        if name.symbol != symbol:
            raise BacktestError(
                f"--data: {Path(path).name} holds {name.symbol}, not {instrument_id} (one instrument a run)",
                field="data",
            )
        kinds.add(name.is_klines)
    if len(kinds) > 1:
        raise BacktestError("--data: trades and klines in one run; replay one kind of data", field="data")


def _source(spec: BacktestSpec) -> str:
    if not spec.from_store:
        return ", ".join(spec.data)
    from entrypoints.backtest_report import format_time

    since = "the start" if spec.start_ns is None else f"{format_time(spec.start_ns)} UTC"
    until = "the end" if spec.end_ns is None else f"{format_time(spec.end_ns)} UTC"
    return f"the market-data store for {spec.instrument} from {since} to {until}"


def _store_events(
    spec: BacktestSpec, instrument_id: str, closers: list[Callable[[], None]]
) -> Iterator[MarketEvent]:
    """What a live run recorded in the market-data store of ``spec.config`` (its [storage])."""
    from adapters.persistence.market_history import read_history
    from adapters.persistence.migrate import is_blank
    from entrypoints.storage import open_engines

    try:
        settings = load_settings(Path(spec.config), environ={}) if spec.config else load_settings(environ={})
    except ConfigError as error:
        raise BacktestError(f"--from-store: {error}") from None
    if settings.storage.kind != "sql":
        raise BacktestError("--from-store: the configuration keeps no market data ([storage] kind is memory)")
    url = settings.storage.urls()["market_data"]
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise BacktestError(f"--from-store: no market-data store at {url}", field="data")
    try:
        engine = open_engines(replace(settings.storage, trades_url=url, signals_url=url))["market_data"]
    except ConfigError as error:
        raise BacktestError(f"--from-store: {error}") from None
    closers.append(engine.dispose)
    if is_blank(engine):
        raise BacktestError(f"--from-store: {url} holds no market data (no tables)", field="data")
    return read_history(engine, InstrumentId(instrument_id), start_ns=spec.start_ns, end_ns=spec.end_ns)


class _ProgressBar:
    """A one-line progress report on stderr for long runs (events and the replayed date)."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, progress: BacktestProgress) -> None:
        now = time.monotonic()
        if not progress.done and now - self._last < 0.5:
            return
        self._last = now
        from entrypoints.backtest_report import format_time

        day = format_time(progress.ts_event)[:16] if progress.ts_event else "-"
        end = "\n" if progress.done else ""
        print(
            f"\r  {progress.events:>12,} events replayed, at {day} UTC", end=end, file=sys.stderr, flush=True
        )


# -- parameters and sweeps -----------------------------------------------------------------------


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


def rank_key(metric: str) -> Any:
    def key(outcome: BacktestOutcome) -> tuple[bool, float]:
        value = getattr(outcome.metrics, metric)
        if value is None:
            return (True, 0.0)
        number = float(value)
        return (False, number if metric in LOWER_IS_BETTER else -number)

    return key


def _sweep_one(spec: BacktestSpec) -> BacktestOutcome | str:
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


# -- output ----------------------------------------------------------------------------------------


def outcome_json(outcome: BacktestOutcome, *, trades: bool = True) -> dict[str, Any]:
    result = outcome.result
    return {
        "instrument": outcome.instrument,
        "strategy": outcome.spec.strategy,
        "params": dict(outcome.spec.params),
        "capital": str(outcome.spec.capital),
        "fees_bps": str(outcome.spec.fees_bps),
        "data": list(outcome.spec.data),
        "events": result.events,
        "first_ts": result.first_ts,
        "last_ts": result.last_ts,
        "signals": result.signals,
        "orders": result.orders,
        "fills": len(result.fills),
        "seconds": round(outcome.seconds, 3),
        "events_per_second": round(result.events / outcome.seconds) if outcome.seconds else None,
        "skipped_rows": sum(s.skipped_total for s in outcome.stats),
        "metrics": outcome.metrics.as_dict(trades=trades),
    }


def _report(outcome: BacktestOutcome, directory: Path) -> Path:
    from entrypoints.backtest_report import write_report

    spec = outcome.spec
    parameters = {
        "strategy": spec.strategy,
        **{k: str(v) for k, v in spec.params.items()},
        "capital": f"{spec.capital} {outcome.quote}",
        "fees_bps": str(spec.fees_bps),
        "slippage_bps": str(spec.slippage_bps),
        "data": ", ".join(Path(p).name for p in spec.data),
    }
    files = write_report(
        directory,
        title=f"{spec.strategy} on {outcome.instrument}",
        metrics=outcome.metrics,
        equity_curve=outcome.result.equity_curve,
        prices=next(iter(outcome.result.prices.values()), []),
        parameters=parameters,
        fills=outcome.result.fills,
        instrument=outcome.instrument,
        currency=outcome.quote,
    )
    return files.html


# -- the command -----------------------------------------------------------------------------------


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "backtest", help="replay recorded trades or bars through the live engine and measure it"
    )
    parser.add_argument(
        "--data",
        nargs="+",
        metavar="FILE",
        help="Binance CSV dumps (trades or klines; .csv, .csv.gz, .zip); required unless --list",
    )
    parser.add_argument(
        "--strategy", help="built-in strategy, e.g. sma_crossover; required unless --list (then a filter)"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="strategy parameter; FROM..TO:STEP or A,B,C makes a sweep",
    )
    parser.add_argument("--instrument", help="SYMBOL.VENUE (default: from the file name)")
    parser.add_argument("--capital", default="10000", help="starting cash in the quote currency")
    parser.add_argument("--fees-bps", default="10", help="fee per fill in basis points (maker and taker)")
    parser.add_argument("--slippage-bps", default="0", help="taker slippage in basis points")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--fraction", default=None, help="size each entry at this fraction of equity (0.95)")
    size.add_argument("--quantity", default=None, help="size each entry at this fixed quantity")
    parser.add_argument("--allow-short", action="store_true", help="let sell signals open short positions")
    parser.add_argument(
        "--config",
        help="a TOML config whose [risk], [stops] and [[instruments]] apply, and whose [storage]"
        " keeps --store'd runs (default data/tradeplane.db)",
    )
    parser.add_argument(
        "--store", action="store_true", help="store the run (every run of a sweep) and print its run id"
    )
    parser.add_argument(
        "--list", action="store_true", help="list the stored runs, newest first (of --strategy if given)"
    )
    parser.add_argument("--limit", type=int, default=50, help="how many runs --list shows (default 50)")
    parser.add_argument("--skip-bad-rows", action="store_true", help="skip and count malformed rows")
    parser.add_argument(
        "--from-store",
        action="store_true",
        help="replay what a live run recorded: the market-data store of --config (needs --instrument)",
    )
    parser.add_argument(
        "--start", help="with --from-store: from this UTC time (2024-01-31 or 2024-01-31T12:00)"
    )
    parser.add_argument("--end", help="with --from-store: up to this UTC time (excluded)")
    parser.add_argument("--report", type=Path, metavar="DIR", help="write equity.png, price.png, report.html")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the result (or the sweep) as JSON")
    parser.add_argument("--rank-by", default="sharpe_ratio", choices=RANKABLE, help="sweep ranking metric")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="sweep processes (all cores)")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    parser.set_defaults(handler=_main)


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


def parse_time(text: str | None, option: str) -> int | None:
    """``2024-01-31`` or ``2024-01-31T12:00[:00]`` (UTC) as nanoseconds since the epoch."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BacktestError(
            f"{option} must be a UTC date or time like 2024-01-31T12:00 (was {text!r})"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse output paths that cannot be written before the run, not after it."""
    if args.report is not None and args.report.exists() and not args.report.is_dir():
        raise BacktestError(f"--report {args.report}: exists and is not a folder")
    if args.json is not None:
        if args.json.is_dir():
            raise BacktestError(f"--json {args.json}: is a folder; give a file name")
        if not args.json.parent.is_dir():
            raise BacktestError(f"--json {args.json}: the folder {args.json.parent} does not exist")


def specs_from(args: argparse.Namespace) -> list[BacktestSpec]:
    from_store = getattr(args, "from_store", False)
    if from_store and args.data:
        raise BacktestError("give either --data files or --from-store, not both")
    if (not args.data and not from_store) or not args.strategy:
        missing_options = " and ".join(
            name
            for name, value in (("--data", args.data or from_store), ("--strategy", args.strategy))
            if not value
        )
        raise BacktestError(f"{missing_options} must be given to run a backtest (only --list needs neither)")
    start_ns, end_ns = parse_time(args.start, "--start"), parse_time(args.end, "--end")
    if (start_ns is not None or end_ns is not None) and not from_store:
        raise BacktestError("--start and --end choose a range of --from-store; files are replayed whole")
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        raise BacktestError("--end must be after --start")
    missing = [path for path in args.data or () if not Path(path).is_file()]
    if missing:
        raise BacktestError(f"--data: no such file: {', '.join(missing)}")
    if args.instrument is not None:
        try:
            InstrumentId(args.instrument)
        except ValueError as error:
            raise BacktestError(f"--instrument: {error}") from None
    if args.jobs < 1:
        raise BacktestError(f"--jobs must be 1 or more (was {args.jobs})")
    _check_outputs(args)
    base = BacktestSpec(
        data=tuple(str(p) for p in args.data or ()),
        strategy=args.strategy,
        from_store=from_store,
        start_ns=start_ns,
        end_ns=end_ns,
        instrument=args.instrument,
        capital=parse_amount(args.capital, "--capital"),
        fees_bps=parse_amount(args.fees_bps, "--fees-bps", positive=False),
        slippage_bps=parse_amount(args.slippage_bps, "--slippage-bps", positive=False),
        fraction=parse_amount(args.fraction, "--fraction")
        if args.fraction
        else (None if args.quantity else DEFAULT_FRACTION),
        quantity=parse_amount(args.quantity, "--quantity") if args.quantity else None,
        allow_short=args.allow_short,
        skip_bad_rows=args.skip_bad_rows,
        config=args.config,
    )
    specs = [replace(base, params=params) for params in grid(args.param)]
    # A single run is checked whole before any data is read; a sweep only for its strategy,
    # since some combinations of a grid (fast >= slow) are expected to fail on their own.
    check_strategy(args.strategy, specs[0].params if len(specs) == 1 else {})
    return specs


def _main(args: argparse.Namespace) -> int:
    from entrypoints import backtest_runs

    try:
        if args.list:
            return backtest_runs.list_command(args.config, strategy=args.strategy, limit=args.limit)
        specs = specs_from(args)
        store = backtest_runs.store_for(args.config) if args.store else None
        try:
            if len(specs) == 1:
                return _one(specs[0], args, store)
            return _sweep(specs, args, store)
        finally:
            if store is not None:
                store.close()
    except BacktestError as error:
        print(f"tradeplane backtest: {error}", file=sys.stderr)
        return 2


def _one(spec: BacktestSpec, args: argparse.Namespace, store: OpenedResults | None) -> int:
    outcome = run_backtest(spec, progress=not args.no_progress and sys.stderr.isatty())
    _print_one(outcome)
    if store is not None:
        print(f"stored as run {_save(store, outcome)}")
    if args.json:
        args.json.write_text(json.dumps(outcome_json(outcome), indent=2) + "\n")
    if args.report:
        print(f"report: {_report(outcome, args.report)}")
    return 0


def _save(store: OpenedResults, outcome: BacktestOutcome) -> str:
    from entrypoints.backtest_runs import record_of

    return store.store.save(record_of(outcome))


def _print_one(outcome: BacktestOutcome) -> None:
    from entrypoints.backtest_report import format_metrics_table

    result = outcome.result
    rate = result.events / outcome.seconds if outcome.seconds else 0.0
    print(
        f"{outcome.spec.strategy} {dict(outcome.spec.params)} on {outcome.instrument}:"
        f" {result.events:,} events in {outcome.seconds:.2f}s ({rate:,.0f}/s),"
        f" {result.signals} signals, {result.orders} orders, {len(result.fills)} fills"
    )
    skipped = sum(s.skipped_total for s in outcome.stats)
    if skipped:
        print(f"skipped {skipped} malformed row(s) (--skip-bad-rows)")
    print(format_metrics_table(outcome.metrics))


def _sweep(specs: list[BacktestSpec], args: argparse.Namespace, store: OpenedResults | None) -> int:
    started = time.perf_counter()
    print(f"sweep: {len(specs)} runs on {min(args.jobs, len(specs))} process(es)", file=sys.stderr)
    outcomes, failures = run_sweep(specs, args.jobs)
    outcomes.sort(key=rank_key(args.rank_by))
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    header = f"{'rank':>4}  {'params':<40} {args.rank_by:>14} {'return':>10} {'max dd':>8} {'trades':>7}"
    print(header + ("  run id" if store is not None else ""))
    for rank, outcome in enumerate(outcomes, start=1):
        metrics = outcome.metrics
        value = getattr(metrics, args.rank_by)
        shown = "n/a" if value is None else f"{float(value):.4f}"
        params = " ".join(f"{k}={v}" for k, v in outcome.spec.params.items())
        run_id = f"  {_save(store, outcome)}" if store is not None else ""
        print(
            f"{rank:>4}  {params:<40} {shown:>14} {float(metrics.total_return):>10.2%}"
            f" {metrics.max_drawdown:>8.2%} {metrics.trade_count:>7}{run_id}"
        )
    print(f"{len(outcomes)} run(s) in {time.perf_counter() - started:.1f}s")
    if args.json:
        ranked = [outcome_json(o, trades=False) for o in outcomes]
        args.json.write_text(
            json.dumps({"rank_by": args.rank_by, "runs": ranked, "failures": failures}, indent=2) + "\n"
        )
    if args.report and outcomes:
        print(f"report of the best run: {_report(outcomes[0], args.report)}")
    return 0 if outcomes else 2


__all__ = ["BacktestError", "BacktestSpec", "run_backtest", "run_sweep"]
