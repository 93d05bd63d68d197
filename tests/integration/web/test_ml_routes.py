"""Stored models over HTTP: ``GET /api/v1/models`` and ``GET /api/v1/models/{model_id}`` answer
as MlService does for the same models directory; bad input is 400 naming the field, no token
401, an unknown model 404, an unreadable one 409."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from tradeplane.v1 import ml_pb2, ml_pb2_grpc

from adapters.ml.artifacts import Artifact, save_artifact
from entrypoints.web.serve import RunningGateway, start_gateway
from tests.integration.grpc.support import BTC, CALL_TIMEOUT_S, ETH, TEST_TIMEOUT_S, VIEWER, Env
from tests.integration.grpc.test_ml_service import model_record
from tests.integration.web.test_gateway import VIEWER_H, assert_error, client

API = "/api/v1"
T = CALL_TIMEOUT_S
Starter = Callable[..., Coroutine[Any, Any, Env]]


def as_json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def stored(models: Path) -> tuple[Artifact, Artifact, Artifact]:
    """A BTC classifier (oldest), a BTC regressor, an ETH classifier (newest)."""
    return (
        save_artifact(models, b"btc-classifier", model_record(created="2026-01-01T00:00:00Z")),
        save_artifact(
            models, b"btc-regressor", model_record(kind="ml_regressor", created="2026-01-02T00:00:00Z")
        ),
        save_artifact(
            models, b"eth-classifier", model_record(instrument=ETH, created="2026-01-03T00:00:00Z")
        ),
    )


@pytest.fixture
def served(loop: asyncio.AbstractEventLoop, start: Starter, models: Path) -> Env:
    return loop.run_until_complete(start(ml={"models_dir": str(models)}))


@pytest.fixture
def gateway(loop: asyncio.AbstractEventLoop, served: Env) -> Iterator[RunningGateway]:
    """The gateway in front of ``served``, whose models directory is ``models``."""
    running = loop.run_until_complete(
        asyncio.wait_for(start_gateway("127.0.0.1:0", served.target), TEST_TIMEOUT_S)
    )
    yield running
    loop.run_until_complete(asyncio.wait_for(running.stop(), TEST_TIMEOUT_S))


def stub(env: Env) -> ml_pb2_grpc.MlServiceAsyncStub:
    return ml_pb2_grpc.MlServiceStub(env.stub.channel)


async def test_the_model_list_answers_as_grpc(
    gateway: RunningGateway, served: Env, stored: tuple[Artifact, Artifact, Artifact]
) -> None:
    btc, reg, eth = stored
    queries: list[dict[str, str]] = [
        {},
        {"kind": "ml_classifier"},
        {"instrument_id": BTC},
        {"kind": "ml_regressor", "instrument_id": BTC},
        {"limit": "1"},
    ]
    async with client(gateway) as http:
        for query in queries:
            response = await http.get(f"{API}/models", params=query, headers=VIEWER_H)
            assert response.status_code == 200, response.text
            fields: dict[str, Any] = {**query, **({"limit": int(query["limit"])} if "limit" in query else {})}
            direct = await stub(served).ListModels(
                ml_pb2.ListModelsRequest(**fields), metadata=VIEWER, timeout=T
            )
            assert response.json() == as_json(direct), query
    async with client(gateway) as http:
        every = (await http.get(f"{API}/models", headers=VIEWER_H)).json()["models"]
        newest = (await http.get(f"{API}/models", params={"limit": "1"}, headers=VIEWER_H)).json()["models"]
    assert [model["model_id"] for model in every] == [eth.model_id, reg.model_id, btc.model_id]
    assert [model["model_id"] for model in newest] == [eth.model_id]
    first = every[2]
    assert first["features"] == ["return_1", "rsi_14"]
    assert first["training_rows"] == "40000"  # a uint64 is a JSON string
    assert first["create_time"] == "2026-01-01T00:00:00Z"
    assert first["validation_mean"] == {"accuracy": 0.525, "auc": 0.625}
    assert first["sha256"] == btc.record["sha256"]


async def test_one_model_answers_as_grpc(
    gateway: RunningGateway, served: Env, stored: tuple[Artifact, Artifact, Artifact]
) -> None:
    _, reg, _ = stored
    async with client(gateway) as http:
        response = await http.get(f"{API}/models/{reg.model_id}", headers=VIEWER_H)
    assert response.status_code == 200, response.text
    direct = await stub(served).GetModel(
        ml_pb2.GetModelRequest(model_id=reg.model_id), metadata=VIEWER, timeout=T
    )
    assert response.json() == as_json(direct)
    assert response.json()["model"]["kind"] == "ml_regressor"
    assert json.loads(response.json()["record_json"]) == json.loads((reg.path / "model.json").read_text())


async def test_bad_input_is_400_naming_the_field(
    gateway: RunningGateway, stored: tuple[Artifact, Artifact, Artifact]
) -> None:
    cases: list[tuple[str, dict[str, str], str]] = [
        (f"{API}/models", {"kind": "svm"}, "kind"),
        (f"{API}/models", {"instrument_id": "not an id"}, "instrument_id"),
        (f"{API}/models", {"limit": "5000"}, "limit"),  # refused by the server
        (f"{API}/models", {"limit": "all"}, "limit"),  # refused by the gateway
        (f"{API}/models", {"limit": "-1"}, "limit"),
        (f"{API}/models", {"colour": "red"}, "colour"),
        (f"{API}/models/{'Z' * 16}", {}, "model_id"),
        (f"{API}/models/{stored[0].model_id.upper()}", {}, "model_id"),
        (f"{API}/models/{'0' * 17}", {}, "model_id"),
        (f"{API}/models/{'0' * 5000}", {}, "model_id"),
    ]
    async with client(gateway) as http:
        for path, params, field in cases:
            response = await http.get(path, params=params, headers=VIEWER_H)
            assert_error(response, 400, "INVALID_ARGUMENT", field=field)
        traversal = await http.get(f"{API}/models/..%2F..%2Fetc", headers=VIEWER_H)
    assert traversal.status_code in {400, 404}, traversal.text  # never a file of the server


async def test_no_token_is_401(gateway: RunningGateway, stored: tuple[Artifact, Artifact, Artifact]) -> None:
    wrong = {"Authorization": "Bearer wrong-token-0123456789"}
    async with client(gateway) as http:
        for path in (f"{API}/models", f"{API}/models/{stored[0].model_id}"):
            assert_error(await http.get(path), 401, "UNAUTHENTICATED")
            assert_error(await http.get(path, headers=wrong), 401, "UNAUTHENTICATED")


async def test_an_unknown_model_is_404_and_an_unreadable_one_409(
    gateway: RunningGateway, models: Path, stored: tuple[Artifact, Artifact, Artifact]
) -> None:
    broken = save_artifact(models, b"broken", {**model_record(), "training": None})
    async with client(gateway) as http:
        unknown = await http.get(f"{API}/models/{'0' * 16}", headers=VIEWER_H)
        unreadable = await http.get(f"{API}/models/{broken.model_id}", headers=VIEWER_H)
        listed = await http.get(f"{API}/models", headers=VIEWER_H)
    assert_error(unknown, 404, "NOT_FOUND")
    assert "0" * 16 in unknown.json()["error"]["message"]
    assert_error(unreadable, 409, "FAILED_PRECONDITION")
    assert unreadable.json()["error"]["reason"] == "MODEL_UNREADABLE"
    assert broken.model_id not in [model["model_id"] for model in listed.json()["models"]]
    assert len(listed.json()["models"]) == len(stored)
