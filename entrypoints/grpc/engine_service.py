"""EngineService: what runs, since when, in which mode, how its feeds and streams are, its alerts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from tradeplane.v1 import engine_pb2, engine_pb2_grpc

from application.engine import Engine
from application.messages import Alert
from application.ports import Clock
from entrypoints.grpc import mapping
from entrypoints.grpc.errors import server_stream, unary
from entrypoints.grpc.streams import StreamHub

if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineInfo:
    """What the status reports that the engine itself does not know."""

    name: str
    version: str
    mode: str  # "live" or "demo"
    broker: str


class EngineService(engine_pb2_grpc.EngineServiceServicer):
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        hub: StreamHub,
        info: EngineInfo,
        requests: Callable[[], int],
        *,
        auth_refusals: Callable[[], int] = lambda: 0,
        alerts: Callable[[], Sequence[Alert]] = tuple,
    ) -> None:
        """``alerts`` gives the active alerts (the alert service's ``active``)."""
        self._engine = engine
        self._clock = clock
        self._hub = hub
        self._info = info
        self._requests = requests
        self._auth_refusals = auth_refusals
        self._alerts = alerts

    @unary
    async def GetStatus(
        self, request: engine_pb2.GetStatusRequest, context: Ctx
    ) -> engine_pb2.GetStatusResponse:
        status = self._engine.status()
        now = self._clock.now_ns()
        return engine_pb2.GetStatusResponse(
            name=self._info.name,
            version=self._info.version,
            mode=self._info.mode,
            broker=self._info.broker,
            running=status.running,
            start_time=mapping.timestamp(now - status.uptime_ns) if status.running else None,
            uptime=mapping.uptime(status),
            trading_state=mapping.TRADING_STATE_TO_PROTO[status.trading_state],
            trading_reason=status.trading_reason,
            equity=mapping.text(status.equity),
            feeds=[mapping.feed_to_proto(feed) for feed in status.feeds],
            counters=engine_pb2.Counters(
                trades_seen=status.trades_seen,
                signals=status.signals,
                orders_submitted=status.orders_submitted,
                fills=status.fills,
                risk_rejections=status.risk_rejections,
                open_orders=status.open_orders,
                handler_errors=status.handler_errors,
                stream_subscribers=self._hub.count(),
                stream_drops=self._hub.stats.dropped,
                grpc_requests=self._requests(),
                auth_refusals=self._auth_refusals(),
            ),
            broker_health=mapping.broker_health_to_proto(status.broker)
            if status.broker is not None
            else None,
            instruments=[mapping.instrument_data_to_proto(data) for data in status.instruments],
            alerts=[mapping.alert_to_proto(alert) for alert in self._alerts()],
        )

    @server_stream
    async def StreamAlerts(
        self, request: engine_pb2.StreamAlertsRequest, context: Ctx
    ) -> AsyncIterator[engine_pb2.StreamAlertsResponse]:
        # Subscribed before the active set is read, with no await between: no change is missed
        # and none is told twice.
        subscriber = self._hub.subscribe("alerts", lambda _: True, context.peer())
        active = [mapping.active_alert_to_proto(alert) for alert in self._alerts()]
        try:
            for message in active:
                yield message
        except BaseException:  # the client left before the changes began: messages() never ran
            self._hub.unsubscribe(subscriber)
            raise
        async for message in self._hub.messages(subscriber):
            yield message
