"""Strategies of the ML kinds, built from configuration and a stored model.

``[[strategies]]`` with ``kind = "ml_classifier"`` (or ``"ml_regressor"``) takes these params:

- ``model`` (required): the directory of a model ``tradeplane ml train`` stored;
- ``threshold``: see ``domain.ml.strategy`` (default 0.55, or 0.001 for a regressor);
- ``bar_seconds``: build bars of that many seconds from trades, for a model trained on klines
  of that length (0, the default: be fed bars);
- ``online`` (a model trained with ``--learner river``): learn each bar's row as soon as its
  label is known, before predicting the bar;
- ``retrain_every`` (bars; 0, the default: never), ``train_window`` (bars, default the
  model's) and ``purge`` (bars, default the label's horizon): walk-forward retraining on the
  strategy's own rows. Each new model is stored beside the first, with its record, and named
  by the signals it makes. A replay trains at once (the same bar every run); a live engine
  trains in a worker process and keeps its model until the new one is ready.

The feature set and the label are the model's own (from its record): a strategy cannot feed a
model other features than it was trained on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np

from adapters.ml.artifacts import ArtifactError, load_artifact, save_artifact
from adapters.ml.learners import loader_for, trainer_for
from adapters.ml.worker_models import WorkerModels
from application.ml.pipeline import Model
from application.ml.retraining import ImmediateModels
from domain.errors import DomainError
from domain.ml.features import parse_feature_set
from domain.ml.labels import LabelSpec
from domain.ml.strategy import KINDS, MlParams, MlSignalStrategy, Retraining
from domain.ml.walk_forward import WalkForward
from entrypoints.config import ConfigError, StrategySettings

ML_KINDS: Final = frozenset(KINDS)
DEFAULT_THRESHOLD: Final[Mapping[str, float]] = {"ml_classifier": 0.55, "ml_regressor": 0.001}
KNOWN: Final = ("model", "threshold", "bar_seconds", "retrain_every", "train_window", "purge", "online")
SEED: Final = 7

Closer = Callable[[], None]


def build_ml_strategy(
    entry: StrategySettings, *, replay: bool = True, retraining: bool = True
) -> tuple[MlSignalStrategy, Closer | None]:
    """The strategy of ``entry`` with its model loaded, and what to call when the engine stops
    (a retraining worker), if anything; ConfigError naming what is wrong. ``replay``: retrain
    at once and log every prediction (a backtest scores them), else retrain in a worker process."""
    where = f"strategy {entry.id}"
    params: dict[str, Any] = dict(entry.params)
    unknown = sorted(set(params) - set(KNOWN))
    if unknown:
        raise ConfigError(f"{where}: unknown parameter(s) {', '.join(unknown)} (known: {', '.join(KNOWN)})")
    model_path = params.get("model")
    if not isinstance(model_path, str) or not model_path.strip():
        raise ConfigError(
            f"{where}: params.model must name a model directory (tradeplane ml train prints it)"
        )
    threshold = _number(params.get("threshold", DEFAULT_THRESHOLD[entry.kind]), f"{where}: params.threshold")
    bar_seconds = _whole(params.get("bar_seconds", 0), f"{where}: params.bar_seconds")
    try:
        artifact = load_artifact(model_path)
        record = artifact.record
        if record.get("kind") != entry.kind:
            raise ConfigError(
                f"{where}: the model {artifact.model_id} is an {record.get('kind')} model, not {entry.kind}"
            )
        features = parse_feature_set(record["features"])
        label = LabelSpec(**record["label"])
        library = str(record.get("trainer", {}).get("library", "lightgbm"))
        model = loader_for(library)(artifact.model_bytes())
        online = _flag(params.get("online", False), f"{where}: params.online")
        walk, source, closer = _retraining(
            entry, params, record, label, artifact.path, replay=replay, library=library, allowed=retraining
        )
        strategy = MlSignalStrategy(
            strategy_id=entry.id,
            instrument_ids=entry.instruments,
            params=MlParams(
                kind=entry.kind,  # type: ignore[arg-type]  # one of ML_KINDS: the caller's test
                threshold=threshold,
                features=features,
                bar_seconds=bar_seconds,
            ),
            model=model,
            model_id=artifact.model_id,
            retraining=walk,
            source=source,
            keep_log=replay,
            online=label if online else None,
        )
        return strategy, closer
    except ConfigError:
        raise
    except (ArtifactError, DomainError, KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {error}") from None


def _retraining(
    entry: StrategySettings,
    params: Mapping[str, Any],
    record: Mapping[str, Any],
    label: LabelSpec,
    model_path: Path,
    *,
    replay: bool,
    library: str,
    allowed: bool,
) -> tuple[Retraining | None, ImmediateModels | WorkerModels | None, Closer | None]:
    where = f"strategy {entry.id}"
    every = _whole(params.get("retrain_every", 0), f"{where}: params.retrain_every")
    if every == 0:
        return None, None, None
    if not allowed:
        raise ConfigError(f"{where}: retraining runs in the single process only (params.retrain_every)")
    window = _whole(params.get("train_window", record["training"]["rows"]), f"{where}: params.train_window")
    purge = params.get("purge")
    walk = WalkForward(
        window, every, label.horizon, None if purge is None else _whole(purge, f"{where}: params.purge")
    )
    keep = _keeper(
        entry, record, label, walk, model_path.parent, parent=str(record["model_id"]), library=library
    )
    trainer = trainer_for(library)
    if replay:
        immediate = ImmediateModels(trainer, kind=label.kind, seed=SEED, keep=keep)
        return Retraining(walk=walk, label=label), immediate, None
    worker = WorkerModels(trainer, kind=label.kind, seed=SEED, keep=keep, load=loader_for(library))
    return Retraining(walk=walk, label=label), worker, worker.close


def _keeper(
    entry: StrategySettings,
    record: Mapping[str, Any],
    label: LabelSpec,
    walk: WalkForward,
    models_dir: Path,
    *,
    parent: str,
    library: str,
) -> Callable[[Model, Any, Any, int], str]:
    """Store each retrained model beside the first, with what it was trained on; its id."""
    names = [spec.name for spec in parse_feature_set(record["features"])]

    def keep(model: Model, features: Any, labels: Any, ts_event: int) -> str:
        importances = model.feature_importances()
        stored = save_artifact(
            models_dir,
            model.to_bytes(),
            {
                "kind": entry.kind,
                "instrument": entry.instruments[0],
                "features": record["features"],
                "label": dict(record["label"]),
                "training": {
                    "asked_at": ts_event,
                    "rows": int(np.count_nonzero(np.isfinite(labels))),
                    "label_mean": float(np.nanmean(labels)) if np.isfinite(labels).any() else None,
                },
                "walk_forward": {
                    "train_window": walk.train_window,
                    "retrain_every": walk.retrain_every,
                    "purge": walk.purge,
                },
                "trainer": {"library": library, "seed": SEED},
                "retrained_from": parent,
                "strategy": entry.id,
                "importances": dict(zip(names, (float(v) for v in importances), strict=True)),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
        return stored.model_id

    return keep


def _number(value: object, what: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]  # checked by the except
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number (was {value!r})") from None


def _flag(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise ConfigError(f"{what} must be true or false (was {value!r})")


def _whole(value: object, what: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{what} must be a whole number, 0 or more (was {value!r})")
    return value
