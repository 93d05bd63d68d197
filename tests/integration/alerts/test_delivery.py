"""An engine with webhooks configured: alerts reach a local receiver, and a receiver that is down
or slow (it holds each request 5 s) never holds up the engine's handling of market events."""

from __future__ import annotations

import asyncio
import time

from adapters.alerts.webhooks import WebhookSender
from adapters.memory.feed import InMemoryFeed
from application.commands import Halt
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent, TradeTick
from entrypoints.config import parse_settings
from entrypoints.container import bootstrap
from tests.integration.grpc.support import BTC, settings_dict
from tests.unit.adapters.alerts.receiver import Receiver, closed_port_url, receiving

EVENTS = 5_000
HALTED = "trading HALTED: halted by an operator: webhook test"
BOUND_S = 3.0
"""What replaying the events may take at most while a delivery hangs (well under a second alone)."""


def trades(start_ns: int) -> list[MarketEvent]:
    return [
        TradeTick.create(
            instrument_id=InstrumentId(BTC),
            price="30000" if i % 2 else "30000.5",
            size="0.01",
            trade_id=f"D-{i}",
            ts_event=start_ns + i,
            ts_init=start_ns + i,
        )
        for i in range(EVENTS)
    ]


def test_a_down_or_slow_receiver_does_not_slow_the_engine_and_a_live_one_gets_the_alert() -> None:
    async def scenario() -> None:
        async with receiving(Receiver(delay_s=5.0)) as slow, receiving() as live:
            raw = settings_dict()
            raw["alerts"] = {
                "evaluate_interval_s": 0.05,
                "webhooks": [
                    {"url": slow.url, "name": "slow", "timeout_s": 10},
                    {"url": closed_port_url(), "name": "down"},
                    {"url": live.url, "name": "live", "format": "discord"},
                ],
            }
            feed = InMemoryFeed(trades(time.time_ns()), name="memory")
            app = bootstrap(parse_settings(raw), feeds=[feed])
            try:
                await app.alerts.start()
                app.bus.execute(Halt("webhook test"))
                await live.wait_for(1)
                while not slow.requests:  # its post is in flight: the receiver holds it 5 s
                    await asyncio.sleep(0.01)

                started = time.perf_counter()
                await app.engine.start()
                await asyncio.wait_for(feed.wait_replayed(), BOUND_S)
                elapsed = time.perf_counter() - started

                assert app.engine.status().trades_seen == EVENTS
                assert elapsed < BOUND_S
                assert slow.bodies == []  # still held: the engine did not wait for it
                (body,) = live.bodies
                assert body == {"content": f"[FIRING critical] TradingHalted: {HALTED}"}
                down = app.alerts.notifiers[1]
                assert isinstance(down, WebhookSender)
                assert app.alerts.metrics().webhook_failures["down"] >= 1
                assert app.alerts.metrics().active["TradingHalted"] == 1
                assert app.alerts.metrics().fired["TradingHalted"] == 1
            finally:
                stopping = time.perf_counter()
                await app.alerts.stop()  # each sender: a bounded grace, then cut off
                assert time.perf_counter() - stopping < 4.0  # together, not one after the other
                await app.engine.stop(cancel_open_orders=False)
                app.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
