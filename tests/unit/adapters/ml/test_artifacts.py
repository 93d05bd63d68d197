"""Stored models: the bytes and their record, an id that names both, and a hash that is checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.ml.artifacts import ArtifactError, list_artifacts, load_artifact, save_artifact

RECORD = {
    "kind": "ml_classifier",
    "features": [{"kind": "rsi", "period": 14}],
    "created": "2026-01-01T00:00:00Z",
}


def test_a_saved_model_loads_back_with_its_record(tmp_path: Path) -> None:
    saved = save_artifact(tmp_path, b"model-bytes", RECORD)
    loaded = load_artifact(saved.path)
    assert loaded.model_id == saved.model_id == saved.path.name
    assert loaded.model_bytes() == b"model-bytes"
    assert loaded.record["features"] == RECORD["features"]
    assert len(loaded.model_id) == 16


def test_the_id_names_the_bytes_and_the_record_but_not_when_it_was_stored(tmp_path: Path) -> None:
    first = save_artifact(tmp_path / "a", b"m", RECORD)
    later = save_artifact(tmp_path / "b", b"m", {**RECORD, "created": "2027-01-01T00:00:00Z"})
    other_bytes = save_artifact(tmp_path / "c", b"n", RECORD)
    other_record = save_artifact(tmp_path / "d", b"m", {**RECORD, "kind": "ml_regressor"})
    assert first.model_id == later.model_id
    assert len({first.model_id, other_bytes.model_id, other_record.model_id}) == 3


def test_changed_bytes_are_refused(tmp_path: Path) -> None:
    saved = save_artifact(tmp_path, b"model-bytes", RECORD)
    (saved.path / "model.bin").write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="SHA-256"):
        load_artifact(saved.path).model_bytes()


@pytest.mark.parametrize("damage", ["no record", "bad json", "not a record", "no model"])
def test_a_broken_directory_says_what_is_wrong(tmp_path: Path, damage: str) -> None:
    saved = save_artifact(tmp_path, b"model-bytes", RECORD)
    record = saved.path / "model.json"
    if damage == "no record":
        record.unlink()
    elif damage == "bad json":
        record.write_text("{")
    elif damage == "not a record":
        record.write_text(json.dumps([1, 2]))
    else:
        (saved.path / "model.bin").unlink()
    with pytest.raises(ArtifactError, match=str(saved.path)):
        load_artifact(saved.path)


def test_list_skips_what_is_not_a_model_newest_first(tmp_path: Path) -> None:
    old = save_artifact(tmp_path, b"a", {**RECORD, "created": "2026-01-01T00:00:00Z"})
    new = save_artifact(tmp_path, b"b", {**RECORD, "created": "2026-06-01T00:00:00Z"})
    (tmp_path / "junk").mkdir()
    assert [a.model_id for a in list_artifacts(tmp_path)] == [new.model_id, old.model_id]
    assert list(list_artifacts(tmp_path / "none")) == []


def test_nan_in_a_record_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        save_artifact(tmp_path, b"m", {**RECORD, "auc": float("nan")})
