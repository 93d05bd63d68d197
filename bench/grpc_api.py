"""The gRPC control plane over loopback: SubmitOrder latency and throughput, StreamOrderEvents fan-out.

The engine and its gRPC server run in a child process (``--serve-engine``: the exchange
simulator as market data, as the demo does, a paper broker, no strategies, loose risk limits
with no order-rate limit, a high per-token rate limit); the clients run here and in spawned
client processes, so client and server never share a GIL or an event loop. A bare grpc.aio
echo service in its own child process (``--serve-echo``, bytes in and out, no proto, same
metadata) is the baseline: what gRPC in Python costs before the engine does anything.

1. SubmitOrder round trip from one grpc.aio client, sequential calls, alternate BUY/SELL
   MARKET orders of the minimum quantity (the position stays near flat); every response must
   be ACCEPTED or FILLED. The same for the echo.
2. Sustained calls/s: concurrent tasks in one, then two client processes, for a fixed window.
3. Fan-out: subscribers to StreamOrderEvents in two client processes (one channel each); a
   start marker order, then ``orders`` orders from 8 concurrent tasks, then an end marker.
   Order events are the only ones on the stream (no strategies), each carries the hub's
   sequence number, so every subscriber knows how many events lay between the markers and
   checks it received each of them.

Every phase is bounded in time; child processes are killed in ``finally``. Errors are counted
and shown, never hidden. Run alone with ``python -m bench.grpc_api [--quick]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import re
import secrets
import select
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from statistics import quantiles
from typing import Any

import grpc
from tradeplane.v1 import common_pb2, engine_pb2, engine_pb2_grpc, orders_pb2, orders_pb2_grpc

from bench.harness import Result
from entrypoints.config import Settings, parse_settings
from entrypoints.container import bootstrap
from entrypoints.gc_tuning import tune_gc
from entrypoints.grpc.auth import Role, TokenEntry, hash_token
from entrypoints.grpc.engine_service import EngineInfo
from entrypoints.grpc.server import GrpcServer

SUITE = "grpc_api"
INSTRUMENT = "BTCUSDT.BINANCE"
QUANTITY = "0.001"  # the instrument's minimum
ECHO_METHOD = "/bench.Echo/Echo"
TOKEN_ENV = "BENCH_GRPC_TOKEN"  # the child reads its token here, never from argv
CALL_TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0
FANOUT_DRIVERS = 8
OK_STATUSES = frozenset({common_pb2.ORDER_STATUS_ACCEPTED, common_pb2.ORDER_STATUS_FILLED})
TERMINAL = frozenset(
    {
        common_pb2.ORDER_STATUS_FILLED,
        common_pb2.ORDER_STATUS_CANCELED,
        common_pb2.ORDER_STATUS_REJECTED,
        common_pb2.ORDER_STATUS_EXPIRED,
    }
)


@dataclass(frozen=True, slots=True)
class Sizes:
    warm_up: int = 300
    samples: int = 2_000
    load_seconds: float = 5.0
    load_tasks: int = 16  # in all, split over the client processes
    subscribers: int = 50
    orders: int = 1_000  # driven during the fan-out; 4 events each, well inside the 10,000 stream buffer


FULL = Sizes()
QUICK = Sizes(warm_up=100, samples=300, load_seconds=1.5, orders=200)


# -- the servers (child processes) -----------------------------------------------------------------


def _engine_settings(ws_url: str, rest_url: str) -> Settings:
    return parse_settings(
        {
            "engine": {"name": "tradeplane-bench", "order_id_prefix": "BG"},
            "storage": {"kind": "memory"},
            "account": {"balances": {"USDT": "100000000", "BTC": "1000"}},
            "instruments": [
                {
                    "id": INSTRUMENT,
                    "base": "BTC",
                    "quote": "USDT",
                    "price_tick": "0.01",
                    "lot_size": "0.001",
                    "min_quantity": "0.001",
                    "min_notional": "5",
                }
            ],
            "feeds": {
                "binance": {
                    "instrument_ids": [INSTRUMENT],
                    "ws_url": ws_url,
                    "rest_url": rest_url,
                    "use_system_proxy": False,
                    "reconnect_initial_delay": 0.2,
                    "reconnect_max_delay": 2.0,
                    "stale_after": 30.0,
                }
            },
            "broker": {"kind": "paper", "maker_fee_bps": "2", "taker_fee_bps": "5"},
            # Every check runs, none refuses a benchmark order: no order-rate limit, wide position.
            "risk": {
                "max_order_quantity": "1",
                "max_position_quantity": "1000",
                "max_open_orders": 100_000,
                "max_data_age_ns": 60_000_000_000,
                "price_band_fraction": "0.05",
            },
            "grpc": {
                "listen": "127.0.0.1:0",
                "rate_limit_per_second": 1_000_000.0,
                "rate_limit_burst": 1_000_000,
                "stream_buffer": 10_000,
            },
        },
        source="<bench.grpc_api>",
    )


async def _until_stdin_closes() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def _start_exchange() -> tuple[subprocess.Popen[str], str, str]:
    """The simulated exchange in its own process, as a real venue is: (process, ws url, rest url)."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "entrypoints.cli", "exchange-sim", "--port", "0"),
            *("--symbols", "BTCUSDT", "--seed", "7", "--rate", "50", "--log-level", "WARNING"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
    line = process.stdout.readline() if ready else ""
    match = re.search(r"ws://(127\.0\.0\.1:\d+)/", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"exchange-sim did not say where it listens (got {line!r})")
    return process, f"ws://{match.group(1)}", f"http://{match.group(1)}"


async def _serve_engine() -> None:
    """Child: engine + gRPC server on 127.0.0.1 (the exchange simulator runs in a process of
    its own); print the port; run until stdin closes."""
    token = os.environ[TOKEN_ENV]
    exchange, ws_url, rest_url = _start_exchange()
    try:
        settings = _engine_settings(ws_url, rest_url)
        app = bootstrap(settings)
        entry = TokenEntry(name="bench", role=Role.ADMIN, sha256=hash_token(token))
        server = GrpcServer(
            app,
            settings.grpc,
            EngineInfo(name="tradeplane-bench", version="0", mode="bench", broker="paper"),
            extra_tokens=[entry],
        )
        try:
            await app.engine.start()
            deadline = time.monotonic() + START_TIMEOUT_S
            while INSTRUMENT not in app.engine.status().last_prices and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # a market order needs a market: wait for the first trade
            port = await server.start()
            tune_gc()  # as `tradeplane run` does
            print(port, flush=True)
            await _until_stdin_closes()
        finally:
            await server.stop(grace=0.5)
            await app.engine.stop(cancel_open_orders=False)
    finally:
        exchange.kill()
        exchange.wait()


async def _serve_echo() -> None:
    """Child: a bare grpc.aio unary echo (bytes, no proto) on 127.0.0.1; print the port."""

    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    try:
        await _until_stdin_closes()
    finally:
        await server.stop(0.5)


class _Child:
    """A server child process: started with a token, its port read from stdout, always killed."""

    def __init__(self, mode: str, token: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.grpc_api", mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), TOKEN_ENV: token},
        )
        self.port = 0

    def wait_for_port(self) -> int:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], START_TIMEOUT_S + 15)
        line = stdout.readline() if ready else ""
        if not line.strip().isdigit():
            raise RuntimeError(f"server child did not print its port (got {line!r})")
        self.port = int(line)
        return self.port

    def cpu_seconds(self) -> float | None:
        """CPU time the child used so far (all its threads), from /proc; None where there is none."""
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        process = self.process
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the calls ---------------------------------------------------------------------------------


Call = Callable[[str, int], Awaitable[bool]]
"""One call: (client_order_id, sequence number) -> whether the answer was as expected."""


def _metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def _submit_request(client_order_id: str, number: int) -> orders_pb2.SubmitOrderRequest:
    return orders_pb2.SubmitOrderRequest(
        client_order_id=client_order_id,
        instrument_id=INSTRUMENT,
        side=common_pb2.SIDE_BUY if number % 2 == 0 else common_pb2.SIDE_SELL,
        type=common_pb2.ORDER_TYPE_MARKET,
        quantity=QUANTITY,
    )


def _caller(kind: str, channel: grpc.aio.Channel, token: str) -> Call:
    metadata = _metadata(token)
    if kind == "submit":
        submit = orders_pb2_grpc.OrderServiceStub(channel).SubmitOrder

        async def submit_one(client_order_id: str, number: int) -> bool:
            request = _submit_request(client_order_id, number)
            response = await submit(request, metadata=metadata, timeout=CALL_TIMEOUT_S)
            return response.order.status in OK_STATUSES

        return submit_one
    echo: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(ECHO_METHOD)
    # The same bytes a SubmitOrder carries, so the baseline moves the same payload.
    payload = _submit_request("E-0000000000", 0).SerializeToString()

    async def echo_one(client_order_id: str, number: int) -> bool:
        answer = await echo(payload, metadata=metadata, timeout=CALL_TIMEOUT_S)
        return bool(answer == payload)

    return echo_one


@dataclass(slots=True)
class Tally:
    ok: int = 0
    unexpected: int = 0  # answered, but not ACCEPTED/FILLED
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.ok += other.ok
        self.unexpected += other.unexpected
        self.errors.update(other.errors)

    def problems(self) -> str:
        parts = [f"{code} {count}" for code, count in sorted(self.errors.items())]
        if self.unexpected:
            parts.append(f"not ACCEPTED/FILLED {self.unexpected}")
        total = sum(self.errors.values()) + self.unexpected
        return f"ERRORS {total}: " + ", ".join(parts) if total else "0 errors"


async def _one(call: Call, client_order_id: str, number: int, tally: Tally) -> None:
    try:
        good = await call(client_order_id, number)
    except grpc.aio.AioRpcError as error:
        tally.errors[error.code().name] += 1
    else:
        if good:
            tally.ok += 1
        else:
            tally.unexpected += 1


async def _wait_until_filling(call: Call, tag: str) -> None:
    """Retry one order until the engine fills it (the feed may still be connecting)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    number = 0
    while True:
        number += 2  # BUY only; the next phases alternate anyway
        try:
            if await call(f"{tag}-probe-{number}", number):
                return
        except grpc.aio.AioRpcError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the engine never accepted an order: {error.details()}") from None
        if time.monotonic() > deadline:
            raise RuntimeError("the engine never accepted an order (no market data?)")
        await asyncio.sleep(0.1)


async def _latencies(kind: str, port: int, token: str, sizes: Sizes) -> tuple[list[float], Tally]:
    """Sequential round trips in µs after a warm-up, from one grpc.aio client."""
    tally = Tally()
    samples: list[float] = []
    perf = time.perf_counter_ns
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = _caller(kind, channel, token)
        if kind == "submit":
            await _wait_until_filling(call, "lat")
        for number in range(sizes.warm_up):
            await _one(call, f"lat-w{number}", number, Tally())
        for number in range(sizes.samples):
            start = perf()
            await _one(call, f"lat-{number}", number, tally)
            samples.append((perf() - start) / 1e3)
    return samples, tally


def _percentiles(samples: list[float]) -> tuple[float, float, float, float]:
    cuts = quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98], max(samples)


# -- sustained load (client processes) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """What one client process does: ``tasks`` concurrent callers (or subscribers) for ``seconds``."""

    kind: str  # submit, echo or stream
    port: int
    token: str
    tag: str  # client order ids start with it
    tasks: int
    seconds: float


async def _load(job: Job, ready: Any, go: Event) -> dict[str, Any]:
    kind, port, token, tag, tasks, seconds = job.kind, job.port, job.token, job.tag, job.tasks, job.seconds
    tally = Tally()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = _caller(kind, channel, token)

        async def warm(task: int) -> None:
            for number in range(20):
                await _one(call, f"{tag}w-{task}-{number}", number, Tally())

        await asyncio.gather(*(warm(task) for task in range(tasks)))
        ready.put(tag)
        if not go.wait(START_TIMEOUT_S):  # blocks the loop on purpose: nothing else runs yet
            return {"tag": tag, "error": "never told to start"}
        start, cpu = time.monotonic(), time.process_time()
        deadline = start + seconds
        last = [start]

        async def drive(task: int) -> None:
            number = 0
            while time.monotonic() < deadline:
                await _one(call, f"{tag}-{task}-{number}", number, tally)
                number += 1
            last[0] = max(last[0], time.monotonic())

        await asyncio.gather(*(drive(task) for task in range(tasks)))
    return {
        "tag": tag,
        "ok": tally.ok,
        "unexpected": tally.unexpected,
        "errors": dict(tally.errors),
        "elapsed": last[0] - start,
        "cpu": time.process_time() - cpu,
    }


def _load_worker(job: Job, ready: Any, go: Event, out: Any) -> None:
    try:
        out.put(asyncio.run(_load(job, ready, go)))
    except Exception as error:  # reported by the parent, never swallowed
        out.put({"tag": job.tag, "error": f"{type(error).__name__}: {error}"})


def _stop_all(processes: list[BaseProcess]) -> None:
    for process in processes:
        if process.pid is None:  # never started
            continue
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()


def _collect(out: Any, count: int, timeout: float, processes: list[BaseProcess]) -> list[Any]:
    """``count`` results from the workers, or as many as arrive before ``timeout`` / they all die."""
    results: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(results) < count and time.monotonic() < deadline:
        try:
            results.append(out.get(timeout=0.2))
        except queue.Empty:
            if not any(process.is_alive() for process in processes) and out.empty():
                break
    return results


@dataclass(slots=True)
class Load:
    """One sustained run: calls/s, what went wrong, and who was busy (CPU seconds over the window)."""

    rate: float = 0.0
    tally: Tally = field(default_factory=Tally)
    elapsed: float = 0.0
    server_cpu: float | None = None
    client_cpu: list[float] = field(default_factory=list)

    def server_us_per_call(self) -> float | None:
        return self.server_cpu / self.tally.ok * 1e6 if self.server_cpu and self.tally.ok else None

    def busy(self) -> str:
        clients = ", ".join(f"{cpu / self.elapsed:.0%}" for cpu in self.client_cpu) if self.elapsed else "?"
        server = f"{self.server_cpu / self.elapsed:.0%}" if self.server_cpu and self.elapsed else "?"
        return f"CPU (of one core): server {server}, client procs {clients}"


def _sustained(kind: str, server: _Child, token: str, procs: int, sizes: Sizes) -> Load:
    """Calls/s over ``sizes.load_seconds`` from ``procs`` client processes sharing ``load_tasks`` tasks."""
    context = multiprocessing.get_context("spawn")
    ready, out, go = context.Queue(), context.Queue(), context.Event()
    tasks = max(1, sizes.load_tasks // procs)
    tag = f"{kind[0].upper()}{procs}"
    processes: list[BaseProcess] = [
        context.Process(
            target=_load_worker,
            args=(Job(kind, server.port, token, f"{tag}p{p}", tasks, sizes.load_seconds), ready, go, out),
            daemon=True,
        )
        for p in range(procs)
    ]
    load = Load()
    results: list[dict[str, Any]] = []
    try:
        for process in processes:
            process.start()
        if len(_collect(ready, procs, 60.0, processes)) == procs:
            cpu_before = server.cpu_seconds()
            go.set()
            results = _collect(out, procs, sizes.load_seconds + 60.0, processes)
            cpu_after = server.cpu_seconds()
            if cpu_before is not None and cpu_after is not None:
                load.server_cpu = cpu_after - cpu_before
    finally:
        _stop_all(processes)
    for result in results:
        if "error" in result:
            load.tally.errors[f"client process failed ({result['error']})"] += 1
            continue
        load.tally.add(Tally(result["ok"], result["unexpected"], Counter(result["errors"])))
        load.elapsed = max(load.elapsed, result["elapsed"])
        load.client_cpu.append(result["cpu"])
    if len(results) < procs:
        load.tally.errors["client process lost or never ready"] += procs - len(results)
    load.rate = load.tally.ok / load.elapsed if load.elapsed else 0.0
    return load


# -- stream fan-out ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Subscription:
    received: int = 0
    expected: int = -1  # events between the markers, from the sequence numbers; -1: markers unseen
    foreign: int = 0  # events between the markers that were not the driven orders'
    last_event: float = 0.0
    error: str = ""


async def _subscribe(port: int, token: str, prefix: str, seconds: float) -> Subscription:
    result = Subscription()
    start_marker, end_marker = f"{prefix}start", f"{prefix}end"
    start_seq = 0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stream = orders_pb2_grpc.OrderServiceStub(channel).StreamOrderEvents(
            orders_pb2.StreamOrderEventsRequest(), metadata=_metadata(token), timeout=seconds
        )
        try:
            async for message in stream:
                event = message.event
                coid = event.client_order_id
                if coid == start_marker:
                    if event.status in TERMINAL:
                        start_seq = event.sequence
                elif coid == end_marker:
                    if start_seq:
                        result.expected = event.sequence - start_seq - 1
                    break
                elif start_seq:
                    result.received += 1
                    result.last_event = time.monotonic()
                    if not coid.startswith(prefix):
                        result.foreign += 1
            else:
                result.error = "stream ended before the end marker"
        except grpc.aio.AioRpcError as error:
            result.error = error.code().name
        finally:
            stream.cancel()
    return result


def _subscriber_worker(job: Job, out: Any) -> None:
    async def all_of_them() -> list[Subscription]:
        subscriptions = (_subscribe(job.port, job.token, job.tag, job.seconds) for _ in range(job.tasks))
        return list(await asyncio.gather(*subscriptions))

    cpu = time.process_time()
    try:
        subscriptions = [_as_dict(s) for s in asyncio.run(all_of_them())]
        out.put({"cpu": time.process_time() - cpu, "subscriptions": subscriptions})
    except Exception as error:
        out.put({"cpu": 0.0, "subscriptions": [{"error": f"{type(error).__name__}: {error}"}]})


def _as_dict(subscription: Subscription) -> dict[str, Any]:
    return {name: getattr(subscription, name) for name in Subscription.__slots__}


async def _status(stub: Any, token: str) -> engine_pb2.GetStatusResponse:
    response: engine_pb2.GetStatusResponse = await stub.GetStatus(
        engine_pb2.GetStatusRequest(), metadata=_metadata(token), timeout=CALL_TIMEOUT_S
    )
    return response


async def _drive(port: int, token: str, prefix: str, subscribers: int, orders: int) -> tuple[float, Tally]:
    """Wait for every subscriber, then start marker, ``orders`` orders (8 tasks), end marker."""
    tally = Tally()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        engine = engine_pb2_grpc.EngineServiceStub(channel)
        deadline = time.monotonic() + 60.0
        while (await _status(engine, token)).counters.stream_subscribers < subscribers:
            if time.monotonic() > deadline:
                raise RuntimeError("the subscribers never all connected")
            await asyncio.sleep(0.05)
        call = _caller("submit", channel, token)
        await _one(call, f"{prefix}start", 0, tally)
        start = time.monotonic()
        numbers = iter(range(orders))

        async def drive() -> None:
            for number in numbers:
                await _one(call, f"{prefix}{number}", number, tally)

        await asyncio.gather(*(drive() for _ in range(FANOUT_DRIVERS)))
        await _one(call, f"{prefix}end", 1, tally)
    return start, tally


@dataclass(slots=True)
class FanOut:
    events_per_second: float = 0.0
    submits_per_second: float = 0.0
    expected: int = 0
    fewest: int = 0
    most: int = 0
    short: int = 0  # subscribers that missed events, ended early or failed
    busy: str = ""  # the server's and the subscribers' CPU from the first driven order to the last event
    problems: list[str] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)


def _fan_out(server: _Child, token: str, sizes: Sizes) -> FanOut:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    prefix = f"F{secrets.token_hex(3)}-"
    procs, port = 2, server.port
    shares = [sizes.subscribers // procs + (1 if p < sizes.subscribers % procs else 0) for p in range(procs)]
    seconds = 120.0
    processes: list[BaseProcess] = [
        context.Process(
            target=_subscriber_worker, args=(Job("stream", port, token, prefix, n, seconds), out), daemon=True
        )
        for n in shares
    ]
    report = FanOut()
    try:
        for process in processes:
            process.start()
        cpu_before = server.cpu_seconds()
        start, report.tally = asyncio.run(_drive(port, token, prefix, sizes.subscribers, sizes.orders))
        driven = time.monotonic() - start
        batches: list[dict[str, Any]] = _collect(out, procs, seconds + 30.0, processes)
        cpu_after = server.cpu_seconds()
    finally:
        _stop_all(processes)
    report.submits_per_second = sizes.orders / driven if driven else 0.0
    subscriptions = [entry for batch in batches for entry in batch["subscriptions"]]
    expected = Counter(s.get("expected", -1) for s in subscriptions if not s.get("error"))
    report.expected = expected.most_common(1)[0][0] if expected else 0
    if len(expected) > 1:
        report.problems.append(f"subscribers disagree on the event count: {dict(expected)}")
    received = [s.get("received", 0) for s in subscriptions]
    report.fewest, report.most = min(received, default=0), max(received, default=0)
    missing = sizes.subscribers - len(subscriptions)
    report.short = missing + sum(
        bool(s.get("error")) or s.get("received") != report.expected or s.get("expected") != report.expected
        for s in subscriptions
    )
    errors = Counter(s["error"] for s in subscriptions if s.get("error"))
    report.problems += [f"{error} x{count}" for error, count in errors.items()]
    if missing:
        report.problems.append(f"{missing} subscribers never reported")
    foreign = sum(s.get("foreign", 0) for s in subscriptions)
    if foreign:
        report.problems.append(f"{foreign} events of other orders between the markers")
    last = max((s.get("last_event", 0.0) for s in subscriptions), default=0.0)
    report.events_per_second = sum(received) / (last - start) if last > start else 0.0
    if last > start:
        window = last - start
        clients = ", ".join(f"{batch['cpu'] / window:.0%}" for batch in batches)
        used = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
        busy = f"{used / window:.0%}" if used is not None else "?"
        report.busy = f"CPU (of one core): server {busy}, subscriber procs {clients}"
    return report


# -- the suite ---------------------------------------------------------------------------------------


def _latency_rows(what: str, samples: list[float], tally: Tally) -> list[Result]:
    p50, p90, p99, worst = _percentiles(samples)
    note = f"{len(samples):,} sequential calls, 1 client; {tally.problems()}"
    return [
        Result(SUITE, f"{what} round trip p50", p50, "us", note),
        Result(SUITE, f"{what} round trip p90", p90, "us"),
        Result(SUITE, f"{what} round trip p99", p99, "us"),
        Result(SUITE, f"{what} round trip max", worst, "us"),
    ]


def _load_rows(
    what: str, kind: str, server: _Child, token: str, *, sizes: Sizes, failures: Tally
) -> list[Result]:
    """The sustained rate from one, then two client processes; the server's CPU per call over both."""
    rows, cpu, calls = [], 0.0, 0
    for procs in (1, 2):
        load = _sustained(kind, server, token, procs, sizes)
        failures.add(load.tally)
        how = f"{procs} client proc{'s' if procs > 1 else ''} x {sizes.load_tasks // procs} tasks"
        note = f"{sizes.load_seconds:g}s, {load.tally.ok:,} ok, {load.tally.problems()}; {load.busy()}"
        rows.append(Result(SUITE, f"{what} sustained, {how}", load.rate, "calls/s", note))
        if load.server_cpu is not None:
            cpu, calls = cpu + load.server_cpu, calls + load.tally.ok
    if calls:
        note = "server process CPU time (all threads) / calls, over both sustained runs"
        rows.append(Result(SUITE, f"{what} server CPU per call", cpu / calls * 1e6, "us", note))
    return rows


def run(sizes: Sizes = FULL) -> list[Result]:
    token = "bench-" + secrets.token_hex(16)
    results: list[Result] = []
    failures = Tally()
    engine = _Child("--serve-engine", token)
    try:
        port = engine.wait_for_port()
        samples, tally = asyncio.run(_latencies("submit", port, token, sizes))
        failures.add(tally)
        submit_p50 = _percentiles(samples)[0]
        results += _latency_rows("SubmitOrder", samples, tally)
        results += _load_rows("SubmitOrder", "submit", engine, token, sizes=sizes, failures=failures)
        fan = _fan_out(engine, token, sizes)
        failures.add(fan.tally)
        n = sizes.subscribers
        per_order = fan.expected / max(sizes.orders, 1)
        stream_note = (
            f"{sizes.orders:,} orders x {per_order:.2f} events to {n} subscribers in 2 client procs;"
            f" {fan.submits_per_second:,.0f} submits/s meanwhile; {fan.tally.problems()};"
            f" {fan.busy}"
        )
        problems = "; ".join(fan.problems) or "none"
        results += [
            Result(
                SUITE, f"StreamOrderEvents fan-out to {n}", fan.events_per_second, "events/s", stream_note
            ),
            Result(
                SUITE, "fan-out events per subscriber min", fan.fewest, "events", f"expected {fan.expected}"
            ),
            Result(
                SUITE, "fan-out events per subscriber max", fan.most, "events", f"expected {fan.expected}"
            ),
            Result(SUITE, "fan-out subscribers short/dropped", fan.short, "subs", f"problems: {problems}"),
        ]
        status = asyncio.run(_final_status(port, token))
    finally:
        engine.stop()
    echo = _Child("--serve-echo", token)
    try:
        port = echo.wait_for_port()
        samples, tally = asyncio.run(_latencies("echo", port, token, sizes))
        failures.add(tally)
        results += _latency_rows("bare grpc.aio echo", samples, tally)
        engine_share = submit_p50 - _percentiles(samples)[0]
        results.append(Result(SUITE, "SubmitOrder p50 minus echo p50", engine_share, "us"))
        results += _load_rows("echo", "echo", echo, token, sizes=sizes, failures=failures)
    finally:
        echo.stop()
    counters = status.counters
    results.append(
        Result(
            SUITE,
            "failed or unexpected calls, all phases",
            sum(failures.errors.values()) + failures.unexpected,
            "calls",
            f"{failures.problems()}; engine: {counters.orders_submitted:,} orders, {counters.fills:,} fills,"
            f" {counters.risk_rejections} risk rejections, {counters.handler_errors} handler errors,"
            f" {counters.stream_drops} stream drops",
        )
    )
    return results


async def _final_status(port: int, token: str) -> engine_pb2.GetStatusResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        return await _status(engine_pb2_grpc.EngineServiceStub(channel), token)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve-engine"]:
        asyncio.run(_serve_engine())
    elif sys.argv[1:] == ["--serve-echo"]:
        asyncio.run(_serve_echo())
    else:
        for row in run(QUICK if "--quick" in sys.argv[1:] else FULL):
            print(f"{row.name:<45} {row.value:>12,.3f} {row.unit}  {row.note}")
