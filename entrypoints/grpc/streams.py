"""Fan-out of engine events to gRPC stream subscribers, without ever slowing the engine.

The hub is on the bus for a topic only while that topic has subscribers, so with nobody
watching the engine does not even build the notifications (``bus.wants``). Each event is
converted to its protobuf message once, only when some subscriber wants it, and offered
to each matching subscriber's bounded queue with ``put_nowait``: the bus handler never
waits. A subscriber whose queue is full has fallen behind; it is dropped at once (its
queue is cleared and told so) and its RPC ends with RESOURCE_EXHAUSTED saying why, while
everyone else goes on. A client that cancels its call simply leaves (the handler's
``finally`` unsubscribes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import grpc
from tradeplane.v1 import market_data_pb2, orders_pb2, portfolio_pb2, strategies_pb2

from application.messages import AlertRaised, AlertResolved, OrderUpdated, PositionChanged, SignalEmitted
from application.ports import EventBus
from domain.market_data import QuoteTick, TradeTick
from domain.portfolio import Portfolio
from entrypoints.grpc import mapping
from entrypoints.grpc.errors import ApiError

log = logging.getLogger("tradeplane.grpc.streams")

DEFAULT_BUFFER = 10_000
"""Messages a subscriber may lag behind before it is dropped."""

M = TypeVar("M")


class _Signal:
    """Sentinels put in a subscriber's queue: dropped (too slow) or closed (server stopping)."""

    def __init__(self, name: str) -> None:
        self.name = name


DROPPED = _Signal("dropped")
CLOSED = _Signal("closed")


@dataclass(eq=False, slots=True)
class Subscriber(Generic[M]):
    """One open stream: what it wants and what it has not read yet."""

    topic: str
    wants: Callable[[Any], bool]
    queue: asyncio.Queue[M | _Signal]
    peer: str = ""
    delivered: int = 0


@dataclass(slots=True)
class HubStats:
    subscribers: int = 0
    dropped: int = 0
    published: dict[str, int] = field(default_factory=dict)
    dropped_by_topic: dict[str, int] = field(default_factory=dict)
    """``dropped`` per topic (metrics)."""


class StreamHub:
    """Topics ``order_events``, ``positions``, ``quotes``, ``trades``, ``signals``, ``alerts``."""

    def __init__(self, bus: EventBus, portfolio: Portfolio, *, buffer: int = DEFAULT_BUFFER) -> None:
        if buffer < 1:
            raise ValueError(f"stream buffer must be at least 1 (was {buffer})")
        self.buffer = buffer
        self._bus = bus
        self._portfolio = portfolio
        self._sources: dict[str, tuple[tuple[type, Callable[[Any], None]], ...]] = {
            "order_events": ((OrderUpdated, self._on_order_updated),),
            "positions": ((PositionChanged, self._on_position_changed),),
            "quotes": ((QuoteTick, self._on_quote),),
            "trades": ((TradeTick, self._on_trade),),
            "signals": ((SignalEmitted, self._on_signal),),
            "alerts": ((AlertRaised, self._on_alert_raised), (AlertResolved, self._on_alert_resolved)),
        }
        self._topics: dict[str, list[Subscriber[Any]]] = {name: [] for name in self._sources}
        self._sequence = 0
        self._closed = False
        self.stats = HubStats()

    # -- subscription ---------------------------------------------------------------------------

    def subscribe(self, topic: str, wants: Callable[[Any], bool], peer: str = "") -> Subscriber[Any]:
        if self._closed:
            raise ApiError(grpc.StatusCode.UNAVAILABLE, "the server is shutting down", reason="SHUTTING_DOWN")
        subscriber: Subscriber[Any] = Subscriber(topic, wants, asyncio.Queue(self.buffer), peer)
        subscribers = self._topics[topic]
        if not subscribers:
            for source in self._sources[topic]:
                self._bus.subscribe(*source)
        subscribers.append(subscriber)
        self.stats.subscribers += 1
        return subscriber

    def unsubscribe(self, subscriber: Subscriber[Any]) -> None:
        subscribers = self._topics[subscriber.topic]
        if subscriber in subscribers:
            subscribers.remove(subscriber)
            self.stats.subscribers -= 1
            if not subscribers:
                for source in self._sources[subscriber.topic]:
                    self._bus.unsubscribe(*source)

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self._topics)

    def count(self, topic: str | None = None) -> int:
        if topic is not None:
            return len(self._topics[topic])
        return sum(len(subscribers) for subscribers in self._topics.values())

    async def messages(self, subscriber: Subscriber[M]) -> AsyncIterator[M]:
        """Yield the subscriber's messages until it is dropped, closed, or the client leaves."""
        try:
            while True:
                item = await subscriber.queue.get()
                if item is DROPPED:
                    raise ApiError(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"stream dropped: the client fell more than {self.buffer} messages behind;"
                        " read faster or filter, then re-read state with the List/Get calls",
                        reason="SLOW_CONSUMER",
                    )
                if item is CLOSED:
                    return
                subscriber.delivered += 1
                yield item  # type: ignore[misc]  # sentinels were handled above
        finally:
            self.unsubscribe(subscriber)

    def close(self) -> None:
        """End every stream (server stopping): each gets CLOSED after what it already has."""
        self._closed = True
        for subscribers in self._topics.values():
            for subscriber in list(subscribers):
                self._offer(subscriber, CLOSED, force=True)

    # -- fan-out (bus handlers: never block, never raise into the engine) --------------------------

    def _offer(self, subscriber: Subscriber[Any], message: object, *, force: bool = False) -> None:
        queue = subscriber.queue
        try:
            queue.put_nowait(message)
        except asyncio.QueueFull:
            if not force and message is not CLOSED:
                self.stats.dropped += 1
                by_topic = self.stats.dropped_by_topic
                by_topic[subscriber.topic] = by_topic.get(subscriber.topic, 0) + 1
                log.warning(
                    "dropping %s subscriber %s: %d messages behind",
                    subscriber.topic,
                    subscriber.peer,
                    self.buffer,
                )
            while not queue.empty():  # make room for the one sentinel the reader must see
                queue.get_nowait()
            queue.put_nowait(DROPPED if not force else CLOSED)
            self.unsubscribe(subscriber)

    def _fan_out(self, topic: str, event: object, build: Callable[[], object]) -> None:
        subscribers = self._topics[topic]
        message = None
        for subscriber in tuple(subscribers):
            if subscriber.wants(event):
                if message is None:
                    message = build()
                self._offer(subscriber, message)

    def _on_order_updated(self, update: OrderUpdated) -> None:
        self._sequence += 1
        sequence = self._sequence
        self._fan_out(
            "order_events",
            update,
            lambda: orders_pb2.StreamOrderEventsResponse(
                event=mapping.order_event_to_proto(
                    update.event, update.instrument_id, update.strategy_id, sequence
                )
            ),
        )

    def _on_position_changed(self, change: PositionChanged) -> None:
        position = self._portfolio.positions.get(change.instrument_id)
        if position is None:
            return
        mark = self._portfolio.marks.get(change.instrument_id)
        self._fan_out(
            "positions",
            change,
            lambda: portfolio_pb2.StreamPositionsResponse(position=mapping.position_to_proto(position, mark)),
        )

    def _on_quote(self, quote: QuoteTick) -> None:
        self._fan_out(
            "quotes",
            quote,
            lambda: market_data_pb2.StreamQuotesResponse(quote=mapping.quote_to_proto(quote)),
        )

    def _on_trade(self, tick: TradeTick) -> None:
        self._fan_out(
            "trades",
            tick,
            lambda: market_data_pb2.StreamTradesResponse(trade=mapping.trade_to_proto(tick)),
        )

    def _on_signal(self, emitted: SignalEmitted) -> None:
        self._fan_out(
            "signals",
            emitted,
            lambda: strategies_pb2.StreamSignalsResponse(signal=mapping.signal_to_proto(emitted.signal)),
        )

    def _on_alert_raised(self, raised: AlertRaised) -> None:
        self._fan_out("alerts", raised, lambda: mapping.alert_event_to_proto(raised))

    def _on_alert_resolved(self, resolved: AlertResolved) -> None:
        self._fan_out("alerts", resolved, lambda: mapping.alert_event_to_proto(resolved))
