"""Redis Streams as the bus between processes, against a real Redis.

The consumer-group guarantees are checked the hard way: a consumer "crashes" (its handler
raises a BaseException, which nothing in the consumer catches, and its client is closed without
acking), another one claims what it left, and every event must be handled exactly once in the
union — a duplicate fails the test as much as a loss.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import orjson
import pytest
import redis
from redis.typing import EncodableT, FieldT

from adapters.redis.codec import decode, encode
from adapters.redis.stream_bus import (
    Delivery,
    RedisStreamBus,
    RedisStreamConsumer,
    StreamRouting,
)
from application.bus import MessageBus
from application.messages import OrderFilled, PositionChanged
from domain.identifiers import ClientOrderId, TradeId
from domain.market_data import QuoteTick, TradeTick
from domain.orders import Fill
from domain.values import AggressorSide, OrderSide
from tests.builders import BTCUSDT, TS
from tests.integration.redis.conftest import run
from tests.integration.redis.proxy import Proxy

pytestmark = pytest.mark.redis


class Crash(BaseException):
    """The consumer's process dies here: nothing after this line runs, nothing is acked."""


@dataclass(frozen=True)
class LocalOnly:
    """A message type that is not exported: it stays on the local bus."""

    n: int


def quote(n: int) -> QuoteTick:
    return QuoteTick.create(
        instrument_id=BTCUSDT,
        bid_price=Decimal("100.10") + n,
        bid_size="1.50",
        ask_price=Decimal("100.20") + n,
        ask_size="2",
        ts_event=TS + n,
        ts_init=TS + n,
    )


def fill(n: int) -> OrderFilled:
    return OrderFilled(
        fill=Fill(
            instrument_id=BTCUSDT,
            client_order_id=ClientOrderId(f"O-{n}"),
            trade_id=TradeId(f"T-{n}"),
            side=OrderSide.BUY,
            quantity=Decimal("0.001"),
            price=Decimal("65000.01"),
            fee=Decimal("-0.0000001"),
            ts_event=TS + n,
        )
    )


def publish(url: str, routing: StreamRouting, messages: Sequence[object]) -> None:
    with RedisStreamBus(url, routing=routing) as bus:
        for message in messages:
            bus.publish(message)
        assert bus.flush()
        assert bus.writes == len(messages)


def entries(admin: redis.Redis, stream: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Every entry of ``stream`` (the admin client returns bytes; redis-py's types allow more)."""
    return cast("list[tuple[bytes, dict[bytes, bytes]]]", admin.xrange(stream))


def wait_until(condition: Callable[[], bool], timeout_s: float, what: Callable[[], object]) -> None:
    """Sleep until ``condition()`` holds; fail with ``what()`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what()
        time.sleep(0.005)


def pending(admin: redis.Redis, stream: str, group: str) -> dict[str, int]:
    """Pending entries per consumer."""
    summary = admin.xpending(stream, group)
    return {consumer["name"].decode(): int(consumer["pending"]) for consumer in summary["consumers"]}


async def drain(consumer: RedisStreamConsumer, done: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll until ``done()`` is true."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"not done in time: {consumer.stats}"
        await consumer.poll(20)


# -- publishing -------------------------------------------------------------------------------


def test_publish_delivers_locally_and_appends_exported_types_to_their_family_stream(
    redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    local: list[object] = []
    position = PositionChanged(
        instrument_id=BTCUSDT,
        quantity=Decimal("0.001"),
        avg_entry_price=Decimal("65000.01"),
        realized_pnl=Decimal(0),
        fees=Decimal("0.0000001"),
        ts_event=TS,
    )
    with RedisStreamBus(redis_url, routing=routing, producer_id="engine-1") as bus:
        assert bus.wants(QuoteTick)  # exported: readers elsewhere are unknown, so always worth building
        assert not bus.wants(LocalOnly)
        bus.subscribe(LocalOnly, local.append)
        bus.subscribe(QuoteTick, local.append)
        assert bus.wants(LocalOnly)
        for message in (quote(1), fill(1), position, LocalOnly(1), quote(2)):
            bus.publish(message)
        assert bus.flush()
        bus.unsubscribe(LocalOnly, local.append)
        assert not bus.wants(LocalOnly)
        assert bus.writes == 4
        assert bus.healthy

    assert local == [quote(1), LocalOnly(1), quote(2)]
    market = entries(admin, f"{routing.prefix}stream:market")
    assert [decode(fields[b"data"]) for _, fields in market] == [quote(1), quote(2)]
    assert [fields[b"type"] for _, fields in market] == [b"QuoteTick", b"QuoteTick"]
    assert [fields[b"mid"] for _, fields in market] == [b"engine-1:1", b"engine-1:4"]
    reports = entries(admin, f"{routing.prefix}stream:reports")
    assert [decode(fields[b"data"]) for _, fields in reports] == [fill(1)]
    events = entries(admin, f"{routing.prefix}stream:events")
    assert [decode(fields[b"data"]) for _, fields in events] == [position]
    assert orjson.loads(reports[0][1][b"data"])["fill"]["fee"] == "-1E-7"  # exact, as a string


def test_exported_narrows_what_leaves_the_process(
    redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    with RedisStreamBus(redis_url, routing=routing, exported=[OrderFilled]) as bus:
        assert not bus.wants(QuoteTick)
        bus.publish(quote(1))
        bus.publish(fill(1))
        assert bus.flush()
    assert admin.exists(f"{routing.prefix}stream:market") == 0
    assert admin.xlen(f"{routing.prefix}stream:reports") == 1


def test_publish_survives_redis_going_away_and_writes_everything_in_order_on_recovery(
    proxy: Proxy, routing: StreamRouting, admin: redis.Redis
) -> None:
    messages = [quote(n) for n in range(100)]
    with RedisStreamBus(proxy.url, routing=routing, backoff_s=0.2, batch_size=7) as bus:
        for message in messages[:10]:
            bus.publish(message)
        assert bus.flush()
        proxy.down()
        slowest = 0.0
        for message in messages[10:]:
            started = time.perf_counter()
            bus.publish(message)
            slowest = max(slowest, time.perf_counter() - started)
        wait_until(lambda: not bus.healthy, 3, bus.health)
        assert slowest < 0.1, f"publish took {slowest * 1000:.1f} ms while Redis was down"
        assert bus.pending > 0
        proxy.up()
        wait_until(lambda: bus.healthy and bus.pending == 0, 5, bus.health)
        assert bus.dropped == 0
    stored = [decode(fields[b"data"]) for _, fields in entries(admin, routing.stream("market"))]
    assert stored == messages  # nothing lost, nothing repeated, in publish order


def test_a_full_outbox_drops_the_oldest_and_counts_it(
    closed_port_url: str, routing: StreamRouting, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tradeplane.redis")
    with RedisStreamBus(
        closed_port_url, routing=routing, background=False, max_pending=10, backoff_s=30
    ) as bus:
        for n in range(15):
            bus.publish(quote(n))
        assert not bus.healthy
        assert bus.pending == 10
        assert bus.dropped == 5
        assert not bus.flush(timeout_s=0.1)
    assert any("outbox full" in record.getMessage() for record in caplog.records)


# -- consuming --------------------------------------------------------------------------------


def test_every_event_is_handled_exactly_once_across_a_consumer_crash(
    redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    events = [quote(n) for n in range(120)]
    publish(redis_url, routing, events)
    stream = routing.stream("market")
    handled: list[tuple[str, str, object]] = []  # (consumer, entry id, message)

    async def scenario() -> None:
        def crashing_handler(message: object) -> None:
            if len(handled) == 20:
                raise Crash  # mid-batch: A read 50 entries, handled 20
            assert a.current is not None
            handled.append(("a", a.current.entry_id, message))

        a = RedisStreamConsumer(
            redis_url, "strategy", "a", [stream], crashing_handler, routing=routing, count=50, min_idle_ms=150
        )
        with pytest.raises(Crash):
            await a.poll(0)
        await a.aclose()  # the process is gone; its 30 unhandled entries stay pending on "a"
        assert pending(admin, stream, "strategy") == {"a": 30}

        def handler(message: object) -> None:
            assert b.current is not None
            handled.append(("b", b.current.entry_id, message))

        b = RedisStreamConsumer(
            redis_url,
            "strategy",
            "b",
            [stream],
            handler,
            routing=routing,
            count=50,
            min_idle_ms=150,
            claim_interval_ms=50,
        )
        try:
            await drain(b, lambda: len(handled) >= len(events))
            await asyncio.sleep(0.2)  # anything claimable twice would be claimed now
            await b.poll(0)
            await b.claim()
            assert b.stats.claimed == 30
            assert b.stats.handled == 100
        finally:
            await b.aclose()

    run(scenario())
    per_entry = Counter(entry_id for _, entry_id, _ in handled)
    assert [entry for entry, times in per_entry.items() if times > 1] == []  # no duplicate
    assert sorted((m for _, _, m in handled), key=lambda q: q.ts_event) == events  # type: ignore[attr-defined]
    assert Counter(consumer for consumer, _, _ in handled) == {"a": 20, "b": 100}
    assert pending(admin, stream, "strategy") == {}  # everything acked


def test_a_crash_after_the_handler_but_before_the_ack_redelivers_and_the_mid_makes_it_idempotent(
    redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    events = [quote(n) for n in range(10)]
    publish(redis_url, routing, events)
    stream = routing.stream("market")
    effects: dict[str, object] = {}  # the handler's effect, keyed by the producer's message id
    deliveries: list[Delivery] = []

    def idempotent(consumer: RedisStreamConsumer) -> object:
        def handle(message: object) -> None:
            delivery = consumer.current
            assert delivery is not None
            deliveries.append(delivery)
            effects.setdefault(delivery.mid, message)
            if consumer.name == "a" and len(effects) == 5:
                raise Crash  # after the effect, before the XACK

        return handle

    async def scenario() -> None:
        a = RedisStreamConsumer(
            redis_url, "g", "a", [stream], lambda m: None, routing=routing, min_idle_ms=100
        )
        a._deliver = idempotent(a)  # type: ignore[assignment]  # reach the consumer from its handler
        with pytest.raises(Crash):
            await a.poll(0)
        await a.aclose()
        b = RedisStreamConsumer(
            redis_url,
            "g",
            "b",
            [stream],
            lambda m: None,
            routing=routing,
            min_idle_ms=100,
            claim_interval_ms=50,
        )
        b._deliver = idempotent(b)  # type: ignore[assignment]
        try:
            await drain(b, lambda: pending(admin, stream, "g") == {})
        finally:
            await b.aclose()

    run(scenario())
    assert list(effects.values()) == events  # each effect exactly once
    runs = Counter(delivery.entry_id for delivery in deliveries)
    # At-least-once: the fifth entry ran twice...
    [twice] = [entry_id for entry_id, times in runs.items() if times > 1]
    first, second = [delivery for delivery in deliveries if delivery.entry_id == twice]
    assert first.mid == second.mid  # the same ids both times, so the handler could tell
    assert (first.deliveries, second.deliveries) == (1, 2)


def test_a_restarted_consumer_first_handles_its_own_pending_entries(
    redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    events = [fill(n) for n in range(8)]
    publish(redis_url, routing, events)
    stream = routing.stream("reports")
    handled: list[tuple[object, int]] = []

    async def scenario() -> None:
        def crashing(message: object) -> None:
            if len(handled) == 3:
                raise Crash
            handled.append((message, 1))

        first = RedisStreamConsumer(redis_url, "execution", "exec-1", [stream], crashing, routing=routing)
        with pytest.raises(Crash):
            await first.poll(0)
        await first.aclose()
        assert pending(admin, stream, "execution") == {"exec-1": 5}

        def record(message: object) -> None:
            assert again.current is not None
            handled.append((message, again.current.deliveries))

        # Same name, new process: min_idle_ms is far away, so only the re-read can find them.
        again = RedisStreamConsumer(redis_url, "execution", "exec-1", [stream], record, routing=routing)
        try:
            assert await again.start() == 5
            assert pending(admin, stream, "execution") == {}
            assert await again.poll(0) == 0
        finally:
            await again.aclose()

    run(scenario())
    assert [message for message, _ in handled] == events
    assert [count for _, count in handled] == [1, 1, 1, 2, 2, 2, 2, 2]


def test_a_failing_handler_leaves_the_entry_pending_and_it_is_retried(
    redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    publish(redis_url, routing, [quote(1)])
    stream = routing.stream("market")
    local = MessageBus()
    calls: list[int] = []

    def flaky(message: QuoteTick) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")

    local.subscribe(QuoteTick, flaky)

    async def scenario() -> None:
        consumer = RedisStreamConsumer(
            redis_url, "g", "c", [stream], local, routing=routing, min_idle_ms=50, claim_interval_ms=20
        )
        try:
            assert await consumer.poll(0) == 1
            assert consumer.stats.failed == 1
            assert consumer.stats.handled == 0
            assert pending(admin, stream, "g") == {"c": 1}  # not acked
            await drain(consumer, lambda: consumer.stats.handled == 1)
        finally:
            await consumer.aclose()

    run(scenario())
    assert len(calls) == 2
    assert pending(admin, stream, "g") == {}


def test_an_entry_delivered_more_than_max_deliveries_goes_to_the_dead_letter_stream(
    redis_url: str, routing: StreamRouting, admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tradeplane.redis")
    poison = quote(13)
    publish(redis_url, routing, [quote(1), poison, quote(2)])
    stream = routing.stream("market")
    local = MessageBus()
    handled: list[QuoteTick] = []
    poisoned: list[int] = []

    def handler(message: QuoteTick) -> None:
        if message == poison:
            poisoned.append(1)
            raise ValueError("cannot digest quote 13")
        handled.append(message)

    local.subscribe(QuoteTick, handler)

    async def scenario() -> RedisStreamConsumer:
        consumer = RedisStreamConsumer(
            redis_url,
            "g",
            "c",
            [stream],
            local,
            routing=routing,
            max_deliveries=3,
            min_idle_ms=30,
            claim_interval_ms=20,
        )
        try:
            await drain(consumer, lambda: consumer.stats.dead_lettered == 1)
        finally:
            await consumer.aclose()
        return consumer

    consumer = run(scenario())
    assert handled == [quote(1), quote(2)]
    assert len(poisoned) == 3  # delivered 3 times; the 4th delivery goes to the dead letters
    assert pending(admin, stream, "g") == {}
    [(_, record)] = entries(admin, routing.dead_letter_stream)
    assert decode(record[b"data"]) == poison  # the entry as it was, plus why and whence
    assert record[b"dead_letter_reason"] == b"delivered 4 times (max 3)"
    assert record[b"dead_letter_stream"] == stream.encode()
    assert record[b"dead_letter_group"] == b"g"
    assert consumer.stats.last_dead_letter == "delivered 4 times (max 3)"
    messages = [record.getMessage() for record in caplog.records]
    assert sum("handler failed" in m and "cannot digest quote 13" in m for m in messages) == 3
    assert any("dead-lettered" in m and "delivered 4 times" in m for m in messages)


def test_malformed_entries_are_dead_lettered_with_a_logged_reason(
    redis_url: str, routing: StreamRouting, admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tradeplane.redis")
    stream = routing.stream("market")
    trade = TradeTick.create(
        instrument_id=BTCUSDT,
        price="1",
        size="1",
        aggressor=AggressorSide.BUYER,
        trade_id="t",
        ts_event=TS,
        ts_init=TS,
    )
    admin.xadd(stream, {"v": "1", "type": "QuoteTick", "mid": "p:1", "data": encode(quote(1))})
    admin.xadd(stream, {"v": "1", "something": "else"})
    admin.xadd(stream, {"v": "1", "type": "Teleport", "mid": "p:2", "data": b"{}"})
    admin.xadd(stream, {"v": "1", "type": "QuoteTick", "mid": "p:3", "data": b"not json"})
    admin.xadd(stream, {"v": "1", "type": "QuoteTick", "mid": "p:4", "data": encode(trade)})
    admin.xadd(stream, {"v": "1", "type": "QuoteTick", "data": encode(quote(2))})
    admin.xadd(
        stream,
        {
            "v": "1",
            "type": "QuoteTick",
            "mid": "p:5",
            "data": b'{"v": "1", "type": "QuoteTick", "bid_price": 1.5}',
        },
    )
    admin.xadd(stream, {"v": "1", "type": "QuoteTick", "mid": "p:6", "data": encode(quote(3))})
    admin.xadd(stream, {"type": "QuoteTick", "mid": "p:7", "data": encode(quote(4))})
    admin.xadd(stream, {"v": "2", "type": "QuoteTick", "mid": "p:8", "data": encode(quote(5))})
    handled: list[object] = []

    async def scenario() -> RedisStreamConsumer:
        consumer = RedisStreamConsumer(redis_url, "g", "c", [stream], handled.append, routing=routing)
        try:
            assert await consumer.poll(0) == 10
        finally:
            await consumer.aclose()
        return consumer

    consumer = run(scenario())
    assert handled == [quote(1), quote(3)]
    assert consumer.stats.malformed == consumer.stats.dead_lettered == 8
    assert pending(admin, stream, "g") == {}
    reasons = [
        fields[b"dead_letter_reason"].decode() for _, fields in entries(admin, routing.dead_letter_stream)
    ]
    assert reasons[0] == "malformed: no 'type' field"
    assert reasons[1] == "malformed: unknown message type 'Teleport'"
    assert reasons[2].startswith("malformed: cannot decode: not JSON")
    assert reasons[3] == "malformed: 'type' field says QuoteTick but the data holds TradeTick"
    assert reasons[4] == "malformed: missing the 'data' or 'mid' field"
    assert reasons[5].startswith("malformed: cannot decode QuoteTick: missing field(s)")
    assert reasons[6] == "malformed: no 'v' field (wire format version; this process reads version 1)"
    assert reasons[7] == "malformed: wire format version '2'; this process reads version 1"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for reason in reasons:
        assert reason in logged


def test_types_no_local_handler_wants_are_acked_without_decoding(
    redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    stream = routing.stream("market")
    admin.xadd(stream, {"type": "TradeTick", "mid": "p:1", "data": b"unread, so never found malformed"})
    publish(redis_url, routing, [quote(1)])
    local = MessageBus()
    got: list[QuoteTick] = []
    local.subscribe(QuoteTick, got.append)

    async def scenario() -> RedisStreamConsumer:
        consumer = RedisStreamConsumer(redis_url, "g", "c", [stream], local, routing=routing)
        try:
            await consumer.poll(0)
        finally:
            await consumer.aclose()
        return consumer

    consumer = run(scenario())
    assert got == [quote(1)]
    assert consumer.stats.ignored == 1
    assert pending(admin, stream, "g") == {}


def test_a_message_written_twice_by_a_publisher_retry_is_handled_once(
    redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    stream = routing.stream("reports")
    entry: dict[FieldT, EncodableT] = {
        "v": "1",
        "type": "OrderFilled",
        "mid": "engine-1:7",
        "data": encode(fill(7)),
    }
    admin.xadd(stream, entry)
    admin.xadd(stream, entry)  # the retry of a round trip whose reply was lost
    handled: list[object] = []

    async def scenario() -> RedisStreamConsumer:
        consumer = RedisStreamConsumer(redis_url, "g", "c", [stream], handled.append, routing=routing)
        try:
            await consumer.poll(0)
        finally:
            await consumer.aclose()
        return consumer

    consumer = run(scenario())
    assert handled == [fill(7)]
    assert consumer.stats.duplicates == 1
    assert pending(admin, stream, "g") == {}


def test_ack_per_batch_delivers_everything_once_with_one_ack_round_trip_per_batch(
    redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    events = [quote(n) for n in range(250)]
    publish(redis_url, routing, events)
    stream = routing.stream("market")
    handled: list[object] = []

    async def scenario() -> None:
        consumer = RedisStreamConsumer(
            redis_url, "g", "c", [stream], handled.append, routing=routing, ack_per_batch=True, count=100
        )
        try:
            await drain(consumer, lambda: len(handled) == len(events))
        finally:
            await consumer.aclose()

    run(scenario())
    assert handled == events
    assert pending(admin, stream, "g") == {}


def test_run_rides_out_a_redis_outage_and_resumes(
    proxy: Proxy, redis_url: str, routing: StreamRouting, admin: redis.Redis
) -> None:
    stream = routing.stream("market")
    publish(redis_url, routing, [quote(n) for n in range(5)])
    handled: list[QuoteTick] = []

    async def scenario() -> RedisStreamConsumer:
        consumer = RedisStreamConsumer(
            proxy.url, "g", "c", [stream], handled.append, routing=routing, block_ms=50, backoff_s=0.1
        )
        task = asyncio.create_task(consumer.run())
        try:
            while len(handled) < 5:
                await asyncio.sleep(0.01)
            proxy.down()
            await asyncio.to_thread(publish, redis_url, routing, [quote(n) for n in range(5, 10)])
            while consumer.healthy:
                await asyncio.sleep(0.01)
            proxy.up()
            while len(handled) < 10:
                await asyncio.sleep(0.01)
            consumer.stop()
            await task
        finally:
            task.cancel()
            await consumer.aclose()
        return consumer

    consumer = run(scenario())
    assert handled == [quote(n) for n in range(10)]
    assert consumer.healthy
    assert consumer.last_error
    assert pending(admin, stream, "g") == {}
