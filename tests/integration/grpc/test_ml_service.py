"""MlService over a real loopback server: the models stored in ``[ml] models_dir`` listed
newest first and filtered, one read back with its whole record, a model stored while the
server runs listed at once, unreadable directories left out, bad input refused naming its
field, unknown ids NOT_FOUND, and the viewer role enough."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest
from tradeplane.v1 import ml_pb2, ml_pb2_grpc

from adapters.ml.artifacts import Artifact, model_id_of, save_artifact
from entrypoints.config import ConfigError, parse_settings
from tests.integration.grpc.support import (
    BTC,
    CALL_TIMEOUT_S,
    ETH,
    TRADER,
    VIEWER,
    Env,
    assert_invalid,
    refusal,
    refused,
    settings_dict,
)

T = CALL_TIMEOUT_S
Starter = Callable[..., Coroutine[Any, Any, Env]]
FIRST_TS = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
LAST_TS = 1_706_745_540_123_456_789


def model_record(
    *, kind: str = "ml_classifier", instrument: str = BTC, created: str | None = "2026-01-02T03:04:05Z"
) -> dict[str, Any]:
    """A record as ``tradeplane ml train`` writes it (two folds, the second without an auc)."""
    record: dict[str, Any] = {
        "kind": kind,
        "instrument": instrument,
        "features": [{"kind": "return", "horizon": 1}, {"kind": "rsi", "period": 14}],
        "label": {"horizon": 7, "kind": "class" if kind == "ml_classifier" else "value", "threshold": 0.0},
        "training": {"first_ts": FIRST_TS, "last_ts": LAST_TS, "rows": 40_000},
        "walk_forward": {"train_window": 2000, "retrain_every": 500, "purge": 7},
        "trainer": {"library": "lightgbm", "seed": 7},
        "validation": {
            "folds": [
                {"index": 0, "train_rows": 2000, "metrics": {"accuracy": 0.55, "auc": 0.625}},
                {"index": 1, "train_rows": 2000, "metrics": {"accuracy": 0.5, "auc": None}},
            ],
            "mean": {"accuracy": 0.525, "auc": 0.625},
        },
        "importances": {"return_1": 120.0, "rsi_14": 80.5},
        "data": ["BTCUSDT-1m-2024-01.csv"],
    }
    if created is not None:
        record["created"] = created
    return record


def stored_id(model: bytes, record: dict[str, Any]) -> str:
    """The id ``save_artifact`` gives ``model`` with ``record`` (known before it is stored)."""
    base = {**record, "sha256": hashlib.sha256(model).hexdigest()}
    return model_id_of(model, {key: value for key, value in base.items() if key != "created"})


def stub(env: Env) -> ml_pb2_grpc.MlServiceAsyncStub:
    return ml_pb2_grpc.MlServiceStub(env.stub.channel)


async def list_ids(env: Env, metadata: Any = VIEWER, **fields: Any) -> list[str]:
    response = await stub(env).ListModels(ml_pb2.ListModelsRequest(**fields), metadata=metadata, timeout=T)
    return [model.model_id for model in response.models]


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def served(loop: asyncio.AbstractEventLoop, start: Starter, models: Path) -> Env:
    return loop.run_until_complete(start(ml={"models_dir": str(models)}))


def store_three(models: Path) -> tuple[Artifact, Artifact, Artifact]:
    """A BTC classifier (oldest), a BTC regressor, an ETH classifier (newest)."""
    btc = save_artifact(models, b"btc-classifier", model_record(created="2026-01-01T00:00:00Z"))
    reg = save_artifact(
        models, b"btc-regressor", model_record(kind="ml_regressor", created="2026-01-02T00:00:00Z")
    )
    eth = save_artifact(
        models, b"eth-classifier", model_record(instrument=ETH, created="2026-01-03T00:00:00Z")
    )
    return btc, reg, eth


async def test_models_are_listed_newest_first_and_filtered(served: Env, models: Path) -> None:
    btc, reg, eth = store_three(models)

    assert await list_ids(served) == [eth.model_id, reg.model_id, btc.model_id]
    assert await list_ids(served, kind="ml_classifier") == [eth.model_id, btc.model_id]
    assert await list_ids(served, kind="ml_regressor") == [reg.model_id]
    assert await list_ids(served, instrument_id=BTC) == [reg.model_id, btc.model_id]
    assert await list_ids(served, instrument_id=ETH, kind="ml_regressor") == []
    assert await list_ids(served, instrument_id="SOLUSDT.BINANCE") == []
    assert await list_ids(served, limit=1) == [eth.model_id]
    assert await list_ids(served, kind="ml_classifier", limit=1) == [eth.model_id]
    assert await list_ids(served, limit=1000) == [eth.model_id, reg.model_id, btc.model_id]


async def test_a_listed_model_says_how_it_was_made_and_validated(served: Env, models: Path) -> None:
    artifact = save_artifact(models, b"the-model", model_record())

    listed = (await stub(served).ListModels(ml_pb2.ListModelsRequest(), metadata=VIEWER, timeout=T)).models
    assert len(listed) == 1
    info = listed[0]
    assert info.model_id == artifact.model_id == stored_id(b"the-model", model_record())
    assert info.kind == "ml_classifier"
    assert info.instrument_id == BTC
    assert list(info.features) == ["return_1", "rsi_14"]  # the order the model reads them in
    assert info.label_horizon == 7
    assert info.create_time.ToJsonString() == "2026-01-02T03:04:05Z"
    assert info.training_first_time.ToJsonString() == "2024-01-01T00:00:00Z"
    assert info.training_last_time.seconds * 10**9 + info.training_last_time.nanos == LAST_TS
    assert info.training_rows == 40_000
    assert dict(info.validation_mean) == {"accuracy": 0.525, "auc": 0.625}
    assert info.folds == 2
    assert dict(info.importances) == {"return_1": 120.0, "rsi_14": 80.5}
    assert info.sha256 == hashlib.sha256(b"the-model").hexdigest()


async def test_get_model_answers_the_listed_model_and_its_whole_record(served: Env, models: Path) -> None:
    _, reg, _ = store_three(models)

    response = await stub(served).GetModel(
        ml_pb2.GetModelRequest(model_id=reg.model_id), metadata=VIEWER, timeout=T
    )
    listed = (
        await stub(served).ListModels(
            ml_pb2.ListModelsRequest(kind="ml_regressor"), metadata=VIEWER, timeout=T
        )
    ).models
    assert response.model == listed[0]
    assert response.model.kind == "ml_regressor"
    record = json.loads(response.record_json)
    assert record == json.loads((reg.path / "model.json").read_text())
    assert record["walk_forward"] == {"train_window": 2000, "retrain_every": 500, "purge": 7}
    assert record["validation"]["folds"][1]["metrics"]["auc"] is None


async def test_a_model_stored_while_the_server_runs_is_listed_at_once(served: Env, models: Path) -> None:
    assert await list_ids(served) == []  # the directory does not exist yet

    first = save_artifact(models, b"first", model_record(created="2026-02-01T00:00:00Z"))
    assert await list_ids(served) == [first.model_id]
    second = save_artifact(models, b"second", model_record(created="2026-02-02T00:00:00Z"))
    assert await list_ids(served) == [second.model_id, first.model_id]


async def test_a_record_without_created_is_listed_without_a_create_time(served: Env, models: Path) -> None:
    artifact = save_artifact(models, b"undated", model_record(created=None))

    response = await stub(served).GetModel(
        ml_pb2.GetModelRequest(model_id=artifact.model_id), metadata=VIEWER, timeout=T
    )
    assert not response.model.HasField("create_time")
    assert response.model.training_rows == 40_000


async def test_unreadable_directories_are_left_out(served: Env, models: Path) -> None:
    good = save_artifact(models, b"good", model_record())
    (models / "0123456789abcdef").mkdir()  # no record, no model
    garbage = models / "1111111111111111"
    garbage.mkdir()
    (garbage / "model.json").write_text("{not json")
    (garbage / "model.bin").write_bytes(b"x")
    lacking = save_artifact(models, b"lacking", {**model_record(), "training": "all of it"})
    no_bytes = save_artifact(models, b"no-bytes", model_record(instrument=ETH))
    (no_bytes.path / "model.bin").unlink()
    unknown_feature = save_artifact(
        models, b"unknown-feature", {**model_record(), "features": [{"kind": "astrology"}]}
    )
    (models / "README").write_text("not a model")  # a stray file

    assert await list_ids(served) == [good.model_id]
    for broken in ("1111111111111111", lacking.model_id, no_bytes.model_id, unknown_feature.model_id):
        found = await refused(
            stub(served).GetModel(ml_pb2.GetModelRequest(model_id=broken), metadata=VIEWER, timeout=T)
        )
        assert found.code == grpc.StatusCode.FAILED_PRECONDITION, (broken, found)
        assert found.reason == "MODEL_UNREADABLE", found
        assert broken in found.message
        assert str(models) not in found.message  # the server's paths stay on the server
    found = await refused(
        stub(served).GetModel(ml_pb2.GetModelRequest(model_id="0123456789abcdef"), metadata=VIEWER, timeout=T)
    )
    assert found.code == grpc.StatusCode.FAILED_PRECONDITION, found


async def test_an_unknown_model_is_not_found(served: Env, models: Path) -> None:
    store_three(models)
    found = await refused(
        stub(served).GetModel(ml_pb2.GetModelRequest(model_id="fedcba9876543210"), metadata=VIEWER, timeout=T)
    )
    assert found.code == grpc.StatusCode.NOT_FOUND, found
    assert found.reason == "NOT_FOUND"
    assert "fedcba9876543210" in found.message


async def test_without_a_models_directory_there_are_no_models(served: Env, models: Path) -> None:
    assert not models.exists()
    assert await list_ids(served) == []
    found = await refused(
        stub(served).GetModel(ml_pb2.GetModelRequest(model_id="0" * 16), metadata=VIEWER, timeout=T)
    )
    assert found.code == grpc.StatusCode.NOT_FOUND, found


@pytest.mark.parametrize(
    "model_id",
    [
        "",
        "0123456789ABCDEF",
        "0123456789abcde",
        "0123456789abcdef0",
        "../../etc/passwd",
        "0123456789abcdeg",
        "/" * 16,
    ],
)
async def test_a_malformed_model_id_is_refused(served: Env, models: Path, model_id: str) -> None:
    store_three(models)
    assert_invalid(
        await refused(
            stub(served).GetModel(ml_pb2.GetModelRequest(model_id=model_id), metadata=VIEWER, timeout=T)
        ),
        "model_id",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "svm"}, "kind"),
        ({"kind": "ML_CLASSIFIER"}, "kind"),
        ({"instrument_id": "not an id"}, "instrument_id"),
        ({"instrument_id": "btcusdt.binance"}, "instrument_id"),
        ({"limit": 1001}, "limit"),
    ],
)
async def test_bad_filters_are_refused_naming_the_field(
    served: Env, models: Path, fields: dict[str, Any], field: str
) -> None:
    store_three(models)
    assert_invalid(
        await refused(
            stub(served).ListModels(ml_pb2.ListModelsRequest(**fields), metadata=VIEWER, timeout=T)
        ),
        field,
    )


async def test_a_viewer_may_list_and_read_models_and_no_token_may_not(served: Env, models: Path) -> None:
    btc, _, _ = store_three(models)
    for metadata in (VIEWER, TRADER):
        assert len(await list_ids(served, metadata)) == 3
        response = await stub(served).GetModel(
            ml_pb2.GetModelRequest(model_id=btc.model_id), metadata=metadata, timeout=T
        )
        assert response.model.model_id == btc.model_id
    wrong = (("authorization", "Bearer not-a-token-0123456789abcdef"),)
    for metadata in ((), wrong):
        for call in (
            stub(served).ListModels(ml_pb2.ListModelsRequest(), metadata=metadata, timeout=T),
            stub(served).GetModel(
                ml_pb2.GetModelRequest(model_id=btc.model_id), metadata=metadata, timeout=T
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
            assert refusal(caught.value).code == grpc.StatusCode.UNAUTHENTICATED


def test_the_models_directory_is_configured_in_the_ml_section() -> None:
    assert parse_settings(settings_dict()).ml.models_dir == "data/models"
    assert parse_settings(settings_dict(ml={"models_dir": "/srv/models"})).ml.models_dir == "/srv/models"
    for wrong in (5, "", "  ", ["data/models"]):
        with pytest.raises(ConfigError, match=r"\[ml\] models_dir"):
            parse_settings(settings_dict(ml={"models_dir": wrong}))
    with pytest.raises(ConfigError, match=r"\[ml\].*colour"):
        parse_settings(settings_dict(ml={"models_dir": "data/models", "colour": "red"}))
