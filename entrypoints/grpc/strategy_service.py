"""StrategyService: list, start, stop and retune strategies; stream their signals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
from tradeplane.v1 import strategies_pb2, strategies_pb2_grpc

from application.messages import SignalEmitted
from application.strategy_engine import StrategyEngine, StrategySlot
from domain.errors import InvalidParameter
from entrypoints.grpc import mapping
from entrypoints.grpc.errors import ApiError, invalid, server_stream, unary
from entrypoints.grpc.streams import StreamHub

if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]
MAX_PARAMETERS = 64
MAX_PARAMETER_TEXT = 200


def _kind(slot: StrategySlot) -> str:
    kind = getattr(slot.strategy, "kind", None)  # a strategy class serving several kinds says which
    return str(
        kind if isinstance(kind, str) else getattr(type(slot.strategy), "name", type(slot.strategy).__name__)
    )


class StrategyService(strategies_pb2_grpc.StrategyServiceServicer):
    def __init__(self, strategies: StrategyEngine, hub: StreamHub) -> None:
        self._strategies = strategies
        self._hub = hub

    def _slot(self, strategy_id: str) -> StrategySlot:
        return self._strategies.slot(mapping.parse_strategy_id(strategy_id))  # UnknownStrategy: NOT_FOUND

    def _proto(self, slot: StrategySlot) -> strategies_pb2.Strategy:
        return mapping.strategy_to_proto(slot, _kind(slot))

    @unary
    async def ListStrategies(
        self, request: strategies_pb2.ListStrategiesRequest, context: Ctx
    ) -> strategies_pb2.ListStrategiesResponse:
        return strategies_pb2.ListStrategiesResponse(
            strategies=[self._proto(slot) for slot in self._strategies.slots]
        )

    @unary
    async def StartStrategy(
        self, request: strategies_pb2.StartStrategyRequest, context: Ctx
    ) -> strategies_pb2.StartStrategyResponse:
        slot = self._slot(request.strategy_id)
        self._strategies.start(slot.id)
        return strategies_pb2.StartStrategyResponse(strategy=self._proto(slot))

    @unary
    async def StopStrategy(
        self, request: strategies_pb2.StopStrategyRequest, context: Ctx
    ) -> strategies_pb2.StopStrategyResponse:
        slot = self._slot(request.strategy_id)
        self._strategies.stop(slot.id)
        return strategies_pb2.StopStrategyResponse(strategy=self._proto(slot))

    @unary
    async def UpdateStrategyParams(
        self, request: strategies_pb2.UpdateStrategyParamsRequest, context: Ctx
    ) -> strategies_pb2.UpdateStrategyParamsResponse:
        slot = self._slot(request.strategy_id)
        params = dict(request.parameters)
        if not params:
            raise invalid("parameters", "give at least one parameter to change")
        if len(params) > MAX_PARAMETERS:
            raise invalid("parameters", f"at most {MAX_PARAMETERS} at once (was {len(params)})")
        for name, value in params.items():
            if len(value) > MAX_PARAMETER_TEXT:
                raise invalid(f"parameters.{name}", f"is longer than {MAX_PARAMETER_TEXT} characters")
        update = getattr(slot.strategy, "update_parameters", None)
        if update is None:
            raise ApiError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"strategy {slot.id} ({_kind(slot)}) cannot change parameters while running",
                reason="NOT_TUNABLE",
            )
        try:
            update(params)
        except InvalidParameter as error:
            raise invalid(f"parameters.{error.field}", error.problem) from None
        return strategies_pb2.UpdateStrategyParamsResponse(strategy=self._proto(slot))

    @server_stream
    async def StreamSignals(
        self, request: strategies_pb2.StreamSignalsRequest, context: Ctx
    ) -> AsyncIterator[strategies_pb2.StreamSignalsResponse]:
        strategy = mapping.parse_strategy_id(request.strategy_id) if request.strategy_id else None
        instrument_id = mapping.parse_instrument_id(request.instrument_id) if request.instrument_id else None

        def wants(emitted: SignalEmitted) -> bool:
            signal = emitted.signal
            return (strategy is None or signal.strategy_id == strategy) and (
                instrument_id is None or signal.instrument_id == instrument_id
            )

        subscriber = self._hub.subscribe("signals", wants, context.peer())
        async for message in self._hub.messages(subscriber):
            yield message
