"""The control plane and metrics of the ingestion and strategy-worker services, as run starts them.

Each service runs in-process (``run_ingestion`` / ``run_strategy_worker``) on the real Redis
under a key prefix of its own, the ingestion reading the exchange simulator: health answers
overall and per component, GetStatus says what the service knows, every other method is
UNIMPLEMENTED naming the execution service, calls without a token are refused (health and
reflection open), /metrics holds the names deploy/metrics.txt marks as its own, and once the service
stops both ports are closed. A seeded fuzz of every tradeplane.v1 method gets no INTERNAL or
UNKNOWN from a service's server.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import random
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVarTuple, Unpack

import aiohttp
import grpc
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from tradeplane.v1 import engine_pb2, engine_pb2_grpc

from adapters.exchanges.simulator.server import ExchangeSimulator
from adapters.redis.connection import sync_client
from adapters.redis.shard_publisher import ShardPublisher
from application.ports import FeedHealth
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.values import AggressorSide
from entrypoints.config import GrpcSettings, Settings, parse_settings
from entrypoints.grpc.auth import hash_token
from entrypoints.grpc.engine_service import EngineInfo
from entrypoints.grpc.launch import grpc_settings
from entrypoints.grpc.server import MAX_REQUEST_BYTES
from entrypoints.logs import Console
from entrypoints.services.control import Lifetime, ServiceControl, ServiceStatus
from entrypoints.services.processes import run_ingestion, run_strategy_worker
from entrypoints.services.topology import shard_layout, shard_map
from tests.deploy.contract import exported_by
from tests.integration.grpc.test_fuzz import METHODS, NEVER, bodies

REDIS_URL = "redis://127.0.0.1:6379/0"
Ts = TypeVarTuple("Ts")
BTC = "BTCUSDT.BINANCE"
ETH = "ETHUSDT.BINANCE"
VIEWER_TOKEN = "viewer-token-0123456789abcdef"
ADMIN_TOKEN = "admin-token-0123456789abcdef"
VIEWER = (("authorization", f"Bearer {VIEWER_TOKEN}"),)
ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
TEST_TIMEOUT_S = 45.0
CALL_S = 3.0
HEALTH = health_pb2.HealthCheckResponse
ELSEWHERE = "served by the execution service"


class SignalRecordingLoop(asyncio.SelectorEventLoop):
    """A loop whose signal handlers are recorded, not installed: the test calls them to stop."""

    def __init__(self) -> None:
        super().__init__()
        self.stops: list[Callable[[], object]] = []

    def add_signal_handler(self, sig: int, callback: Callable[[Unpack[Ts]], object], *args: *Ts) -> None:
        self.stops.append(functools.partial(callback, *args))


def bounded(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    with asyncio.Runner(loop_factory=SignalRecordingLoop) as runner:
        runner.run(asyncio.wait_for(scenario(), TEST_TIMEOUT_S))


def _instrument(iid: str) -> dict[str, str]:
    return {
        "id": iid,
        "base": iid.split("USDT", maxsplit=1)[0],
        "quote": "USDT",
        "price_tick": "0.01",
        "lot_size": "0.001",
        "min_quantity": "0.001",
        "min_notional": "1",
    }


def service_settings(prefix: str, *, redis_url: str = REDIS_URL, **extra: Any) -> Settings:
    return parse_settings(
        {
            "engine": {"name": "services-it"},
            "instruments": [_instrument(BTC), _instrument(ETH)],
            "strategies": [
                {
                    "id": f"sma-{iid[:3].lower()}",
                    "kind": "sma_crossover",
                    "instruments": [iid],
                    "params": {"fast": 2, "slow": 3},
                    "sizing": {"kind": "fixed_quantity", "quantity": "0.01"},
                }
                for iid in (BTC, ETH)
            ],
            "storage": {"kind": "memory"},
            "redis": {"url": redis_url, "prefix": prefix},
            "bus": {"kind": "redis", "shards": 2, "lease_ttl_ms": 1500},
            "metrics": {"listen": "127.0.0.1:0"},
            "grpc": {
                "listen": "127.0.0.1:0",
                "tokens": [
                    {"name": "viewer", "role": "viewer", "sha256": hash_token(VIEWER_TOKEN)},
                    {"name": "admin", "role": "admin", "sha256": hash_token(ADMIN_TOKEN)},
                ],
            },
            **extra,
        }
    )


@dataclass
class Running:
    """A service started by its run function: its channel, metrics URL and console output."""

    channel: grpc.aio.Channel
    address: str
    metrics_url: str
    out: io.StringIO

    async def health(self, service: str = "") -> int:
        stub = health_pb2_grpc.HealthStub(self.channel)
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=CALL_S)
        return int(answer.status)

    async def status(self) -> engine_pb2.GetStatusResponse:
        stub = engine_pb2_grpc.EngineServiceStub(self.channel)
        return await stub.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=CALL_S)

    async def scrape(self, path: str = "/metrics") -> tuple[int, str]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_S)) as session,
            session.get(self.metrics_url + path) as response,
        ):
            return response.status, await response.text()

    async def samples(self) -> dict[str, float]:
        """``name{label="value",...}`` -> value of every sample on /metrics."""
        _, text = await self.scrape()
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return found


async def until(condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s}s: {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def service(run: Callable[..., Coroutine[Any, Any, int]], settings: Settings) -> AsyncIterator[Running]:
    """Run ``run`` (a service's run function) with its control plane and metrics; stop it after
    (as SIGTERM would) and check that both ports are closed."""
    out = io.StringIO()
    args = type("Args", (), {"no_grpc": False, "grpc_listen": None})()
    task = asyncio.create_task(
        run(settings, duration=None, console=Console(out=out), grpc=grpc_settings(settings, args))
    )

    async def started() -> bool:
        if task.done():
            task.result()  # raises what stopped it
        text = out.getvalue()
        return "gRPC control plane on" in text and "metrics on" in text

    await until(started, "the service's control plane and metrics started")
    text = out.getvalue()
    address = re.search(r"gRPC control plane on (\S+)", text)
    metrics = re.search(r"metrics on (\S+)/metrics", text)
    assert address is not None, text
    assert metrics is not None, text
    channel = grpc.aio.insecure_channel(address.group(1))
    try:
        yield Running(channel, address.group(1), metrics.group(1), out)
    finally:
        await channel.close()
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SignalRecordingLoop)
        for stop in loop.stops:
            stop()
        assert await asyncio.wait_for(task, 15.0) == 0
        for where in (address.group(1), metrics.group(1).removeprefix("http://")):
            host, _, port = where.rpartition(":")
            with socket.socket() as probe:
                assert probe.connect_ex((host, int(port))) != 0, f"{where} still listening"


def cleanup(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextlib.contextmanager
def prefixed() -> Any:
    prefix = f"it-control-{uuid.uuid4().hex[:8]}:"
    try:
        yield prefix
    finally:
        cleanup(prefix)


async def assert_elsewhere_and_auth(running: Running, service_name: str) -> None:
    """UNIMPLEMENTED naming the execution service for what it does not serve; tokens required,
    health and reflection open."""
    channel: Any = running.channel
    for path in ("/tradeplane.v1.EngineService/StreamAlerts", "/tradeplane.v1.OrderService/SubmitOrder"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _answer(channel, path, b"", ADMIN)
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED, path
        assert ELSEWHERE in (refused.value.details() or "")
        assert service_name in (refused.value.details() or "")
    stub = engine_pb2_grpc.EngineServiceStub(running.channel)
    for metadata in ((), (("authorization", "Bearer wrong-token-0123456789"),)):
        with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
            await stub.GetStatus(engine_pb2.GetStatusRequest(), metadata=metadata, timeout=CALL_S)
        assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await running.health() == HEALTH.SERVING  # no token needed
    reflect = reflection_pb2_grpc.ServerReflectionStub(running.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for answer in reflect.ServerReflectionInfo(iter([request]), timeout=CALL_S):
        names = {s.name for s in answer.list_services_response.service}
        assert {"tradeplane.v1.EngineService", "grpc.health.v1.Health"} <= names, names
        break


async def assert_documented_names(running: Running, process: str) -> None:
    """The service's /metrics holds the names deploy/metrics.txt marks as ``process``'s, with
    their types and labels, and no other tradeplane_ name."""
    _, text = await running.scrape()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    listed = exported_by(process)
    for name, metric in listed.items():
        family = families.get(name.removesuffix("_total") if metric.type == "counter" else name)
        assert family is not None, f"{name} not exported"
        assert family.type == metric.type, name
        for sample in family.samples:
            assert set(sample.labels) == set(metric.labels), (name, sample.labels)
    for family in families.values():
        exported = family.name + ("_total" if family.type == "counter" else "")
        if exported.startswith("tradeplane_"):
            assert exported in listed, f"{exported} is not listed as exported by {process}"


# -- strategy worker -----------------------------------------------------------------------------


def _trades(count: int) -> list[TradeTick]:
    now = time.time_ns()
    return [
        TradeTick.create(
            instrument_id=InstrumentId(iid),
            price=f"{100 + (n % 7)}.00",
            size="0.5",
            aggressor=AggressorSide.BUYER,
            trade_id=f"t{n}",
            ts_event=now + n,
            ts_init=now + n,
        )
        for n in range(count)
        for iid in (BTC, ETH)
    ]


def test_a_strategy_worker_serves_health_status_and_metrics() -> None:
    async def scenario() -> None:
        with prefixed() as prefix:
            settings = service_settings(prefix)
            async with service(run_strategy_worker, settings) as worker:
                assert await worker.health() == HEALTH.SERVING
                assert await worker.health("tradeplane.v1.EngineService") == HEALTH.SERVING

                async def holds_every_shard() -> bool:
                    return len((await worker.status()).feeds) == 2

                await until(holds_every_shard, "the lone worker runs both shards")
                assert await worker.health("redis") == HEALTH.SERVING
                assert await worker.health("leases") == HEALTH.SERVING

                layout = shard_layout(settings)
                publisher = ShardPublisher(
                    sync_client(REDIS_URL, timeout_s=2.0),
                    layout,
                    shard_map(settings, layout),
                    background=False,
                )
                try:
                    for event in _trades(10):
                        publisher.publish(event)
                    assert publisher.flush(timeout_s=5.0)
                finally:
                    publisher.close()

                async def decided_all() -> bool:
                    return (await worker.status()).counters.trades_seen == 20

                await until(decided_all, "the worker decided on the 20 events")
                status = await worker.status()
                assert (status.running, status.mode, status.name) == (True, "strategy", "services-it")
                assert status.uptime.ToNanoseconds() > 0
                assert status.start_time.seconds > 0
                assert sorted(f.name for f in status.feeds) == ["shard-0", "shard-1"]
                assert sum(f.messages for f in status.feeds) == 20
                assert all(f.connected for f in status.feeds)
                assert status.equity == ""
                assert not status.instruments
                assert not status.HasField("broker_health")

                samples = await worker.samples()
                assert samples["tradeplane_worker_shards_owned"] == 2
                assert samples["tradeplane_worker_market_events_decided_total"] == 20
                assert samples["tradeplane_worker_signals_decided_total"] == status.counters.signals
                assert samples["tradeplane_redis_healthy"] == 1
                assert (await worker.scrape("/readyz"))[0] == 200
                await assert_documented_names(worker, "strategy")
                await assert_elsewhere_and_auth(worker, "strategy")

    bounded(scenario)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_worker_without_redis_runs_but_its_redis_and_leases_do_not_serve() -> None:
    async def scenario() -> None:
        settings = service_settings("it-control-down:", redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
        async with service(run_strategy_worker, settings) as worker:

            async def redis_down() -> bool:
                return await worker.health("redis") == HEALTH.NOT_SERVING

            await until(redis_down, "redis NOT_SERVING")
            assert await worker.health("leases") == HEALTH.NOT_SERVING
            assert await worker.health() == HEALTH.SERVING  # the process runs: a liveness probe keeps it
            code, body = await worker.scrape("/readyz")
            assert code == 503
            assert '"redis"' in body
            assert '"leases"' in body
            assert (await worker.samples())["tradeplane_redis_healthy"] == 0

    bounded(scenario)


# -- ingestion -----------------------------------------------------------------------------------


def test_the_ingestion_serves_health_status_and_metrics_of_its_feeds() -> None:
    async def scenario() -> None:
        sim = ExchangeSimulator(symbols=("BTCUSDT", "ETHUSDT"), seed=7, rate=100)
        await sim.start()
        try:
            with prefixed() as prefix:
                feeds = {
                    "binance": {
                        "instrument_ids": [BTC, ETH],
                        "ws_url": sim.ws_url,
                        "rest_url": sim.rest_url,
                        "reconnect_initial_delay": 0.05,
                        "reconnect_max_delay": 0.3,
                        "use_system_proxy": False,
                    }
                }
                async with service(run_ingestion, service_settings(prefix, feeds=feeds)) as ingestion:
                    assert await ingestion.health() == HEALTH.SERVING

                    async def flowing() -> bool:
                        status = await ingestion.status()
                        return (
                            bool(status.feeds)
                            and status.feeds[0].connected
                            and status.counters.trades_seen > 10
                        )

                    await until(flowing, "the feed connected and events appended")

                    async def feeds_serving() -> bool:  # health follows within its interval
                        return await ingestion.health("feeds") == HEALTH.SERVING

                    await until(feeds_serving, "feeds SERVING")
                    status = await ingestion.status()
                    feed = status.feeds[0].name
                    assert (status.running, status.mode) == (True, "ingestion")
                    assert status.feeds[0].messages > 0
                    assert await ingestion.health("redis") == HEALTH.SERVING
                    assert await ingestion.health("feeds") == HEALTH.SERVING
                    assert await ingestion.health(f"tradeplane.feed.{feed}") == HEALTH.SERVING

                    samples = await ingestion.samples()
                    assert samples["tradeplane_ingestion_events_appended_total"] > 10
                    assert samples["tradeplane_ingestion_events_dropped_total"] == 0
                    assert samples["tradeplane_ingestion_outbox_pending"] >= 0
                    assert samples["tradeplane_redis_healthy"] == 1
                    assert samples[f'tradeplane_feed_connected{{feed="{feed}"}}'] == 1
                    await assert_documented_names(ingestion, "ingestion")
                    await assert_elsewhere_and_auth(ingestion, "ingestion")

                    await sim.stop()  # the venue goes away

                    async def feeds_down() -> bool:
                        return await ingestion.health("feeds") == HEALTH.NOT_SERVING

                    await until(feeds_down, "feeds NOT_SERVING once the venue is gone")
                    assert await ingestion.health(f"tradeplane.feed.{feed}") == HEALTH.NOT_SERVING
                    assert (await ingestion.samples())[f'tradeplane_feed_connected{{feed="{feed}"}}'] == 0
        finally:
            await sim.stop()

    bounded(scenario)


# -- fuzz ----------------------------------------------------------------------------------------


def _fake_status() -> ServiceStatus:
    return ServiceStatus(
        service="strategy",
        running=True,
        components={"redis": "", "leases": ""},
        feeds=(
            FeedHealth(
                name="shard-0",
                connected=True,
                last_message_ns=None,
                messages=3,
                reconnects=0,
                gaps=0,
                malformed=0,
            ),
        ),
        events=3,
    )


async def _answer(channel: Any, path: str, body: bytes, metadata: Any) -> None:
    """Call ``path`` with the raw ``body``; raises AioRpcError for any status but OK."""
    if METHODS[path].server_streaming:
        async for _ in channel.unary_stream(path)(body, metadata=metadata, timeout=CALL_S):
            pass
    else:
        await channel.unary_unary(path)(body, metadata=metadata, timeout=CALL_S)


async def _call(channel: Any, path: str, body: bytes, metadata: Any) -> grpc.StatusCode:
    try:
        await _answer(channel, path, body, metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_no_fuzzed_call_to_a_service_gets_internal_or_unknown() -> None:
    """The engine fuzz's bodies, every tradeplane.v1 method, no token, a wrong one and admin."""

    async def scenario() -> None:
        lifetime = Lifetime()
        lifetime.start()
        grpc_options = service_settings("unused:").grpc
        control = ServiceControl(
            GrpcSettings(listen="127.0.0.1:0", tokens=grpc_options.tokens),
            EngineInfo(name="fuzz", version="0", mode="live", broker=""),
            _fake_status,
            lifetime,
        )
        await control.start()
        rng = random.Random("service-fuzz")
        seen: dict[grpc.StatusCode, int] = {}
        try:
            async with grpc.aio.insecure_channel(control.address) as channel:
                for who, metadata in (
                    ("none", ()),
                    ("wrong", (("authorization", "Bearer nope"),)),
                    ("admin", ADMIN),
                ):
                    for path, method in METHODS.items():
                        for name, body in bodies(rng, method):
                            code = await _call(channel, path, body, metadata)
                            assert code not in NEVER, (who, path, name, code)
                            if len(body) > MAX_REQUEST_BYTES:  # grpc refuses it before anything reads it
                                assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, (who, path, name, code)
                            elif who != "admin":
                                assert code == grpc.StatusCode.UNAUTHENTICATED, (who, path, name, code)
                            seen[code] = seen.get(code, 0) + 1
                status = await engine_pb2_grpc.EngineServiceStub(channel).GetStatus(
                    engine_pb2.GetStatusRequest(), metadata=ADMIN, timeout=CALL_S
                )
                assert (status.running, status.counters.trades_seen) == (True, 3)
        finally:
            await control.stop()
        assert {grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.INVALID_ARGUMENT} <= set(seen), seen

    bounded(scenario)
