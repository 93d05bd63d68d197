"""Alerts over gRPC: StreamAlerts (the active set first, then changes) and GetStatus's alerts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import pytest
from tradeplane.v1 import engine_pb2

from application.commands import Halt, Resume
from application.strategy_engine import StrategySlot
from tests.integration.grpc.support import CALL_TIMEOUT_S, STRATEGY, TEST_TIMEOUT_S, VIEWER, Env, start_env

Kind = engine_pb2.StreamAlertsResponse


def within_env(test: Callable[[Env], Awaitable[None]]) -> None:
    async def scenario() -> None:
        env = await start_env()
        try:
            await test(env)
        finally:
            await env.close()

    asyncio.run(asyncio.wait_for(scenario(), TEST_TIMEOUT_S))


async def next_message(call: grpc.aio.UnaryStreamCall[engine_pb2.StreamAlertsRequest, Kind]) -> Kind:
    message = await asyncio.wait_for(call.read(), CALL_TIMEOUT_S)
    assert isinstance(message, Kind)
    return message


def strategy(env: Env) -> StrategySlot:
    return env.app.strategies.slot(STRATEGY)


def test_the_stream_opens_with_the_active_set_then_tells_each_change() -> None:
    async def test(env: Env) -> None:
        alerts = env.app.alerts
        env.app.bus.execute(Halt("maintenance window"))
        alerts.evaluate()

        call = env.stub.engine.StreamAlerts(engine_pb2.StreamAlertsRequest(), metadata=VIEWER)
        first = await next_message(call)
        assert first.kind == Kind.KIND_ACTIVE
        assert first.alert.name == "TradingHalted"
        assert first.alert.severity == engine_pb2.ALERT_SEVERITY_CRITICAL
        assert first.alert.summary == "trading HALTED: halted by an operator: maintenance window"
        assert first.alert.fired_at.seconds > 0
        assert not first.alert.HasField("resolved_at")

        slot = strategy(env)  # a strategy that raised: disabled, with its error
        slot.active, slot.error = False, "ValueError: bad tick"
        alerts.evaluate()
        raised = await next_message(call)
        assert (raised.kind, raised.alert.name) == (Kind.KIND_RAISED, "StrategyDisabled")
        assert dict(raised.alert.labels) == {"strategy": STRATEGY}
        assert raised.alert.severity == engine_pb2.ALERT_SEVERITY_WARNING

        env.app.bus.execute(Resume())
        alerts.evaluate()
        resolved = await next_message(call)
        assert (resolved.kind, resolved.alert.name) == (Kind.KIND_RESOLVED, "TradingHalted")
        assert resolved.alert.HasField("resolved_at")

        status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER)
        assert [(a.name, dict(a.labels)) for a in status.alerts] == [
            ("StrategyDisabled", {"strategy": STRATEGY})
        ]

        call.cancel()
        for _ in range(50):  # the server sees the cancel and leaves the bus
            if not env.server.hub.count("alerts"):
                break
            await asyncio.sleep(0.02)
        assert env.server.hub.count("alerts") == 0

    within_env(test)


def test_a_stream_opened_with_nothing_active_starts_with_the_next_change() -> None:
    async def test(env: Env) -> None:
        call = env.stub.engine.StreamAlerts(engine_pb2.StreamAlertsRequest(), metadata=VIEWER)
        for _ in range(50):  # subscribed once the server runs the handler
            if env.server.hub.count("alerts"):
                break
            await asyncio.sleep(0.02)
        env.app.bus.execute(Halt("test"))
        env.app.alerts.evaluate()
        message = await next_message(call)
        assert (message.kind, message.alert.name) == (Kind.KIND_RAISED, "TradingHalted")
        call.cancel()

    within_env(test)


def test_a_call_without_a_token_is_refused() -> None:
    async def test(env: Env) -> None:
        call = env.stub.engine.StreamAlerts(engine_pb2.StreamAlertsRequest())
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await next_message(call)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED

    within_env(test)
