"""The routes under ``/api/v1``: each one the gRPC method a browser needs, transcoded.

Orders, the portfolio, strategies, risk and the engine's status and alerts are here; quotes,
books and the consolidated quote are in ``market_routes``, backtests (a run answered as JSON
or as Server-Sent Events) in ``backtest_routes``, and the other server streams are
Server-Sent Events in ``streams``. The gateway includes each module's router.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse
from tradeplane.v1 import (
    engine_pb2,
    market_data_pb2,
    orders_pb2,
    portfolio_pb2,
    risk_pb2,
    strategies_pb2,
)

from entrypoints.web.api import answer, from_path, stubs
from entrypoints.web.transcode import (
    BadInput,
    body,
    body_schema,
    call,
    from_query,
    query_parameters,
    to_json,
)

router = APIRouter(prefix="/api/v1")


@router.get("/status", tags=["engine"])
async def get_status(request: Request) -> JSONResponse:
    """EngineService/GetStatus."""
    return await answer(request, stubs(request).engine.GetStatus, engine_pb2.GetStatusRequest())


@router.get("/account", tags=["portfolio"])
async def get_account(request: Request) -> JSONResponse:
    """PortfolioService/GetAccount."""
    return await answer(request, stubs(request).portfolio.GetAccount, portfolio_pb2.GetAccountRequest())


@router.get(
    "/account/equity-history",
    tags=["portfolio"],
    openapi_extra={
        "parameters": [
            {
                "name": "since",
                "in": "query",
                "required": False,
                "description": "only points after this RFC 3339 time, e.g. 2026-01-02T03:04:05Z",
                "schema": {"type": "string", "format": "date-time"},
            }
        ]
    },
)
async def get_equity_history(request: Request) -> JSONResponse:
    """PortfolioService/GetEquityHistory: the equity curve since the engine started."""
    message = portfolio_pb2.GetEquityHistoryRequest()
    for key, text in request.query_params.items():
        if key != "since":
            raise BadInput(f"{key}: no such parameter of GetEquityHistoryRequest", field=key)
        try:
            message.since.FromJsonString(text)
        except ValueError:
            raise BadInput("since: an RFC 3339 time such as 2026-01-02T03:04:05Z", field="since") from None
    return await answer(request, stubs(request).portfolio.GetEquityHistory, message)


@router.get(
    "/positions", tags=["portfolio"], openapi_extra=query_parameters(portfolio_pb2.ListPositionsRequest)
)
async def list_positions(request: Request) -> JSONResponse:
    """PortfolioService/ListPositions; the query holds ListPositionsRequest's fields."""
    message = from_query(request.query_params, portfolio_pb2.ListPositionsRequest)
    return await answer(request, stubs(request).portfolio.ListPositions, message)


@router.get("/orders", tags=["orders"], openapi_extra=query_parameters(orders_pb2.ListOrdersRequest))
async def list_orders(request: Request) -> JSONResponse:
    """OrderService/ListOrders; the query holds ListOrdersRequest's filters and paging."""
    message = from_query(request.query_params, orders_pb2.ListOrdersRequest)
    return await answer(request, stubs(request).orders.ListOrders, message)


@router.post("/orders", tags=["orders"], openapi_extra=body_schema(orders_pb2.SubmitOrderRequest))
async def submit_order(request: Request) -> JSONResponse:
    """OrderService/SubmitOrder; the body is a SubmitOrderRequest (idempotent on client_order_id)."""
    message = await body(request, orders_pb2.SubmitOrderRequest)
    return await answer(request, stubs(request).orders.SubmitOrder, message)


@router.post(
    "/orders/cancel-all", tags=["orders"], openapi_extra=body_schema(orders_pb2.CancelAllOrdersRequest)
)
async def cancel_all_orders(request: Request) -> JSONResponse:
    """OrderService/CancelAllOrders; the body (optional) is a CancelAllOrdersRequest."""
    message = await body(request, orders_pb2.CancelAllOrdersRequest)
    return await answer(request, stubs(request).orders.CancelAllOrders, message)


@router.get("/orders/{client_order_id}", tags=["orders"])
async def get_order(request: Request, client_order_id: str) -> JSONResponse:
    """OrderService/GetOrder by client_order_id."""
    message = orders_pb2.GetOrderRequest(client_order_id=client_order_id)
    return await answer(request, stubs(request).orders.GetOrder, message)


@router.delete("/orders/{client_order_id}", tags=["orders"])
async def cancel_order(request: Request, client_order_id: str) -> JSONResponse:
    """OrderService/CancelOrder by client_order_id."""
    message = orders_pb2.CancelOrderRequest(client_order_id=client_order_id)
    return await answer(request, stubs(request).orders.CancelOrder, message)


@router.get("/fills", tags=["orders"], openapi_extra=query_parameters(orders_pb2.ListFillsRequest))
async def list_fills(request: Request) -> JSONResponse:
    """OrderService/ListFills; the query holds ListFillsRequest's filters and paging."""
    message = from_query(request.query_params, orders_pb2.ListFillsRequest)
    return await answer(request, stubs(request).orders.ListFills, message)


@router.get("/instruments", tags=["market data"])
async def list_instruments(request: Request) -> JSONResponse:
    """MarketDataService/ListInstruments."""
    message = market_data_pb2.ListInstrumentsRequest()
    return await answer(request, stubs(request).market.ListInstruments, message)


@router.get("/strategies", tags=["strategies"])
async def list_strategies(request: Request) -> JSONResponse:
    """StrategyService/ListStrategies."""
    message = strategies_pb2.ListStrategiesRequest()
    return await answer(request, stubs(request).strategies.ListStrategies, message)


@router.post("/strategies/{strategy_id}/start", tags=["strategies"])
async def start_strategy(request: Request, strategy_id: str) -> JSONResponse:
    """StrategyService/StartStrategy."""
    message = strategies_pb2.StartStrategyRequest(strategy_id=strategy_id)
    return await answer(request, stubs(request).strategies.StartStrategy, message)


@router.post("/strategies/{strategy_id}/stop", tags=["strategies"])
async def stop_strategy(request: Request, strategy_id: str) -> JSONResponse:
    """StrategyService/StopStrategy."""
    message = strategies_pb2.StopStrategyRequest(strategy_id=strategy_id)
    return await answer(request, stubs(request).strategies.StopStrategy, message)


@router.get("/risk", tags=["risk"])
async def get_risk(request: Request) -> JSONResponse:
    """RiskService/GetRiskLimits and GetRiskState, as ``{"limits": ..., "state": ...}``."""
    risk = stubs(request).risk
    limits = await call(request, risk.GetRiskLimits, risk_pb2.GetRiskLimitsRequest())
    state = await call(request, risk.GetRiskState, risk_pb2.GetRiskStateRequest())
    return JSONResponse({**to_json(limits), **to_json(state)})


@router.post("/risk/halt", tags=["risk"], openapi_extra=body_schema(risk_pb2.HaltRequest))
async def halt(request: Request) -> JSONResponse:
    """RiskService/Halt; the body (optional) is a HaltRequest."""
    message = await body(request, risk_pb2.HaltRequest)
    return await answer(request, stubs(request).risk.Halt, message)


@router.post("/risk/resume", tags=["risk"], openapi_extra=body_schema(risk_pb2.ResumeRequest))
async def resume(request: Request) -> JSONResponse:
    """RiskService/Resume; the body (optional) is a ResumeRequest."""
    message = await body(request, risk_pb2.ResumeRequest)
    return await answer(request, stubs(request).risk.Resume, message)


@router.patch("/risk/limits", tags=["risk"], openapi_extra=body_schema(risk_pb2.UpdateRiskLimitsRequest))
async def update_risk_limits(request: Request) -> JSONResponse:
    """RiskService/UpdateRiskLimits (admin); the body is an UpdateRiskLimitsRequest."""
    message = await body(request, risk_pb2.UpdateRiskLimitsRequest)
    return await answer(request, stubs(request).risk.UpdateRiskLimits, message)


@router.patch(
    "/strategies/{strategy_id}/params",
    tags=["strategies"],
    openapi_extra=body_schema(strategies_pb2.UpdateStrategyParamsRequest),
)
async def update_strategy_params(request: Request, strategy_id: str) -> JSONResponse:
    """StrategyService/UpdateStrategyParams; the body is an UpdateStrategyParamsRequest (its
    strategy_id, if given, must be the path's)."""
    message = await body(request, strategies_pb2.UpdateStrategyParamsRequest)
    from_path(message, "strategy_id", strategy_id)
    return await answer(request, stubs(request).strategies.UpdateStrategyParams, message)


@router.get("/alerts", tags=["engine"])
async def list_alerts(request: Request) -> JSONResponse:
    """The active alerts, oldest first: EngineService/GetStatus's ``alerts``, as ``{"alerts": [...]}``."""
    status = await call(request, stubs(request).engine.GetStatus, engine_pb2.GetStatusRequest())
    return JSONResponse({"alerts": [to_json(alert) for alert in status.alerts]})
