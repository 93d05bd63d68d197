"""What every route module of the gateway shares: the client stubs and how a call is answered."""

from __future__ import annotations

from typing import cast

import grpc
from google.protobuf.message import Message
from starlette.requests import Request
from starlette.responses import JSONResponse
from tradeplane.v1 import (
    backtest_pb2_grpc,
    engine_pb2_grpc,
    market_data_pb2_grpc,
    ml_pb2_grpc,
    orders_pb2_grpc,
    portfolio_pb2_grpc,
    risk_pb2_grpc,
    strategies_pb2_grpc,
)

from entrypoints.web.transcode import BadInput, Rpc, call, to_json


class Stubs:
    """The client stubs over the gateway's loopback channel to the control plane."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.engine: engine_pb2_grpc.EngineServiceAsyncStub = engine_pb2_grpc.EngineServiceStub(channel)
        self.orders: orders_pb2_grpc.OrderServiceAsyncStub = orders_pb2_grpc.OrderServiceStub(channel)
        self.portfolio: portfolio_pb2_grpc.PortfolioServiceAsyncStub = (
            portfolio_pb2_grpc.PortfolioServiceStub(channel)
        )
        self.market: market_data_pb2_grpc.MarketDataServiceAsyncStub = (
            market_data_pb2_grpc.MarketDataServiceStub(channel)
        )
        self.risk: risk_pb2_grpc.RiskServiceAsyncStub = risk_pb2_grpc.RiskServiceStub(channel)
        self.strategies: strategies_pb2_grpc.StrategyServiceAsyncStub = (
            strategies_pb2_grpc.StrategyServiceStub(channel)
        )
        self.backtests: backtest_pb2_grpc.BacktestServiceAsyncStub = backtest_pb2_grpc.BacktestServiceStub(
            channel
        )
        self.ml: ml_pb2_grpc.MlServiceAsyncStub = ml_pb2_grpc.MlServiceStub(channel)


def stubs(request: Request) -> Stubs:
    return cast(Stubs, request.app.state.stubs)


async def answer(request: Request, rpc: Rpc, message: Message) -> JSONResponse:
    """``rpc(message)`` as the caller, its answer as JSON (a failure: the exception handler's)."""
    return JSONResponse(to_json(await call(request, rpc, message)))


def from_path(message: Message, field: str, value: str) -> None:
    """Set ``field`` of ``message`` to the path's ``value``; a body or query giving another is 400."""
    given = getattr(message, field)
    if given and given != value:
        raise BadInput(f"{field}: the path says {value[:64]!r}, the request {given[:64]!r}", field=field)
    setattr(message, field, value)
