"""``tradeplane backtest``: replay history through the live engine, measure it, report it.

One run::

    tradeplane backtest --data BTCUSDT-1m-2024-*.zip --strategy sma_crossover \\
        --param fast=20 --param slow=100 --capital 10000 --fees-bps 10 --report out/

A sweep (any ``--param`` given as ``a..b:step`` or ``a,b,c``) runs the grid across processes
and ranks the runs by ``--rank-by``; ``--report`` then describes the best one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.identifiers import InstrumentId
from entrypoints.backtest.formatting import (
    format_count,
    format_metric,
    format_metrics_table,
    format_params,
    format_percent,
    format_sections,
)
from entrypoints.backtest.outcome import BacktestOutcome, outcome_json, write_outcome_report
from entrypoints.backtest.portfolio import PortfolioOutcome, run_portfolio
from entrypoints.backtest.portfolio_history import check_histories
from entrypoints.backtest.portfolio_output import (
    format_breakdown,
    portfolio_json,
    portfolio_record,
    summary_line,
    write_portfolio_report,
)
from entrypoints.backtest.portfolio_spec import (
    PortfolioSpec,
    check_overrides,
    enabled_strategies,
    instruments_used,
    load_config,
    param_key,
    parse_data_options,
    users_of,
)
from entrypoints.backtest.progress import count_rows, replay_progress, sweep_progress
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.spec import (
    DEFAULT_FRACTION,
    BacktestError,
    BacktestSpec,
    check_strategy,
    parse_amount,
)
from entrypoints.backtest.sweep import (
    RANKABLE,
    Outcome,
    SkippedCombinations,
    grid,
    rank_key,
    run_sweep,
    valid_combinations,
)

if TYPE_CHECKING:
    from entrypoints.backtest.stored_runs import OpenedResults


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``backtest`` on the ``tradeplane`` command line."""
    parser = commands.add_parser(
        "backtest", help="replay recorded trades or bars through the live engine and measure it"
    )
    parser.add_argument(
        "--data",
        nargs="+",
        action="append",
        metavar="FILE",
        help="CSV history in Binance's layouts (trades or klines; .csv, .csv.gz, .zip); for the"
        " strategies of --config (no --strategy): SYMBOL.VENUE=FILES for each instrument, repeatable",
    )
    parser.add_argument(
        "--strategy",
        help="built-in strategy, e.g. sma_crossover (then a filter for --list); without it,"
        " --config's [[strategies]] run together on one account",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="strategy parameter; FROM..TO:STEP or A,B,C makes a sweep",
    )
    parser.add_argument("--instrument", help="SYMBOL.VENUE (default: from the file name)")
    parser.add_argument("--capital", help="starting cash in the quote currency (10000)")
    parser.add_argument("--fees-bps", help="fee per fill in basis points, maker and taker (10)")
    parser.add_argument("--slippage-bps", help="taker slippage in basis points (0)")
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
        help="replay what a live run recorded: the market-data store of --config (needs --instrument"
        " with --strategy)",
    )
    parser.add_argument(
        "--start", help="with --from-store: from this UTC time (2024-01-31 or 2024-01-31T12:00)"
    )
    parser.add_argument("--end", help="with --from-store: up to this UTC time (excluded)")
    parser.add_argument("--report", type=Path, metavar="DIR", help="write equity.png, price.png, report.html")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the result (or the sweep) as JSON")
    parser.add_argument("--rank-by", default="sharpe_ratio", choices=RANKABLE, help="sweep ranking metric")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="sweep processes (all cores)")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress on stderr (a bar on a terminal, a line per tenth of the run elsewhere)",
    )
    parser.set_defaults(handler=_main)


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


def write_json(path: Path, document: dict[str, Any]) -> None:
    """``document`` as indented JSON, written as it is encoded: a run's list of trades would
    otherwise be held a second time as one string, and its pieces before they are joined."""
    with path.open("w") as out:
        json.dump(document, out, indent=2)
        out.write("\n")


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse output paths that cannot be written before the run, not after it."""
    if args.report is not None and args.report.exists() and not args.report.is_dir():
        raise BacktestError(f"--report {args.report}: exists and is not a folder")
    if args.json is not None:
        if args.json.is_dir():
            raise BacktestError(f"--json {args.json}: is a folder; give a file name")
        if not args.json.parent.is_dir():
            raise BacktestError(f"--json {args.json}: the folder {args.json.parent} does not exist")


def specs_from(args: argparse.Namespace) -> tuple[list[BacktestSpec], SkippedCombinations]:
    """The runs the arguments ask for (one, or a sweep's grid) and the combinations of a grid
    the strategy refuses (set aside); BacktestError if they cannot run."""
    from_store = getattr(args, "from_store", False)
    if args.data and not isinstance(args.data[0], str):  # --data given several times
        args.data = [path for group in args.data for path in group]
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
        capital=parse_amount(args.capital or "10000", "--capital"),
        fees_bps=parse_amount(args.fees_bps or "10", "--fees-bps", positive=False),
        slippage_bps=parse_amount(args.slippage_bps or "0", "--slippage-bps", positive=False),
        fraction=parse_amount(args.fraction, "--fraction")
        if args.fraction
        else (None if args.quantity else DEFAULT_FRACTION),
        quantity=parse_amount(args.quantity, "--quantity") if args.quantity else None,
        allow_short=args.allow_short,
        skip_bad_rows=args.skip_bad_rows,
        config=args.config,
    )
    combinations = grid(args.param)
    if len(combinations) == 1:  # a single run is checked whole before any data is read
        check_strategy(args.strategy, combinations[0])
        return [replace(base, params=combinations[0])], SkippedCombinations(total=1)
    # A grid crosses ranges, so some combinations (fast >= slow) are expected to be refused:
    # they are set aside and counted; the grid fails only when nothing in it can run.
    check_strategy(args.strategy, {})
    valid, skipped = valid_combinations(args.strategy, combinations)
    if not valid:
        raise BacktestError(skipped.summary(args.strategy).replace("skipped", "no run left:", 1))
    return [replace(base, params=params) for params in valid], skipped


def _main(args: argparse.Namespace) -> int:
    try:
        if args.config is not None:  # all of it, before a store is opened or a file read
            _check_config(args.config)
        if args.list:
            return _list(args.config, strategy=args.strategy, limit=args.limit)
        if args.strategy is None and args.config is not None:
            return _portfolio(args)
        specs, skipped = specs_from(args)
        store = _store_of(args)
        try:
            if skipped.total == 1:
                return _one(specs[0], args, store)
            return _sweep(specs, skipped, args, store)
        finally:
            if store is not None:
                store.close()
    except BacktestError as error:
        print(f"tradeplane backtest: {error}", file=sys.stderr)
        return 2


def _store_of(args: argparse.Namespace) -> OpenedResults | None:
    """The results store when ``--store`` asks for one; None otherwise."""
    if not args.store:
        return None
    from entrypoints.backtest import stored_runs  # sqlalchemy: only when a run is stored

    return stored_runs.store_for(args.config)


def _check_config(config: str) -> None:
    from entrypoints.config import ConfigError
    from entrypoints.validation import load_validated

    try:
        load_validated(Path(config))
    except ConfigError as error:
        raise BacktestError(str(error)) from None


def _list(config: str | None, *, strategy: str | None, limit: int) -> int:
    """``--list``: print the stored runs, newest first."""
    from entrypoints.backtest.stored_runs import format_runs, open_results, storage_of
    from entrypoints.config import ConfigError

    if limit < 1:
        raise BacktestError(f"--limit must be at least 1 (was {limit})")
    storage = storage_of(config)
    if storage.kind != "sql":
        raise BacktestError(f'--list: the configuration {config} keeps nothing ([storage] kind = "memory")')
    try:
        opened = open_results(storage, create=False)
    except ConfigError as error:
        raise BacktestError(f"--list: {error}") from None
    if opened is None:
        print(f"no stored backtest runs: there is no database at {storage.urls()['trades']} yet")
        return 0
    try:
        records = opened.store.list(strategy=strategy, limit=limit)
    finally:
        opened.close()
    if not records:
        print("no stored backtest runs" + (f" of {strategy}" if strategy else ""))
        return 0
    print(format_runs(records))
    return 0


def _one(spec: BacktestSpec, args: argparse.Namespace, store: OpenedResults | None) -> int:
    if args.no_progress:
        outcome = run_backtest(spec)
    else:
        total = None if spec.from_store else count_rows(spec.data)
        with replay_progress(sys.stderr, total) as progress:
            outcome = run_backtest(spec, progress=progress)
    _print_one(outcome)
    if store is not None:
        print(f"stored as run {_save(store, outcome)}")
    if args.json:
        write_json(args.json, outcome_json(outcome))
    if args.report:
        print(f"report: {write_outcome_report(outcome, args.report)}")
    return 0


def _save(store: OpenedResults, outcome: Outcome) -> str:
    from entrypoints.backtest.stored_runs import record_of

    if isinstance(outcome, PortfolioOutcome):
        return store.store.save(portfolio_record(outcome))
    return store.store.save(record_of(outcome))


def _print_one(outcome: BacktestOutcome) -> None:
    result = outcome.result
    rate = result.events / outcome.seconds if outcome.seconds else 0.0
    print(
        f"{outcome.spec.strategy} {format_params(outcome.spec.params)} on {outcome.instrument}:"
        f" {format_count(result.events)} events in {outcome.seconds:.2f}s ({format_count(round(rate))}/s),"
        f" {format_count(result.signals)} signals, {format_count(result.orders)} orders,"
        f" {format_count(len(result.fills))} fills, {format_count(outcome.refusals.total)} refused by risk"
    )
    skipped = sum(s.skipped_total for s in outcome.stats)
    if skipped:
        print(f"skipped {format_count(skipped)} malformed row(s) (--skip-bad-rows)")
    print(format_metrics_table(outcome.metrics, outcome.refusals))
    if outcome.ml is not None:
        print(format_sections(outcome.ml.rows()))


def _sweep(
    specs: list[BacktestSpec] | list[PortfolioSpec],
    skipped: SkippedCombinations,
    args: argparse.Namespace,
    store: OpenedResults | None,
) -> int:
    started = time.perf_counter()
    if skipped.combinations:
        print(skipped.summary(specs[0].strategy), file=sys.stderr)
    jobs = min(args.jobs, len(specs))
    print(f"sweep: {format_count(len(specs))} runs on {format_count(jobs)} process(es)", file=sys.stderr)
    outcomes: list[Outcome]
    if args.no_progress:
        outcomes, failures = _run_sweep(specs, args.jobs, None)
    else:
        with sweep_progress(sys.stderr, len(specs)) as progress:
            outcomes, failures = _run_sweep(specs, args.jobs, progress)
    outcomes.sort(key=rank_key(args.rank_by))
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    width = max([40, *(len(format_params(o.spec.params)) for o in outcomes)])
    header = f"{'rank':>4}  {'params':<{width}} {args.rank_by:>14} {'return':>10} {'max dd':>8} {'trades':>7}"
    print(header + ("  run id" if store is not None else ""))
    for rank, outcome in enumerate(outcomes, start=1):
        metrics = outcome.metrics
        shown = format_metric(args.rank_by, getattr(metrics, args.rank_by))
        params = format_params(outcome.spec.params)
        run_id = f"  {_save(store, outcome)}" if store is not None else ""
        print(
            f"{rank:>4}  {params:<{width}} {shown:>14} {format_percent(metrics.total_return):>10}"
            f" {format_percent(metrics.max_drawdown):>8} {format_count(metrics.trade_count):>7}{run_id}"
        )
    print(f"{format_count(len(outcomes))} run(s) in {time.perf_counter() - started:.1f}s")
    if args.json:
        document = {
            "rank_by": args.rank_by,
            "runs": [_json_of(o, trades=False) for o in outcomes],
            "failures": failures,
            "skipped": skipped.as_json(),
        }
        write_json(args.json, document)
    if args.report and outcomes:
        print(f"report of the best run: {_report_of(outcomes[0], args.report)}")
    return 0 if outcomes else 2


def _run_sweep(
    specs: list[BacktestSpec] | list[PortfolioSpec],
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[Outcome], list[str]]:
    outcomes, failures = run_sweep(specs, jobs, on_run_done=progress)
    return list(outcomes), failures


def _json_of(outcome: Outcome, *, trades: bool = True) -> dict[str, Any]:
    if isinstance(outcome, PortfolioOutcome):
        return portfolio_json(outcome, trades=trades)
    return outcome_json(outcome, trades=trades)


def _report_of(outcome: Outcome, directory: Path) -> Path:
    if isinstance(outcome, PortfolioOutcome):
        return write_portfolio_report(outcome, directory)
    return write_outcome_report(outcome, directory)


# --- the strategies of a configuration, on one account ------------------------------------------

_SINGLE_ONLY = (
    ("instrument", "--instrument"),
    ("capital", "--capital"),
    ("fees_bps", "--fees-bps"),
    ("slippage_bps", "--slippage-bps"),
    ("fraction", "--fraction"),
    ("quantity", "--quantity"),
)


def portfolio_specs_from(args: argparse.Namespace) -> tuple[list[PortfolioSpec], SkippedCombinations]:
    """The runs of ``--config``'s strategies the arguments ask for (one, or a sweep's grid over
    their parameters) and the combinations set aside; BacktestError if they cannot run."""
    given = [option for name, option in _SINGLE_ONLY if getattr(args, name, None) is not None]
    if args.allow_short:
        given.append("--allow-short")
    if given:
        raise BacktestError(
            f"{', '.join(given)}: without --strategy the strategies of --config run as configured:"
            " [account] balances, [broker] fees, slippage and account, each strategy's instruments,"
            " sizing and allow_short"
        )
    from_store = getattr(args, "from_store", False)
    if from_store and args.data:
        raise BacktestError("give either --data files or --from-store, not both")
    if not from_store and not args.data:
        raise BacktestError(
            "give each instrument's history as --data SYMBOL.VENUE=FILES, or --from-store"
            " (or --strategy to backtest one strategy)"
        )
    start_ns, end_ns = parse_time(args.start, "--start"), parse_time(args.end, "--end")
    if (start_ns is not None or end_ns is not None) and not from_store:
        raise BacktestError("--start and --end choose a range of --from-store; files are replayed whole")
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        raise BacktestError("--end must be after --start")
    if args.jobs < 1:
        raise BacktestError(f"--jobs must be 1 or more (was {args.jobs})")
    _check_outputs(args)
    settings = load_config(args.config)
    strategies = enabled_strategies(settings)
    data = parse_data_options(args.data or [])
    if not from_store:
        instruments = instruments_used(strategies, settings)
        check_histories(instruments, data, lambda instrument: users_of(instrument, strategies))
    base = PortfolioSpec(
        config=args.config,
        data=data,
        from_store=from_store,
        start_ns=start_ns,
        end_ns=end_ns,
        skip_bad_rows=args.skip_bad_rows,
    )
    params = []
    for text in args.param:
        key, sep, value = text.partition("=")
        params.append(f"{param_key(key, strategies)}{sep}{value}" if sep and key else text)
    combinations = grid(params)
    if len(combinations) == 1:
        check_overrides(strategies, combinations[0])
        return [replace(base, params=combinations[0])], SkippedCombinations(total=1)
    valid, skipped = valid_combinations(
        base.strategy, combinations, check=lambda combination: check_overrides(strategies, combination)
    )
    if not valid:
        raise BacktestError(skipped.summary(base.strategy).replace("skipped", "no run left:", 1))
    return [replace(base, params=params) for params in valid], skipped


def _portfolio(args: argparse.Namespace) -> int:
    specs, skipped = portfolio_specs_from(args)
    store = _store_of(args)
    try:
        if skipped.total == 1:
            return _portfolio_one(specs[0], args, store)
        return _sweep(specs, skipped, args, store)
    finally:
        if store is not None:
            store.close()


def _portfolio_one(spec: PortfolioSpec, args: argparse.Namespace, store: OpenedResults | None) -> int:
    if args.no_progress:
        outcome = run_portfolio(spec)
    else:
        total = None if spec.from_store else count_rows([p for files in spec.data.values() for p in files])
        with replay_progress(sys.stderr, total) as progress:
            outcome = run_portfolio(spec, progress=progress)
    print(summary_line(outcome))
    skipped = sum(s.skipped_total for s in outcome.stats)
    if skipped:
        print(f"skipped {format_count(skipped)} malformed row(s) (--skip-bad-rows)")
    print(format_metrics_table(outcome.metrics, outcome.refusals))
    print(format_breakdown(outcome))
    if store is not None:
        print(f"stored as run {_save(store, outcome)}")
    if args.json:
        write_json(args.json, portfolio_json(outcome))
    if args.report:
        print(f"report: {write_portfolio_report(outcome, args.report)}")
    return 0
