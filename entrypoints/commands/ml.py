"""``tradeplane ml train`` and ``tradeplane ml list``: models from history, stored with their record.

``train`` reads Binance kline or trade files, or the market-data store a live run recorded
(trades become bars by event time, as a strategy with ``bar_seconds`` builds them), computes
the feature set on every bar, validates the model walk-forward (one model per fold, each
predicting only the bars after its purge gap), then fits the model to keep on the last training
window whose labels are known, and stores it (``adapters.ml.artifacts``) with its hash,
features, label, window, parameters, the metrics of each fold and the feature importances.
The leakage check runs before the first fit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from adapters.ml.artifacts import list_artifacts, save_artifact
from adapters.ml.learners import LEARNERS, trainer_for
from application.ml.pipeline import first_complete_row, walk_forward
from domain.errors import DomainError
from domain.identifiers import InstrumentId
from domain.market_data import Bar, TradeTick
from domain.ml.bar_builder import BarBuilder
from domain.ml.features import DEFAULT_FEATURES, BarArrays, FeatureSpec, feature_matrix, parse_feature_set
from domain.ml.labels import LabelSpec, label_array
from domain.ml.strategy import KINDS

LABEL_KIND = {"ml_classifier": "class", "ml_regressor": "value"}
DEFAULT_MODELS_DIR = "data/models"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ml`` (train, list) on the ``tradeplane`` command line."""
    parser = commands.add_parser("ml", help="train machine-learning models on history, list stored ones")
    actions = parser.add_subparsers(dest="ml_command", required=True, metavar="{train,list}")
    train = actions.add_parser("train", help="train a model walk-forward on kline files and store it")
    train.add_argument(
        "data", nargs="*", type=Path, help="Binance kline or trade CSV files (.csv, .csv.gz, .zip)"
    )
    train.add_argument(
        "--instrument", default=None, help="SYMBOL.VENUE (default: from the first file's name)"
    )
    train.add_argument(
        "--from-store",
        action="store_true",
        help="train on what a live run recorded: the market-data store of --config (needs --instrument)",
    )
    train.add_argument("--config", default=None, help="with --from-store: the configuration naming the store")
    train.add_argument(
        "--start", help="with --from-store: from this UTC time (2024-01-31 or 2024-01-31T12:00)"
    )
    train.add_argument("--end", help="with --from-store: up to this UTC time (excluded)")
    train.add_argument(
        "--bar-seconds",
        type=int,
        default=60,
        help="trades (files or the store) become bars of this many seconds; klines are used as they are",
    )
    train.add_argument("--kind", choices=KINDS, default="ml_classifier", help="what the model predicts")
    train.add_argument(
        "--features", type=Path, default=None, help="a JSON list of features (default: the standard set)"
    )
    train.add_argument("--horizon", type=int, default=5, help="bars ahead the label looks (default 5)")
    train.add_argument(
        "--label-threshold", type=float, default=0.0, help="classifier: up means a return above this"
    )
    train.add_argument("--train-window", type=int, default=2000, help="bars each model is trained on")
    train.add_argument("--retrain-every", type=int, default=500, help="bars between two walk-forward models")
    train.add_argument(
        "--purge", type=int, default=None, help="bars between training and prediction (>= horizon)"
    )
    train.add_argument("--seed", type=int, default=7)
    train.add_argument(
        "--learner",
        choices=LEARNERS,
        default="lightgbm",
        help="gradient-boosted trees, or river's online regression (which can go on learning live)",
    )
    train.add_argument(
        "--models-dir", type=Path, default=Path(DEFAULT_MODELS_DIR), help="where models are stored"
    )
    train.add_argument("--json", action="store_true", help="print the stored record as JSON")
    listing = actions.add_parser("list", help="list the stored models, newest first")
    listing.add_argument("--models-dir", type=Path, default=Path(DEFAULT_MODELS_DIR))
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        if args.ml_command == "list":
            return _list(args.models_dir)
        return _train(args)
    except (DomainError, ValueError, OSError) as error:
        print(f"tradeplane ml: {error}", file=sys.stderr)
        return 2


def _list(models_dir: Path) -> int:
    found = list(list_artifacts(models_dir))
    if not found:
        print(f"no models in {models_dir}")
        return 0
    for artifact in found:
        record = artifact.record
        scores = record.get("validation", {}).get("mean", {})
        shown = " ".join(f"{name} {value:.4f}" for name, value in sorted(scores.items()))
        what = f"{record.get('kind')}  {record.get('instrument')}  {record.get('created')}"
        print(f"{artifact.model_id}  {what}  {shown}")
    return 0


def _bars(args: argparse.Namespace) -> list[Bar]:
    """The history as bars: klines as they are, trades (files or the store) built into bars of
    ``--bar-seconds`` by event time, as a strategy with ``bar_seconds`` builds them live."""
    from entrypoints.backtest.history import open_events
    from entrypoints.backtest.spec import BacktestError, BacktestSpec
    from entrypoints.commands.backtest import parse_time

    if args.from_store == bool(args.data):
        raise ValueError("give kline or trade files, or --from-store (with --config and --instrument)")
    spec = BacktestSpec(
        data=tuple(str(path) for path in args.data),
        strategy="sma_crossover",
        instrument=args.instrument,
        config=args.config,
        from_store=args.from_store,
        start_ns=parse_time(args.start, "--start"),
        end_ns=parse_time(args.end, "--end"),
    )
    if args.bar_seconds <= 0:
        raise ValueError(f"--bar-seconds must be positive (was {args.bar_seconds})")
    closers: list[Callable[[], None]] = []
    try:
        instrument_id, events = open_events(spec, [], closers)
        builder = BarBuilder(InstrumentId(instrument_id), args.bar_seconds * 1_000_000_000)
        bars: list[Bar] = []
        for event in events:
            if isinstance(event, Bar):
                bars.append(event)
            elif isinstance(event, TradeTick):
                closed = builder.on_trade(event)
                if closed is not None:
                    bars.append(closed)
    except BacktestError as error:
        raise ValueError(str(error)) from None
    finally:
        for close in closers:
            close()
    return bars


def _features(path: Path | None) -> tuple[FeatureSpec, ...]:
    if path is None:
        return DEFAULT_FEATURES
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"--features {path}: {error}") from None
    return parse_feature_set(raw)


def _train(args: argparse.Namespace) -> int:
    from domain.ml.walk_forward import WalkForward

    specs = _features(args.features)
    bars = _bars(args)
    if not bars:
        raise ValueError("the history holds no bars")
    history = BarArrays.from_bars(bars)
    matrix = feature_matrix(specs, history)
    label = LabelSpec(horizon=args.horizon, kind=LABEL_KIND[args.kind], threshold=args.label_threshold)  # type: ignore[arg-type]
    wf = WalkForward(
        train_window=args.train_window,
        retrain_every=args.retrain_every,
        horizon=args.horizon,
        purge=args.purge,
    )
    trainer = trainer_for(args.learner)
    names = [spec.name for spec in specs]
    started = time.perf_counter()
    result = walk_forward(
        matrix,
        history.close,
        label,
        wf,
        trainer,
        seed=args.seed,
        recompute=lambda rows: feature_matrix(specs, history.head(rows)),
        names=names,
    )
    if not result.folds:
        raise ValueError(
            f"{len(bars)} bars are too few for --train-window {args.train_window} plus the purge and"
            f" one --retrain-every {args.retrain_every} of predictions after the features' warm-up"
        )
    # The model kept: the last window of rows whose label is known (their horizon has passed).
    labels = label_array(history.close, label)
    known = np.flatnonzero(np.isfinite(labels) & np.all(np.isfinite(matrix), axis=1))
    rows = known[-args.train_window :]
    model = trainer.fit(matrix[rows], labels[rows], kind=label.kind, seed=args.seed)
    record = _record(args, specs, bars, rows, label, wf, result, model.feature_importances(), names)
    artifact = save_artifact(args.models_dir, model.to_bytes(), record)
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps(artifact.record, indent=2, sort_keys=True))
    else:
        _say(artifact.model_id, artifact.path, record, seconds, first_complete_row(matrix))
    return 0


def _record(  # noqa: PLR0917  # one record from everything the training saw
    args: argparse.Namespace,
    specs: tuple[FeatureSpec, ...],
    bars: list[Bar],
    rows: Any,
    label: LabelSpec,
    wf: Any,
    result: Any,
    importances: tuple[float, ...],
    names: list[str],
) -> dict[str, Any]:
    folds = [
        {
            "index": report.fold.index,
            "train": [
                int(bars[report.fold.train_start].ts_event),
                int(bars[report.fold.train_end - 1].ts_event),
            ],
            "predict": [
                int(bars[report.fold.predict_start].ts_event),
                int(bars[report.fold.predict_end - 1].ts_event),
            ],
            "train_rows": report.train_rows,
            "metrics": {name: _finite(value) for name, value in report.metrics.items()},
        }
        for report in result.folds
    ]
    metric_names = sorted({name for fold in folds for name in fold["metrics"]})
    mean = {
        name: float(np.nanmean([np.nan if f["metrics"][name] is None else f["metrics"][name] for f in folds]))
        for name in metric_names
    }
    return {
        "kind": args.kind,
        "instrument": str(bars[0].instrument_id),
        "features": [{"kind": spec.kind, **spec.params} for spec in specs],
        "label": {"horizon": label.horizon, "kind": label.kind, "threshold": label.threshold},
        "training": {
            "first_ts": int(bars[int(rows[0])].ts_event),
            "last_ts": int(bars[int(rows[-1])].ts_event),
            "rows": len(rows),
        },
        "walk_forward": {
            "train_window": wf.train_window,
            "retrain_every": wf.retrain_every,
            "purge": wf.purge,
        },
        "trainer": {"library": args.learner, "seed": args.seed},
        "validation": {"folds": folds, "mean": {k: v for k, v in mean.items() if np.isfinite(v)}},
        "importances": dict(zip(names, (float(v) for v in importances), strict=True)),
        "data": [str(path) for path in args.data],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _say(model_id: str, path: Path, record: dict[str, Any], seconds: float, warmup: int) -> None:
    validation = record["validation"]
    print(f"model {model_id} stored in {path} ({seconds:.1f}s)")
    features = f"{len(record['features'])} features (complete from bar {warmup + 1})"
    print(f"  {record['kind']} on {record['instrument']}, {features}")
    print(f"  walk-forward: {len(validation['folds'])} folds, out-of-sample means:")
    for name, value in sorted(validation["mean"].items()):
        print(f"    {name:<10} {value:.4f}")
    top = sorted(record["importances"].items(), key=lambda item: -item[1])[:5]
    print("  most important features (share): " + ", ".join(f"{n} {v:.0%}" for n, v in top))
    print(f'  use it: [[strategies]] kind = "{record["kind"]}", params = {{ model = "{path}" }}')
