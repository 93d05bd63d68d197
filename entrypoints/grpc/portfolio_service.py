"""PortfolioService: the account (balances, equity, P&L, drawdown) and positions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import grpc
from tradeplane.v1 import portfolio_pb2, portfolio_pb2_grpc

from application.execution.equity_history import EquityHistory
from application.messages import PositionChanged
from domain.portfolio import MissingMark, Portfolio
from entrypoints.grpc import mapping
from entrypoints.grpc.errors import invalid, server_stream, unary
from entrypoints.grpc.streams import StreamHub

if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]


class PortfolioService(portfolio_pb2_grpc.PortfolioServiceServicer):
    def __init__(self, portfolio: Portfolio, hub: StreamHub, equity: EquityHistory | None = None) -> None:
        self._portfolio = portfolio
        self._hub = hub
        self._equity = equity if equity is not None else EquityHistory()  # none kept: an empty curve

    @unary
    async def GetAccount(
        self, request: portfolio_pb2.GetAccountRequest, context: Ctx
    ) -> portfolio_pb2.GetAccountResponse:
        portfolio = self._portfolio
        account = portfolio_pb2.Account(
            valuation_currency=portfolio.valuation_currency,
            balances=[
                portfolio_pb2.Balance(asset=asset, total=mapping.text(amount))
                for asset, amount in sorted(portfolio.account.balances.items())
            ],
            realized_pnl=mapping.text(portfolio.realized_pnl()),
            fees=mapping.text(portfolio.fees()),
            peak_equity=mapping.text(portfolio.peak_equity),
        )
        try:
            equity: Decimal = portfolio.equity()
            account.equity = mapping.text(equity)
            account.unrealized_pnl = mapping.text(portfolio.unrealized_pnl())
            account.gross_exposure = mapping.text(portfolio.gross_exposure())
            account.net_exposure = mapping.text(portfolio.net_exposure())
            account.drawdown = mapping.text(portfolio.drawdown(equity))
            account.drawdown_fraction = mapping.text(portfolio.drawdown_fraction(equity))
        except MissingMark as missing:
            account.unvalued_reason = str(missing)
        return portfolio_pb2.GetAccountResponse(account=account)

    @unary
    async def ListPositions(
        self, request: portfolio_pb2.ListPositionsRequest, context: Ctx
    ) -> portfolio_pb2.ListPositionsResponse:
        portfolio = self._portfolio
        return portfolio_pb2.ListPositionsResponse(
            positions=[
                mapping.position_to_proto(position, portfolio.marks.get(iid))
                for iid, position in sorted(portfolio.positions.items())
                if request.include_flat or position.quantity
            ]
        )

    @unary
    async def GetEquityHistory(
        self, request: portfolio_pb2.GetEquityHistoryRequest, context: Ctx
    ) -> portfolio_pb2.GetEquityHistoryResponse:
        since = None
        if request.HasField("since"):
            if request.since.seconds < 0 or not 0 <= request.since.nanos < 1_000_000_000:
                raise invalid("since", "must be a time after 1970-01-01 with 0 <= nanos < 1e9")
            since = request.since.seconds * 1_000_000_000 + request.since.nanos
        history = self._equity
        return portfolio_pb2.GetEquityHistoryResponse(
            valuation_currency=self._portfolio.valuation_currency,
            points=[
                portfolio_pb2.EquityPoint(time=mapping.timestamp(p.ts_ns), equity=mapping.text(p.equity))
                for p in history.since(since)
            ],
            step_seconds=history.step_ns // 1_000_000_000,
            max_points=history.max_points,
        )

    @server_stream
    async def StreamPositions(
        self, request: portfolio_pb2.StreamPositionsRequest, context: Ctx
    ) -> AsyncIterator[portfolio_pb2.StreamPositionsResponse]:
        instrument_id = mapping.parse_instrument_id(request.instrument_id) if request.instrument_id else None

        def wants(change: PositionChanged) -> bool:
            return instrument_id is None or change.instrument_id == instrument_id

        subscriber = self._hub.subscribe("positions", wants, context.peer())
        async for message in self._hub.messages(subscriber):
            yield message
