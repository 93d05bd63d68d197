"""The metrics endpoint of a running engine: every contract name, values that follow the
engine, the probes, and nothing left listening."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from decimal import Decimal

import pytest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.metrics.recorder import SAMPLE_EVERY
from application.commands import Halt
from domain.identifiers import InstrumentId
from domain.values import OrderSide
from entrypoints.config import ConfigError
from entrypoints.container import bootstrap
from entrypoints.metrics import start_metrics
from tests.integration.grpc.support import trade
from tests.integration.metrics.support import BTC, ETH, bounded, running, settings

PROCESS = ("process_cpu_seconds", "process_resident_memory_bytes", "python_gc_collections", "python_info")


def test_the_process_and_python_collectors_are_there_too() -> None:
    """The contract's own names are checked against deploy/metrics.txt (test_deploy_contract)."""

    async def scenario() -> None:
        async with running() as engine:
            families = await engine.families()
        for name in PROCESS:
            assert name in families, name

    bounded(scenario())


def test_ticks_orders_and_fills_are_counted_as_the_engine_counts_them() -> None:
    async def scenario() -> None:
        async with running(trades=200) as engine:
            status = engine.app.engine.status()
            assert status.orders_submitted > 0, "the SMA crossover should have traded"
            btc = {"venue": "BINANCE", "instrument": BTC}
            assert await engine.value("tradeplane_market_events_total", **btc, type="trade") == 201
            assert await engine.value("tradeplane_market_events_total", **btc, type="quote") == 1
            assert await engine.value("tradeplane_market_events_total", **btc, type="book_snapshot") == 1
            eth = {"venue": "BINANCE", "instrument": ETH}
            assert await engine.value("tradeplane_market_events_total", **eth, type="trade") == 1
            assert (
                await engine.value("tradeplane_frame_to_handled_seconds_count") == 204 // SAMPLE_EVERY
            )  # one event in SAMPLE_EVERY is timed
            assert await engine.value("tradeplane_feed_messages_total", feed="memory") == 204

            submitted = await engine.samples("tradeplane_orders_submitted_total")
            assert sum(s.value for s in submitted) == status.orders_submitted
            assert {s.labels["strategy"] for s in submitted} == {"sma-test"}
            fills = await engine.samples("tradeplane_fills_total")
            assert sum(s.value for s in fills) == status.fills
            booked = list(engine.app.trades.list_fills())
            for side in OrderSide:
                of_side = [f for f in booked if f.side is side]
                if of_side:
                    assert await engine.value(
                        "tradeplane_fills_total", instrument=BTC, side=side.name
                    ) == len(of_side)
            notional = sum((f.price * f.quantity for f in booked), Decimal(0))
            assert await engine.value("tradeplane_traded_notional_total", instrument=BTC) == pytest.approx(
                float(notional)
            )
            fees = sum((f.fee for f in booked), Decimal(0))
            assert await engine.value("tradeplane_fees_paid_total", instrument=BTC) == pytest.approx(
                float(fees)
            )
            filled = await engine.value("tradeplane_order_outcomes_total", instrument=BTC, outcome="filled")
            assert filled == status.fills  # market orders, each filled at once
            assert await engine.value("tradeplane_frame_to_order_seconds_count") == status.orders_submitted
            assert await engine.value("tradeplane_order_fill_seconds_count") == status.orders_submitted
            commits = await engine.value("tradeplane_store_commit_seconds_count", store="trades")
            assert commits >= status.orders_submitted

            portfolio = engine.app.portfolio
            assert status.equity is not None
            assert await engine.value("tradeplane_equity", currency="USDT") == pytest.approx(
                float(status.equity)
            )
            position = portfolio.positions[InstrumentId(BTC)].quantity
            assert await engine.value("tradeplane_position", instrument=BTC) == pytest.approx(float(position))
            assert await engine.value("tradeplane_fees", currency="USDT") == pytest.approx(
                float(portfolio.fees())
            )
            assert await engine.value("tradeplane_trading_state", state="ACTIVE") == 1
            assert await engine.value("tradeplane_trading_state", state="HALTED") == 0
            assert await engine.value("tradeplane_strategy_enabled", strategy="sma-test") == 1
            assert await engine.value("tradeplane_broker_connected", broker="paper") == 1
            assert await engine.value("tradeplane_bus_handler_errors_total") == 0

    bounded(scenario())


class AlertFamilies(Collector):
    """Another component's families, served from the same registry."""

    def collect(self) -> Iterator[Metric]:
        active = GaugeMetricFamily("tradeplane_alert_active", "1 while firing.", labels=["alert"])
        active.add_metric(["FeedDown"], 0)
        yield active


def test_other_components_add_their_families_to_the_same_endpoint() -> None:
    async def scenario() -> None:
        async with running(trades=5, collectors=[AlertFamilies()]) as engine:
            assert await engine.value("tradeplane_alert_active", alert="FeedDown") == 0
            assert "tradeplane_equity" in await engine.families()

    bounded(scenario())


def test_counters_move_between_scrapes() -> None:
    async def scenario() -> None:
        async with running(trades=50) as engine:
            btc = {"venue": "BINANCE", "instrument": BTC, "type": "trade"}
            before = await engine.value("tradeplane_market_events_total", **btc)
            timed_before = await engine.value("tradeplane_frame_to_handled_seconds_count")
            tick = engine.app.ingestion.deliver
            for i in range(4 * SAMPLE_EVERY):
                tick(trade("30010", f"late-{i}"))
            assert await engine.value("tradeplane_market_events_total", **btc) == before + 4 * SAMPLE_EVERY
            assert await engine.value("tradeplane_frame_to_handled_seconds_count") == timed_before + 4

    bounded(scenario())


def test_a_halt_and_a_disabled_strategy_show() -> None:
    async def scenario() -> None:
        async with running(strategy=False) as engine:
            assert await engine.value("tradeplane_strategy_enabled", strategy="sma-test") == 0
            engine.app.bus.execute(Halt("test"))
            assert await engine.value("tradeplane_trading_state", state="HALTED") == 1
            assert await engine.value("tradeplane_trading_state", state="ACTIVE") == 0

    bounded(scenario())


def test_healthz_answers_ok_and_readyz_names_what_is_not_ready() -> None:
    async def scenario() -> None:
        async with running(strategy=False, feed_name="binance") as engine:
            assert await engine.get("/healthz") == (200, "ok")
            status, body = await engine.get("/readyz")
            assert (status, json.loads(body)) == (200, {"ready": True, "not_ready": {}})

            engine.feed.up = False
            status, body = await engine.get("/readyz")
            assert status == 503
            assert set(json.loads(body)["not_ready"]) == {"feed:binance"}
            assert await engine.value("tradeplane_feed_connected", feed="binance") == 0
            engine.feed.up = True

            engine.trades.failing = True
            assert not engine.app.risk.commit_trades()
            status, body = await engine.get("/readyz")
            assert status == 503
            assert "store:trades" in json.loads(body)["not_ready"]
            assert await engine.value("tradeplane_store_commit_failures_total", store="trades") == 1

            engine.trades.failing = False
            assert engine.app.risk.commit_trades()
            assert (await engine.get("/readyz"))[0] == 200

    bounded(scenario())


def test_nothing_listens_after_stop() -> None:
    async def scenario() -> None:
        async with running(trades=5) as engine:
            port = engine.server.url.rsplit(":", 1)[1]
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection(("127.0.0.1", int(port)), timeout=1),
        ):
            pass

    bounded(scenario())


def test_off_without_listen_and_refused_on_a_bad_table() -> None:
    async def scenario() -> None:
        for table, expected in (
            ({"listen": "nowhere"}, "not host:port"),
            ({"listen": "127.0.0.1:9464", "port": 1}, r"unknown key\(s\) port"),
        ):
            chosen = settings(**table)
            app = bootstrap(chosen, feeds=[])
            try:
                with pytest.raises(ConfigError, match=expected):
                    await start_metrics(app, chosen)
            finally:
                app.close()
        off = settings(listen="")
        app = bootstrap(off, feeds=[])
        try:
            assert await start_metrics(app, off) is None
        finally:
            app.close()

    bounded(scenario())


def test_a_port_in_use_is_a_clear_error() -> None:
    async def scenario() -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            chosen = settings(listen=f"127.0.0.1:{port}")
            app = bootstrap(chosen, feeds=[])
            try:
                with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
                    await start_metrics(app, chosen)
                assert app.orders.on_sent is None  # the hooks are off again
            finally:
                app.close()

    bounded(scenario())
