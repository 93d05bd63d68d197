"""RiskService: limits (read, change at once), the trading state, and the kill switch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc
from tradeplane.v1 import risk_pb2, risk_pb2_grpc

from application.commands import CancelAllOrders, Halt, Resume, UpdateRiskLimits
from application.execution import OrderManager, RiskMonitor
from application.ports import CommandBus
from domain.errors import InvalidParameter
from domain.risk import RiskLimits
from entrypoints.grpc import mapping
from entrypoints.grpc.errors import echo, invalid, unary

if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]
MAX_REASON = 500
_LIMIT_NAMES = tuple(field.name for field in risk_pb2.RiskLimits.DESCRIPTOR.fields)
_OPTIONAL = tuple(name for name in _LIMIT_NAMES if name != "instrument_limits")


class RiskService(risk_pb2_grpc.RiskServiceServicer):
    """Changes go through the command bus; the state is read from the risk monitor."""

    def __init__(self, *, commands: CommandBus, risk: RiskMonitor, orders: OrderManager) -> None:
        self._commands = commands
        self._risk = risk
        self._orders = orders

    def _state(self) -> risk_pb2.RiskState:
        trading = self._risk.trading
        reason = trading.reason
        return risk_pb2.RiskState(
            state=mapping.TRADING_STATE_TO_PROTO[trading.state],
            reason=reason.value if reason is not None else "",
            message=trading.message,
            since=mapping.timestamp(trading.since_ns),
            daily_pnl=mapping.text(trading.daily_pnl),
            equity=mapping.text(trading.equity),
            peak_equity=mapping.text(trading.peak_equity),
            drawdown=mapping.text(trading.drawdown),
            drawdown_fraction=mapping.text(trading.drawdown_fraction),
            open_orders=len(self._orders.open_orders),
        )

    @unary
    async def GetRiskLimits(
        self, request: risk_pb2.GetRiskLimitsRequest, context: Ctx
    ) -> risk_pb2.GetRiskLimitsResponse:
        return risk_pb2.GetRiskLimitsResponse(limits=mapping.risk_limits_to_proto(self._risk.limits))

    @unary
    async def UpdateRiskLimits(
        self, request: risk_pb2.UpdateRiskLimitsRequest, context: Ctx
    ) -> risk_pb2.UpdateRiskLimitsResponse:
        changes = _changes(request)
        if not changes:
            raise invalid("limits", "set at least one limit, or name one in clear")
        try:
            limits = self._risk.limits.updated(changes)
        except InvalidParameter as error:
            field = f"limits.{error.field}"
            raise invalid(field, error.problem) from None
        self._commands.execute(UpdateRiskLimits(limits))
        return risk_pb2.UpdateRiskLimitsResponse(
            limits=mapping.risk_limits_to_proto(limits), state=self._state()
        )

    @unary
    async def GetRiskState(
        self, request: risk_pb2.GetRiskStateRequest, context: Ctx
    ) -> risk_pb2.GetRiskStateResponse:
        return risk_pb2.GetRiskStateResponse(state=self._state())

    @unary
    async def Halt(self, request: risk_pb2.HaltRequest, context: Ctx) -> risk_pb2.HaltResponse:
        reason = request.reason.strip()
        if not reason:
            raise invalid("reason", "is required: say why trading is halted")
        if len(reason) > MAX_REASON:
            raise invalid("reason", f"must be at most {MAX_REASON} characters (was {len(reason)})")
        self._commands.execute(Halt(reason))
        canceled = self._commands.execute(CancelAllOrders()) if request.cancel_open_orders else ()
        return risk_pb2.HaltResponse(
            state=self._state(), canceled_orders=[mapping.order_to_proto(o) for o in canceled]
        )

    @unary
    async def Resume(self, request: risk_pb2.ResumeRequest, context: Ctx) -> risk_pb2.ResumeResponse:
        self._commands.execute(Resume(reset_peak=request.reset_peak))  # ResumeRefused: FAILED_PRECONDITION
        return risk_pb2.ResumeResponse(state=self._state())


def _changes(request: risk_pb2.UpdateRiskLimitsRequest) -> dict[str, object]:
    """The request as a mapping for ``RiskLimits.updated`` (None removes a limit)."""
    given = request.limits
    changes: dict[str, object] = {name: getattr(given, name) for name in _OPTIONAL if given.HasField(name)}
    if given.instrument_limits:
        changes["instrument_limits"] = {
            iid: {
                name: getattr(overrides, name)
                for name in ("max_order_quantity", "max_position_quantity")
                if overrides.HasField(name)
            }
            for iid, overrides in given.instrument_limits.items()
        }
    for index, name in enumerate(request.clear):
        if name not in _LIMIT_NAMES:
            raise invalid(
                f"clear[{index}]", f"{echo(name)} is not a risk limit; known: {', '.join(_LIMIT_NAMES)}"
            )
        if name in changes:
            raise invalid(f"clear[{index}]", f"{echo(name)} is both set and cleared")
        changes[name] = {} if name == "instrument_limits" else None
    return changes


__all__ = ["RiskLimits", "RiskService"]
