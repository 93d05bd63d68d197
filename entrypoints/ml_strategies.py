"""Strategies of the ML kinds, built from configuration and a stored model.

``[[strategies]]`` with ``kind = "ml_classifier"`` (or ``"ml_regressor"``) takes
``params.model``, the directory of a model ``tradeplane ml train`` stored, and optionally
``params.threshold`` and ``params.bar_seconds`` (build bars of that many seconds from trades,
for a model trained on klines of that length; 0, the default: be fed bars). The feature set
is the model's own (from its record): a strategy cannot feed a model other features than it
was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from adapters.ml.artifacts import ArtifactError, load_artifact
from adapters.ml.lightgbm_model import load_model
from domain.errors import DomainError
from domain.ml.features import parse_feature_set
from domain.ml.strategy import KINDS, MlParams, MlSignalStrategy
from entrypoints.config import ConfigError, StrategySettings

ML_KINDS: Final = frozenset(KINDS)
DEFAULT_THRESHOLD: Final[Mapping[str, float]] = {"ml_classifier": 0.55, "ml_regressor": 0.001}


def build_ml_strategy(entry: StrategySettings) -> MlSignalStrategy:
    """The strategy of ``entry``, with its model loaded; ConfigError naming what is wrong."""
    where = f"strategy {entry.id}"
    params: dict[str, Any] = dict(entry.params)
    model_path = params.pop("model", None)
    threshold = params.pop("threshold", DEFAULT_THRESHOLD[entry.kind])
    bar_seconds = params.pop("bar_seconds", 0)
    if params:
        known = "model, threshold, bar_seconds"
        raise ConfigError(f"{where}: unknown parameter(s) {', '.join(sorted(params))} (known: {known})")
    if not isinstance(model_path, str) or not model_path.strip():
        raise ConfigError(
            f"{where}: params.model must name a model directory (tradeplane ml train prints it)"
        )
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: params.threshold must be a number (was {threshold!r})") from None
    if isinstance(bar_seconds, str) and bar_seconds.strip().isdigit():
        bar_seconds = int(bar_seconds)
    try:
        artifact = load_artifact(model_path)
        record = artifact.record
        if record.get("kind") != entry.kind:
            raise ConfigError(
                f"{where}: the model {artifact.model_id} is an {record.get('kind')} model, not {entry.kind}"
            )
        features = parse_feature_set(record["features"])
        model = load_model(artifact.model_bytes())
        return MlSignalStrategy(
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
        )
    except ConfigError:
        raise
    except (ArtifactError, DomainError, KeyError, ValueError) as error:
        raise ConfigError(f"{where}: {error}") from None
