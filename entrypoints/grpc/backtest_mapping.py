"""BacktestService requests checked into a ``BacktestSpec``, and stored runs into messages.

The checks are the command line's (``parse_amount``, ``check_strategy`` and ``parse_param`` of
``entrypoints.backtest``), with the request's field names. Data paths come from a client, so
they are confined to the server's backtest data directory: relative paths only, no ``..``, and
the file they resolve to (symlinks followed) must lie inside the directory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import grpc
from tradeplane.v1 import backtest_pb2

from application.ports import BacktestRecord
from entrypoints.backtest.spec import (
    DEFAULT_FRACTION,
    BacktestError,
    BacktestSpec,
    check_strategy,
    parse_amount,
)
from entrypoints.backtest.sweep import parse_param
from entrypoints.grpc import mapping
from entrypoints.grpc.errors import ApiError, echo, invalid

MAX_FILES = 100
MAX_PATH = 1024
MAX_PARAMETERS = 64
MAX_PARAMETER_TEXT = 200
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_STRATEGY_NAME = 64
RUN_ID = re.compile(r"[0-9a-f]{32}")
DATA_DIR = "the server's backtest data directory"


def data_paths(paths: Sequence[str], root: Path) -> tuple[str, ...]:
    """The files ``paths`` name under ``root``, resolved; ApiError (field ``data``) otherwise."""
    if not paths:
        raise invalid("data", f"give at least one history file, as a path relative to {DATA_DIR}")
    if len(paths) > MAX_FILES:
        raise invalid("data", f"at most {MAX_FILES} files per run (was {len(paths)})")
    base = root.resolve()
    if not base.is_dir():
        raise ApiError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"{DATA_DIR} ({root}) does not exist; the operator sets it with [grpc] backtest_data_dir",
            reason="NO_BACKTEST_DATA_DIR",
        )
    resolved: list[str] = []
    for given in paths:
        if not given or len(given) > MAX_PATH or "\x00" in given:
            raise invalid("data", f"each path must have 1 to {MAX_PATH} characters (was {echo(given)})")
        path = PurePosixPath(given)
        if path.is_absolute():
            raise invalid("data", f"{echo(given)} is absolute; give a path relative to {DATA_DIR}")
        if ".." in path.parts:
            raise invalid("data", f"{echo(given)} contains '..'; only files inside {DATA_DIR} can be read")
        try:
            real = (base / path).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a symlink loop
            raise invalid("data", f"no such file in {DATA_DIR}: {echo(given)}") from None
        if not real.is_relative_to(base):
            raise invalid("data", f"{echo(given)} leads outside {DATA_DIR} (a symlink); refused")
        if not real.is_file():
            raise invalid("data", f"{echo(given)} is not a file")
        resolved.append(str(real))
    return tuple(resolved)


def _params(params: Mapping[str, str]) -> dict[str, str]:
    if len(params) > MAX_PARAMETERS:
        raise invalid("params", f"at most {MAX_PARAMETERS} parameters (was {len(params)})")
    checked: dict[str, str] = {}
    for name, value in params.items():
        field = f"params.{name}"  # bounded by ``invalid``
        if len(value) > MAX_PARAMETER_TEXT:
            raise invalid(field, f"is longer than {MAX_PARAMETER_TEXT} characters")
        try:
            key, values = parse_param(f"{name}={value}")
        except BacktestError:
            raise invalid(field, f"needs a value (was {echo(value)})") from None
        if len(values) != 1:
            raise invalid(
                field, f"takes one value per run (was {echo(value)}); sweeps are for `tradeplane backtest`"
            )
        checked[key] = values[0]
    return checked


def _amount(text: str, default: str, field: str, *, positive: bool = True) -> Decimal:
    """The wire's decimal grammar (as every other RPC), then the backtest's own bounds."""
    value = mapping.parse_decimal(text or default, field)
    assert value is not None  # a default is always given
    try:
        return parse_amount(str(value), field, positive=positive)
    except BacktestError as error:
        raise invalid(field, error.problem) from None


def spec_from_request(request: backtest_pb2.RunBacktestRequest, data_dir: Path) -> BacktestSpec:
    """The run a request asks for, every field checked; raises ApiError naming the field."""
    if not request.strategy:
        raise invalid("strategy", "is required, e.g. sma_crossover")
    params = _params(request.params)
    try:
        check_strategy(request.strategy, params)
    except BacktestError as error:
        raise invalid(error.field or "strategy", error.problem) from None
    instrument = mapping.parse_instrument_id(request.instrument_id) if request.instrument_id else None
    sizing = request.WhichOneof("sizing")
    fraction = _amount(request.fraction, "", "fraction") if sizing == "fraction" else None
    quantity = _amount(request.quantity, "", "quantity") if sizing == "quantity" else None
    return BacktestSpec(
        data=data_paths(request.data, data_dir),
        strategy=request.strategy,
        params=params,
        instrument=str(instrument) if instrument is not None else None,
        capital=_amount(request.capital, "10000", "capital"),
        fees_bps=_amount(request.fees_bps, "10", "fees_bps", positive=False),
        slippage_bps=_amount(request.slippage_bps, "0", "slippage_bps", positive=False),
        fraction=fraction if fraction is not None or quantity is not None else DEFAULT_FRACTION,
        quantity=quantity,
        allow_short=request.allow_short,
        skip_bad_rows=request.skip_bad_rows,
    )


FIELDS = {"instrument": "instrument_id"}
"""BacktestError fields whose request field has another name."""


def refusal(field: str | None, problem: str, data_dir: Path) -> ApiError:
    """A run's own refusal (bad data, a parameter the engine refused) as INVALID_ARGUMENT;
    server paths in the message are shown relative to the data directory, as given."""
    problem = problem.replace(str(data_dir.resolve()) + "/", "")
    if field is None:
        return ApiError(grpc.StatusCode.INVALID_ARGUMENT, problem, reason="BACKTEST_REFUSED")
    return invalid(FIELDS.get(field, field), problem)


def run_id(value: str) -> str:
    if not RUN_ID.fullmatch(value):
        raise invalid("run_id", f"must be the 32 hex digits RunBacktest gave (was {echo(value)})")
    return value


def strategy_filter(value: str) -> str | None:
    """ListBacktests' optional strategy name: None for all, else a name of at most 64 characters."""
    if len(value) > MAX_STRATEGY_NAME:
        raise invalid("strategy", f"must be at most {MAX_STRATEGY_NAME} characters (was {len(value)})")
    return value or None


def limit(value: int) -> int:
    if value == 0:
        return DEFAULT_LIMIT
    if value > MAX_LIMIT:
        raise invalid("limit", f"must be 1 to {MAX_LIMIT} (was {value})")
    return value


# -- outbound -------------------------------------------------------------------------------------


def _optional_floats(metrics: Mapping[str, Any], *names: str) -> dict[str, float]:
    return {name: float(metrics[name]) for name in names if metrics.get(name) is not None}


def metrics_to_proto(metrics: Mapping[str, Any]) -> backtest_pb2.BacktestMetrics:
    """From ``PerformanceReport.as_dict()``: decimals are exact strings there already."""
    return backtest_pb2.BacktestMetrics(
        starting_capital=str(metrics["starting_capital"]),
        final_equity=str(metrics["final_equity"]),
        net_profit=str(metrics["net_profit"]),
        total_return=str(metrics["total_return"]),
        max_drawdown=float(metrics["max_drawdown"]),
        max_drawdown_amount=str(metrics["max_drawdown_amount"]),
        trade_count=int(metrics["trade_count"]),
        winning_trades=int(metrics["winning_trades"]),
        losing_trades=int(metrics["losing_trades"]),
        fees_paid=str(metrics["fees_paid"]),
        **_optional_floats(
            metrics,
            "annualized_return",
            "annualized_volatility",
            "sharpe_ratio",
            "sortino_ratio",
            "calmar_ratio",
            "win_rate",
            "profit_factor",
        ),
    )


def summary_to_proto(record: BacktestRecord) -> backtest_pb2.BacktestSummary:
    summary = backtest_pb2.BacktestSummary(
        run_id=record.run_id,
        create_time=mapping.timestamp(record.created_ns),
        strategy=record.strategy,
        instrument_id=record.instrument_id,
        params=dict(record.params),
        data=list(record.data),
        first_event_time=mapping.timestamp(record.first_ts),
        last_event_time=mapping.timestamp(record.last_ts),
        events=record.events,
        capital=mapping.text(record.capital),
        final_equity=mapping.text(record.final_equity),
        total_return=mapping.text(record.total_return),
        max_drawdown=record.max_drawdown,
        trade_count=record.trade_count,
    )
    if record.sharpe is not None:
        summary.sharpe_ratio = record.sharpe
    return summary


def result_to_proto(
    record: BacktestRecord, document: Mapping[str, Any], run_id: str, data: Sequence[str], result_json: str
) -> backtest_pb2.BacktestResult:
    return backtest_pb2.BacktestResult(
        run_id=run_id,
        strategy=record.strategy,
        instrument_id=record.instrument_id,
        params=dict(record.params),
        data=list(data),
        first_event_time=mapping.timestamp(record.first_ts),
        last_event_time=mapping.timestamp(record.last_ts),
        events=record.events,
        signals=int(document["signals"]),
        orders=int(document["orders"]),
        fills=int(document["fills"]),
        skipped_rows=int(document["skipped_rows"]),
        seconds=float(document["seconds"]),
        metrics=metrics_to_proto(record.metrics),
        result_json=result_json,
    )
