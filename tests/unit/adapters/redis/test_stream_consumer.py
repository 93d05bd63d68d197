"""RedisStreamConsumer without a server: an entry is acked only after its handler returned.

A scripted stand-in for the asyncio client records every call, so the order "handler, then
XACK" and the absence of an XACK after a failure are visible call by call.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest

from adapters.redis.codec import encode
from adapters.redis.stream_consumer import RedisStreamConsumer
from adapters.redis.stream_routing import StreamRouting
from application.bus import MessageBus
from domain.market_data import QuoteTick
from tests.builders import BTCUSDT, TS

STREAM = "t:stream:market"


def quote(n: int) -> QuoteTick:
    return QuoteTick(BTCUSDT, Decimal(100 + n), Decimal(1), Decimal(101 + n), Decimal(1), TS + n, TS + n)


class FakeRedis:
    """Just the calls the consumer makes; ``xreadgroup`` serves ``new`` once for ``>``."""

    def __init__(self, new: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        self.new = new
        self.calls: list[tuple[str, Any]] = []

    async def xgroup_create(self, *args: Any, **kwargs: Any) -> bool:
        return True

    async def xreadgroup(self, group: str, name: str, streams: dict[str, str], **kwargs: Any) -> list[Any]:
        if any(position == ">" for position in streams.values()) and self.new:
            entries, self.new = self.new, []
            return [[STREAM.encode(), entries]]
        return []

    async def xautoclaim(self, *args: Any, **kwargs: Any) -> list[Any]:
        return [b"0-0", [], []]

    async def xpending_range(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    async def xack(self, stream: str, group: str, *ids: bytes) -> int:
        self.calls.append(("xack", ids))
        return len(ids)


def entry(n: int) -> tuple[bytes, dict[bytes, bytes]]:
    return (
        f"1-{n}".encode(),
        {b"v": b"1", b"type": b"QuoteTick", b"mid": f"p:{n}".encode(), b"data": encode(quote(n))},
    )


def consumer_of(fake: FakeRedis, handler: Any) -> RedisStreamConsumer:
    return RedisStreamConsumer(
        fake,  # type: ignore[arg-type]
        "g",
        "c",
        [STREAM],
        handler,
        routing=StreamRouting(prefix="t:"),
    )


def test_an_entry_is_acked_right_after_its_handler_returned() -> None:
    fake = FakeRedis([entry(1), entry(2)])

    def handler(message: object) -> None:
        fake.calls.append(("handled", message))

    assert asyncio.run(consumer_of(fake, handler).poll(0)) == 2
    assert fake.calls == [
        ("handled", quote(1)),
        ("xack", (b"1-1",)),
        ("handled", quote(2)),
        ("xack", (b"1-2",)),
    ]


def test_a_failing_handler_does_not_ack_and_the_next_entry_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tradeplane.redis")
    fake = FakeRedis([entry(1), entry(2)])

    def handler(message: object) -> None:
        if message == quote(1):
            raise RuntimeError("store unavailable")
        fake.calls.append(("handled", message))

    consumer = consumer_of(fake, handler)
    asyncio.run(consumer.poll(0))
    assert fake.calls == [("handled", quote(2)), ("xack", (b"1-2",))]
    assert consumer.stats.failed == 1
    assert consumer.stats.handled == 1
    assert consumer.current is None
    assert "RuntimeError: store unavailable" in caplog.text
    assert "left pending" in caplog.text


def test_a_failing_handler_on_a_message_bus_is_detected_and_not_acked() -> None:
    fake = FakeRedis([entry(1)])
    bus = MessageBus()
    seen: list[QuoteTick] = []
    bus.subscribe(QuoteTick, seen.append)

    def broken(message: QuoteTick) -> None:
        raise ZeroDivisionError("a handler bug")

    bus.subscribe(QuoteTick, broken)  # the bus isolates it; the consumer must notice

    consumer = consumer_of(fake, bus)
    asyncio.run(consumer.poll(0))
    assert seen == [quote(1)]
    assert fake.calls == []  # no XACK: the entry stays pending for a retry
    assert consumer.stats.failed == 1
    assert bus.stats.handler_errors == 1


def test_in_ack_per_batch_mode_a_failed_entry_is_left_out_of_the_batch_ack() -> None:
    fake = FakeRedis([entry(1), entry(2), entry(3)])

    def handler(message: object) -> None:
        if message == quote(2):
            raise RuntimeError("no")

    consumer = RedisStreamConsumer(
        fake,  # type: ignore[arg-type]
        "g",
        "c",
        [STREAM],
        handler,
        routing=StreamRouting(prefix="t:"),
        ack_per_batch=True,
    )
    fake_pipeline_calls: list[tuple[bytes, ...]] = []

    class Pipeline:
        async def __aenter__(self) -> Pipeline:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        def xack(self, stream: str, group: str, *ids: bytes) -> None:
            fake_pipeline_calls.append(ids)

        async def execute(self) -> list[int]:
            return [1]

    fake.pipeline = lambda transaction=True: Pipeline()  # type: ignore[attr-defined]
    asyncio.run(consumer.poll(0))
    assert fake_pipeline_calls == [(b"1-1", b"1-3")]
    assert fake.calls == []
