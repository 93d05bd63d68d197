"""Trained models on disk: the model's bytes beside a JSON record of how it was made.

An artifact is a directory named by the model's id, holding ``model.bin`` (the model, as the
trainer serialized it) and ``model.json``: the id, the SHA-256 of ``model.bin``, the feature
set, the label, the training window, the training parameters, the validation metrics of each
walk-forward fold and the feature importances. The id is the first 16 hex digits of the
SHA-256 of the model's bytes and its record (all but ``created``, the wall-clock time it was
stored), so the same training gives the same id and any change gives another. Loading checks
the hash: a model whose bytes changed is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_FILE = "model.bin"
RECORD_FILE = "model.json"
ID_DIGITS = 16


class ArtifactError(ValueError):
    """A model directory that is missing, unreadable, or whose bytes do not match their hash."""


@dataclass(frozen=True)
class Artifact:
    """A stored model: its id, where it lives, its record and (read on demand) its bytes."""

    model_id: str
    path: Path
    record: Mapping[str, Any]

    def model_bytes(self) -> bytes:
        data = (self.path / MODEL_FILE).read_bytes()
        if hashlib.sha256(data).hexdigest() != self.record.get("sha256"):
            raise ArtifactError(f"{self.path / MODEL_FILE}: its bytes do not match the recorded SHA-256")
        return data


def model_id_of(model: bytes, record: Mapping[str, Any]) -> str:
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(model + b"\0" + canonical.encode()).hexdigest()[:ID_DIGITS]


def save_artifact(models_dir: Path | str, model: bytes, record: Mapping[str, Any]) -> Artifact:
    """Store ``model`` with ``record`` (JSON-able, no NaN) under ``models_dir``; atomic per file."""
    base = {**record, "sha256": hashlib.sha256(model).hexdigest()}
    model_id = model_id_of(model, {key: value for key, value in base.items() if key != "created"})
    full = {"model_id": model_id, **base}
    directory = Path(models_dir) / model_id
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / MODEL_FILE, model)
    _write(
        directory / RECORD_FILE, (json.dumps(full, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()
    )
    return Artifact(model_id, directory, full)


def load_artifact(path: Path | str) -> Artifact:
    """The artifact in ``path`` (a model directory); ArtifactError saying what is wrong."""
    directory = Path(path)
    try:
        record = json.loads((directory / RECORD_FILE).read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{directory}: no {RECORD_FILE} (is it a model directory?)") from None
    except (OSError, ValueError) as error:
        raise ArtifactError(f"{directory / RECORD_FILE}: cannot be read ({error})") from None
    if not isinstance(record, dict) or not isinstance(record.get("model_id"), str):
        raise ArtifactError(f"{directory / RECORD_FILE}: not a model record")
    if not (directory / MODEL_FILE).is_file():
        raise ArtifactError(f"{directory}: no {MODEL_FILE}")
    return Artifact(record["model_id"], directory, record)


def list_artifacts(models_dir: Path | str) -> Iterator[Artifact]:
    """Every readable artifact under ``models_dir``, newest first (by its record's ``created``)."""
    root = Path(models_dir)
    found = []
    for child in sorted(root.iterdir()) if root.is_dir() else ():
        try:
            found.append(load_artifact(child))
        except ArtifactError:
            continue
    found.sort(key=lambda a: str(a.record.get("created", "")), reverse=True)
    yield from found


def _write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
