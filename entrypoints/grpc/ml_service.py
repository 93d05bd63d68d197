"""MlService: the trained models stored in the models directory, listed and read back.

The directory (``[ml] models_dir``) is read on every call, on a worker thread, never on the
engine's loop: a model ``tradeplane ml train`` stores is listed at once, one removed is gone.
A directory that is not a readable model (no record, a record that is not JSON or lacks what a
model's record holds) is left out of the list; asked for by its id, it is FAILED_PRECONDITION.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from tradeplane.v1 import ml_pb2, ml_pb2_grpc

from adapters.ml.artifacts import Artifact, ArtifactError, list_artifacts, load_artifact
from domain.errors import DomainError
from domain.ml.features import parse_feature_set
from entrypoints.grpc import mapping
from entrypoints.grpc.errors import ApiError, echo, invalid, not_found, unary

if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]

MODEL_ID = re.compile(r"[0-9a-f]{16}")
MODEL_KINDS = ("ml_classifier", "ml_regressor")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


class UnreadableRecord(ValueError):
    """A model record that lacks a field, or holds one of the wrong type."""


class MlService(ml_pb2_grpc.MlServiceServicer):
    def __init__(self, models_dir: Path) -> None:
        self._models_dir = models_dir

    @unary
    async def ListModels(self, request: ml_pb2.ListModelsRequest, context: Ctx) -> ml_pb2.ListModelsResponse:
        kind = kind_filter(request.kind)
        instrument = mapping.parse_instrument_id(request.instrument_id) if request.instrument_id else None
        limit = limit_of(request.limit)
        models = await asyncio.to_thread(
            listed, self._models_dir, kind, None if instrument is None else str(instrument), limit
        )
        return ml_pb2.ListModelsResponse(models=models)

    @unary
    async def GetModel(self, request: ml_pb2.GetModelRequest, context: Ctx) -> ml_pb2.GetModelResponse:
        model_id = model_id_of(request.model_id)
        return await asyncio.to_thread(read_model, self._models_dir, model_id)


# -- request fields -------------------------------------------------------------------------------


def model_id_of(value: str) -> str:
    if not MODEL_ID.fullmatch(value):
        raise invalid(
            "model_id", f"must be the 16 hex digits (0-9, a-f) of a stored model (was {echo(value)})"
        )
    return value


def kind_filter(value: str) -> str | None:
    if value and value not in MODEL_KINDS:
        raise invalid("kind", f"must be {' or '.join(MODEL_KINDS)}, or empty for all (was {echo(value)})")
    return value or None


def limit_of(value: int) -> int:
    if value == 0:
        return DEFAULT_LIMIT
    if value > MAX_LIMIT:
        raise invalid("limit", f"must be 1 to {MAX_LIMIT} (was {value})")
    return value


# -- the directory (on a worker thread) -----------------------------------------------------------


def listed(models_dir: Path, kind: str | None, instrument: str | None, limit: int) -> list[ml_pb2.ModelInfo]:
    """The readable models under ``models_dir`` that pass the filters, newest first, at most ``limit``."""
    found: list[ml_pb2.ModelInfo] = []
    for artifact in list_artifacts(models_dir):
        try:
            info = model_info(artifact)
        except UnreadableRecord:
            continue
        if (kind is None or info.kind == kind) and (instrument is None or info.instrument_id == instrument):
            found.append(info)
            if len(found) == limit:
                break
    return found


def read_model(models_dir: Path, model_id: str) -> ml_pb2.GetModelResponse:
    directory = models_dir / model_id
    if not directory.is_dir():
        raise not_found(f"no stored model {model_id}")
    try:
        artifact = load_artifact(directory)
        if artifact.model_id != model_id:
            raise UnreadableRecord(f"its record names the model {echo(artifact.model_id)}")
        info = model_info(artifact)
    except (ArtifactError, UnreadableRecord) as error:
        # The server's paths stay on the server: the reason is said without them.
        problem = (
            str(error) if isinstance(error, UnreadableRecord) else "its files are missing or not a record"
        )
        raise ApiError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"the stored model {model_id} cannot be read: {problem}",
            reason="MODEL_UNREADABLE",
            violations=(("MODEL_UNREADABLE", f"the stored model {model_id} cannot be read"),),
        ) from None
    return ml_pb2.GetModelResponse(model=info, record_json=json.dumps(artifact.record, sort_keys=True))


# -- record -> ModelInfo --------------------------------------------------------------------------


def model_info(artifact: Artifact) -> ml_pb2.ModelInfo:
    """The ModelInfo of a stored model; UnreadableRecord when its record is not a model's."""
    record = artifact.record
    training = _table(record, "training")
    validation = _table(record, "validation")
    folds = validation.get("folds")
    if not isinstance(folds, list):
        raise UnreadableRecord("validation.folds must be a list")
    sha256 = _text(record, "sha256")
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise UnreadableRecord("sha256 must be 64 hex digits")
    return ml_pb2.ModelInfo(
        model_id=artifact.model_id,
        kind=_text(record, "kind"),
        instrument_id=_text(record, "instrument"),
        features=_feature_names(record.get("features")),
        label_horizon=_count(_table(record, "label"), "label.horizon", "horizon"),
        create_time=_created(record.get("created")),
        training_first_time=mapping.timestamp(_count(training, "training.first_ts", "first_ts")),
        training_last_time=mapping.timestamp(_count(training, "training.last_ts", "last_ts")),
        training_rows=_count(training, "training.rows", "rows"),
        validation_mean=_numbers(validation.get("mean"), "validation.mean"),
        folds=len(folds),
        importances=_numbers(record.get("importances"), "importances"),
        sha256=sha256,
    )


def _table(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = record.get(key)
    if not isinstance(value, Mapping):
        raise UnreadableRecord(f"{key} must be an object")
    return value


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise UnreadableRecord(f"{key} must be text")
    return value


def _count(table: Mapping[str, Any], where: str, key: str) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 63:
        raise UnreadableRecord(f"{where} must be a whole number of at least 0")
    return value


def _numbers(value: object, where: str) -> dict[str, float]:
    if not isinstance(value, Mapping) or not all(
        isinstance(number, int | float) and not isinstance(number, bool) for number in value.values()
    ):
        raise UnreadableRecord(f"{where} must be an object of numbers")
    return {str(name): float(number) for name, number in value.items()}


def _feature_names(value: object) -> list[str]:
    if not isinstance(value, list):
        raise UnreadableRecord("features must be a list")
    try:
        return [spec.name for spec in parse_feature_set(value)]
    except DomainError as error:
        raise UnreadableRecord(f"features: {error}") from None


def _created(value: object) -> Timestamp | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise UnreadableRecord("created must be an ISO 8601 time") from None
    if when.tzinfo is None:
        raise UnreadableRecord("created must name its time zone")
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp
