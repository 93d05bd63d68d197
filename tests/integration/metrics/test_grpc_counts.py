"""With the control plane running beside it, the endpoint counts its calls and streams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import grpc
import pytest
from tradeplane.v1 import engine_pb2, market_data_pb2

from entrypoints.metrics import api_counts, start_metrics
from tests.integration.grpc.support import VIEWER, start_env
from tests.integration.metrics.support import TEST_TIMEOUT_S, scrape_value


async def _wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"{what} never happened")


def test_calls_are_counted_by_method_and_code_and_streams_by_topic() -> None:
    async def scenario() -> None:
        env = await start_env()
        settings = replace(env.settings, metrics={"listen": "127.0.0.1:0"})
        server = await start_metrics(env.app, settings, api=api_counts(env.server))
        assert server is not None
        try:
            await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest())
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
            stream = env.stub.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=VIEWER)
            await _wait_for(lambda: env.server.hub.count("trades") == 1, "the subscription")

            status = "tradeplane.v1.EngineService/GetStatus"
            assert await scrape_value(server, "tradeplane_grpc_requests_total", method=status, code="OK") == 1
            unauthenticated = {"method": status, "code": "UNAUTHENTICATED"}
            assert await scrape_value(server, "tradeplane_grpc_requests_total", **unauthenticated) == 1
            assert await scrape_value(server, "tradeplane_stream_subscribers", stream="trades") == 1
            assert await scrape_value(server, "tradeplane_stream_subscribers", stream="quotes") == 0
            assert await scrape_value(server, "tradeplane_stream_drops_total", stream="trades") == 0

            stream.cancel()
            await _wait_for(lambda: env.server.hub.count("trades") == 0, "the unsubscription")
            trades = "tradeplane.v1.MarketDataService/StreamTrades"
            await _wait_for(lambda: (trades, "CANCELLED") in env.server.calls.counts, "the stream's end")
            assert await scrape_value(server, "tradeplane_stream_subscribers", stream="trades") == 0
        finally:
            await server.stop()
            await env.close()

    asyncio.run(asyncio.wait_for(scenario(), TEST_TIMEOUT_S))
