"""Stream fan-out under load: many subscribers, a slow one dropped, cancellation, server stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import grpc
from tradeplane.v1 import engine_pb2, market_data_pb2, orders_pb2

from domain.identifiers import InstrumentId
from tests.integration.grpc.support import (
    BTC,
    CALL_TIMEOUT_S,
    VIEWER,
    Env,
    next_message,
    refusal,
    subscribed,
    trade,
    wait_until,
)

Starter = Callable[..., Coroutine[Any, Any, Env]]


async def read_all(stream: Any, into: list[Any]) -> grpc.StatusCode:
    """Read until the stream ends; the status it ended with."""
    try:
        while (message := await stream.read()) is not grpc.aio.EOF:
            into.append(message)
    except grpc.aio.AioRpcError as error:
        return error.code()
    except asyncio.CancelledError:
        if not stream.cancelled():  # not our call's cancellation: the task's own
            raise
        return grpc.StatusCode.CANCELLED
    return await stream.code()  # type: ignore[no-any-return]


async def test_twenty_concurrent_subscribers_each_get_every_event_in_order(env: Env) -> None:
    channels = [env.channel() for _ in range(4)]  # five connections, four streams each
    streams = [
        stubs.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=VIEWER)
        for stubs in (env.stub, *channels)
        for _ in range(4)
    ]
    await subscribed(env, "trades", 20)
    received: list[list[Any]] = [[] for _ in streams]
    readers = [
        asyncio.create_task(read_all(stream, into)) for stream, into in zip(streams, received, strict=True)
    ]

    sent = [f"fan-{i}" for i in range(200)]
    for i, trade_id in enumerate(sent):
        env.publish(trade(f"{30000 + i % 7}.00", trade_id))
        if i % 50 == 49:  # let the server write (the buffer is large; this is just realistic)
            await asyncio.sleep(0)

    await wait_until(lambda: all(len(got) == len(sent) for got in received))
    for got in received:
        assert [m.trade.trade_id for m in got] == sent
    assert env.server.hub.stats.dropped == 0
    for stream in streams:
        stream.cancel()
    await asyncio.wait_for(asyncio.gather(*readers), CALL_TIMEOUT_S)
    await wait_until(lambda: env.server.hub.count() == 0)


async def test_a_slow_subscriber_is_dropped_and_a_fast_one_gets_everything(start: Starter) -> None:
    env = await start(stream_buffer=5)
    # The slow client never reads; without BDP probing its connection window stays small,
    # so the server soon cannot write to it and its five-message queue fills.
    slow = env.channel(("grpc.http2.bdp_probe", 0)).market.StreamTrades(
        market_data_pb2.StreamTradesRequest(), metadata=VIEWER
    )
    fast = env.stub.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=VIEWER)
    await subscribed(env, "trades", 2)
    fast_got: list[Any] = []
    fast_reader = asyncio.create_task(read_all(fast, fast_got))

    padding = "p" * 4000  # big messages fill the slow client's flow-control window sooner
    sent: list[str] = []
    while env.server.hub.stats.dropped == 0:
        assert len(sent) < 5000, "the slow subscriber was never dropped"
        for _ in range(4):  # fewer than the buffer at a time: the fast reader keeps up
            sent.append(f"{len(sent):05d}-{padding}")
            env.publish(trade("30000.00", sent[-1]))
        await wait_until(lambda: len(fast_got) == len(sent))
    for _ in range(3):  # the fast one goes on after the drop
        for _ in range(4):
            sent.append(f"{len(sent):05d}-after")
            env.publish(trade("30000.00", sent[-1]))
        await wait_until(lambda: len(fast_got) == len(sent))

    assert [m.trade.trade_id for m in fast_got] == sent
    assert env.server.hub.stats.dropped == 1
    assert env.server.hub.count("trades") == 1
    # The slow client finally reads: what was written before the drop, then the reason.
    slow_got: list[Any] = []
    with_error = None
    try:
        while (message := await asyncio.wait_for(slow.read(), CALL_TIMEOUT_S)) is not grpc.aio.EOF:
            slow_got.append(message)
    except grpc.aio.AioRpcError as error:
        with_error = refusal(error)
    assert with_error is not None, "the slow stream ended without an error"
    assert with_error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert with_error.message.startswith("stream dropped: the client fell more than 5 messages behind")
    assert with_error.reason == "SLOW_CONSUMER"
    assert 0 < len(slow_got) < len(sent)
    assert [m.trade.trade_id for m in slow_got] == sent[: len(slow_got)]  # a prefix, in order
    status = await env.stub.engine.GetStatus(
        engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=CALL_TIMEOUT_S
    )
    assert (status.counters.stream_drops, status.counters.stream_subscribers) == (1, 1)
    fast.cancel()
    await asyncio.wait_for(fast_reader, CALL_TIMEOUT_S)


async def test_a_client_that_cancels_leaves_the_hub(env: Env) -> None:
    streams = [
        env.stub.orders.StreamOrderEvents(orders_pb2.StreamOrderEventsRequest(), metadata=VIEWER),
        env.stub.market.StreamQuotes(market_data_pb2.StreamQuotesRequest(), metadata=VIEWER),
        env.stub.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=VIEWER),
    ]
    await wait_until(lambda: env.server.hub.count() == 3)
    env.publish(trade("30000.00", "before-cancel"))
    assert (await next_message(streams[2])).trade.trade_id == "before-cancel"

    for stream in streams:
        assert stream.cancel()
    await wait_until(lambda: env.server.hub.count() == 0)
    assert env.server.hub.stats.subscribers == 0
    for stream in streams:
        assert await stream.code() == grpc.StatusCode.CANCELLED
    env.publish(trade("30000.00", "after-cancel"))  # nobody to deliver to: no error anywhere
    assert env.server.hub.stats.dropped == 0


async def test_a_deadline_ends_a_stream_and_leaves_the_hub(env: Env) -> None:
    stream = env.stub.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=VIEWER, timeout=0.3)
    await subscribed(env, "trades")
    got: list[Any] = []
    assert await asyncio.wait_for(read_all(stream, got), CALL_TIMEOUT_S) == grpc.StatusCode.DEADLINE_EXCEEDED
    await wait_until(lambda: env.server.hub.count() == 0)


async def test_stopping_the_server_ends_open_streams(env: Env) -> None:
    trades = env.stub.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=VIEWER)
    orders = env.stub.orders.StreamOrderEvents(orders_pb2.StreamOrderEventsRequest(), metadata=VIEWER)
    await wait_until(lambda: env.server.hub.count() == 2)
    env.publish(trade("30000.00", "last-one"))
    got: list[Any] = []
    readers = [asyncio.create_task(read_all(trades, got)), asyncio.create_task(read_all(orders, []))]
    await wait_until(lambda: len(got) == 1)

    await asyncio.wait_for(env.server.stop(grace=2.0), CALL_TIMEOUT_S)

    codes = await asyncio.wait_for(asyncio.gather(*readers), CALL_TIMEOUT_S)
    assert codes == [grpc.StatusCode.OK, grpc.StatusCode.OK]  # ended by the server, cleanly
    assert [m.trade.trade_id for m in got] == ["last-one"]
    assert env.server.hub.count() == 0
    env.publish(trade("30005.00", "after-stop"))  # the engine itself goes on
    assert env.app.market.last_price(InstrumentId(BTC)) == Decimal("30005.00")
    assert env.app.bus.stats.handler_errors == 0
