"""StreamOrderEvents fan-out: subscriber processes count the events between two marker orders."""

from __future__ import annotations

import asyncio
import multiprocessing
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

import grpc
from tradeplane.v1 import engine_pb2_grpc, orders_pb2, orders_pb2_grpc

from bench.grpc_api.calls import Tally, auth_metadata, call_once, caller, engine_status
from bench.grpc_api.common import FANOUT_DRIVERS, TERMINAL, Sizes
from bench.grpc_api.load import Job, collect, stop_all
from bench.grpc_api.servers import ServerChild


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
            orders_pb2.StreamOrderEventsRequest(), metadata=auth_metadata(token), timeout=seconds
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


async def _drive(port: int, token: str, prefix: str, subscribers: int, orders: int) -> tuple[float, Tally]:
    """Wait for every subscriber, then start marker, ``orders`` orders (8 tasks), end marker."""
    tally = Tally()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        engine = engine_pb2_grpc.EngineServiceStub(channel)
        deadline = time.monotonic() + 60.0
        while (await engine_status(engine, token)).counters.stream_subscribers < subscribers:
            if time.monotonic() > deadline:
                raise RuntimeError("the subscribers never all connected")
            await asyncio.sleep(0.05)
        call = caller("submit", channel, token)
        await call_once(call, f"{prefix}start", 0, tally)
        start = time.monotonic()
        numbers = iter(range(orders))

        async def drive() -> None:
            for number in numbers:
                await call_once(call, f"{prefix}{number}", number, tally)

        await asyncio.gather(*(drive() for _ in range(FANOUT_DRIVERS)))
        await call_once(call, f"{prefix}end", 1, tally)
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


def fan_out(server: ServerChild, token: str, sizes: Sizes) -> FanOut:
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
        batches: list[dict[str, Any]] = collect(out, procs, seconds + 30.0, processes)
        cpu_after = server.cpu_seconds()
    finally:
        stop_all(processes)
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
