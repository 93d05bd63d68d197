"""Market data routes: an instrument's latest quote and order book, and a pair's consolidated
quote across venues (under ``/api/v1``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse
from tradeplane.v1 import market_data_pb2

from entrypoints.web.api import answer, from_path, stubs
from entrypoints.web.transcode import from_query, query_parameters


def _query_without(message_class: type[Any], path_field: str) -> dict[str, Any]:
    """The OpenAPI query parameters of ``message_class`` but the one the path gives."""
    parameters = query_parameters(message_class)["parameters"]
    return {"parameters": [p for p in parameters if p["name"] != path_field]}


router = APIRouter(prefix="/api/v1")


@router.get("/instruments/{instrument_id}/quote", tags=["market data"])
async def get_quote(request: Request, instrument_id: str) -> JSONResponse:
    """MarketDataService/GetQuote: the instrument's latest quote (404 before its first)."""
    message = market_data_pb2.GetQuoteRequest(instrument_id=instrument_id)
    return await answer(request, stubs(request).market.GetQuote, message)


@router.get(
    "/instruments/{instrument_id}/book",
    tags=["market data"],
    openapi_extra=_query_without(market_data_pb2.GetOrderBookRequest, "instrument_id"),
)
async def get_order_book(request: Request, instrument_id: str) -> JSONResponse:
    """MarketDataService/GetOrderBook; the query may give ``depth`` (levels per side, default 10)."""
    message = from_query(request.query_params, market_data_pb2.GetOrderBookRequest)
    from_path(message, "instrument_id", instrument_id)
    return await answer(request, stubs(request).market.GetOrderBook, message)


@router.get(
    "/consolidated-quote",
    tags=["market data"],
    openapi_extra=query_parameters(market_data_pb2.GetConsolidatedQuoteRequest),
)
async def get_consolidated_quote(request: Request) -> JSONResponse:
    """MarketDataService/GetConsolidatedQuote; the query gives the pair's ``base`` and ``quote``."""
    message = from_query(request.query_params, market_data_pb2.GetConsolidatedQuoteRequest)
    return await answer(request, stubs(request).market.GetConsolidatedQuote, message)
