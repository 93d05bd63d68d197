"""A dropped Binance connection: no new order passes or fills, and health follows the data.

An engine built by ``bootstrap`` (paper broker) streams from the local exchange simulator over
a real loopback WebSocket, with its gRPC server on ``127.0.0.1:0``. The simulator drops the
connection; the feed waits at least a second before reconnecting, long enough for market
orders sent meanwhile to meet the refusal and for the health probe to see NOT_SERVING.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters.exchanges.binance.feed import BinanceMarketDataFeed
from adapters.exchanges.simulator.server import ExchangeSimulator
from adapters.system_clock import LiveClock
from application.commands import SubmitOrder
from application.messages import OrderFilled
from domain.identifiers import InstrumentId, StrategyId
from domain.intents import OrderIntent
from domain.orders import OrderType
from domain.risk import RiskReason
from domain.values import OrderSide
from entrypoints.config import parse_settings
from entrypoints.container import bootstrap
from entrypoints.grpc.server import MARKET_DATA_SERVICE, EngineInfo, GrpcServer
from tests.integration.grpc.support import settings_dict
from tests.integration.test_binance_feed import SYMBOLS, feed_config, wait_until

BTC = InstrumentId("BTCUSDT.BINANCE")
TEST_TIMEOUT = 20.0
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def market_buy(n: int) -> OrderIntent:
    return OrderIntent(
        strategy_id=StrategyId("faults"),
        instrument_id=BTC,
        side=OrderSide.BUY,
        quantity=Decimal("0.001"),
        order_type=OrderType.MARKET,
        reason=f"probe {n}",
        ts_event=0,
    )


def test_market_orders_are_refused_while_the_feed_is_down_and_health_goes_down_and_back() -> None:
    async def scenario() -> None:
        sim = ExchangeSimulator(symbols=SYMBOLS, seed=7, rate=200)
        await sim.start()
        config = feed_config(sim, reconnect_initial_delay=2.0, reconnect_max_delay=2.0)
        feed = BinanceMarketDataFeed(config, LiveClock(), rng=random.Random(3))
        options = settings_dict()
        options["risk"] = {**options["risk"], "price_band_fraction": None, "max_data_age_ns": 10_000_000_000}
        options["risk"] = {k: v for k, v in options["risk"].items() if v is not None}
        settings = parse_settings(options, source="<feed-faults>")
        app = bootstrap(settings, feeds=[feed])
        fills: list[OrderFilled] = []
        app.bus.subscribe(OrderFilled, fills.append)
        await app.engine.start()
        server = GrpcServer(
            app, settings.grpc, EngineInfo(name="faults", version="0", mode="test", broker="paper")
        )
        port = await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        health = health_pb2_grpc.HealthStub(channel)

        async def market_health() -> int:
            request = health_pb2.HealthCheckRequest(service=MARKET_DATA_SERVICE)
            return int((await health.Check(request, timeout=2)).status)

        async def health_becomes(expected: int, timeout: float) -> None:
            deadline = asyncio.get_running_loop().time() + timeout
            while (got := await market_health()) != expected:
                assert asyncio.get_running_loop().time() < deadline, f"health stayed {got}"
                await asyncio.sleep(0.02)

        try:
            await wait_until(app.engine.data_usable, "every instrument's data usable", timeout=5)
            await health_becomes(SERVING, 2)

            assert sim.drop_connections() == 1
            await wait_until(lambda: BTC in app.market.disconnected, "the loss to reach the engine", 2)
            results = [app.bus.execute(SubmitOrder(intent=market_buy(n))) for n in range(5)]
            await health_becomes(NOT_SERVING, 0.9)  # before the feed can reconnect

            for result in results:
                assert result.order is None
                assert RiskReason.FEED_DOWN in [r.reason for r in result.rejections]
            assert fills == []
            down = next(i for i in app.engine.status().instruments if i.instrument_id == str(BTC))
            assert not down.connected
            assert not down.usable
            assert "disconnected" in down.problem

            await wait_until(app.engine.data_usable, "fresh, synced data after the reconnect", timeout=6)
            await health_becomes(SERVING, 2)
            assert fills == []  # nothing sent while down arrives later
        finally:
            await channel.close()
            await server.stop(grace=0.5)
            await app.engine.stop(cancel_open_orders=False)
            app.engine.close()
            await sim.stop()

    asyncio.run(asyncio.wait_for(scenario(), TEST_TIMEOUT))
