"""Stored model routes under ``/api/v1``: the trained models listed and read back (MlService)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse
from tradeplane.v1 import ml_pb2

from entrypoints.web.api import answer, stubs
from entrypoints.web.transcode import from_query, query_parameters

router = APIRouter(prefix="/api/v1")


@router.get("/models", tags=["models"], openapi_extra=query_parameters(ml_pb2.ListModelsRequest))
async def list_models(request: Request) -> JSONResponse:
    """MlService/ListModels, newest first; the query may give ``kind``, ``instrument_id`` and ``limit``."""
    message = from_query(request.query_params, ml_pb2.ListModelsRequest)
    return await answer(request, stubs(request).ml.ListModels, message)


@router.get("/models/{model_id}", tags=["models"])
async def get_model(request: Request, model_id: str) -> JSONResponse:
    """MlService/GetModel: a stored model and its whole record (``record_json``)."""
    message = ml_pb2.GetModelRequest(model_id=model_id)
    return await answer(request, stubs(request).ml.GetModel, message)
