"""Sustained calls/s from spawned client processes, and the helpers that start and collect them."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from typing import Any

import grpc

from bench.grpc_api.calls import Tally, call_once, caller
from bench.grpc_api.common import START_TIMEOUT_S, Sizes
from bench.grpc_api.servers import ServerChild


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
        call = caller(kind, channel, token)

        async def warm(task: int) -> None:
            for number in range(20):
                await call_once(call, f"{tag}w-{task}-{number}", number, Tally())

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
                await call_once(call, f"{tag}-{task}-{number}", number, tally)
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


def stop_all(processes: list[BaseProcess]) -> None:
    for process in processes:
        if process.pid is None:  # never started
            continue
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()


def collect(out: Any, count: int, timeout: float, processes: list[BaseProcess]) -> list[Any]:
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
    server_main_cpu: float | None = None  # the event loop's thread only
    client_cpu: list[float] = field(default_factory=list)

    def server_us_per_call(self) -> float | None:
        return self.server_cpu / self.tally.ok * 1e6 if self.server_cpu and self.tally.ok else None

    def busy(self) -> str:
        clients = ", ".join(f"{cpu / self.elapsed:.0%}" for cpu in self.client_cpu) if self.elapsed else "?"
        server = f"{self.server_cpu / self.elapsed:.0%}" if self.server_cpu and self.elapsed else "?"
        return f"CPU (of one core): server {server}, client procs {clients}"


def sustained(kind: str, server: ServerChild, token: str, procs: int, sizes: Sizes) -> Load:
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
        if len(collect(ready, procs, 60.0, processes)) == procs:
            cpu_before, main_before = server.cpu_seconds(), server.cpu_seconds(main_thread=True)
            go.set()
            results = collect(out, procs, sizes.load_seconds + 60.0, processes)
            cpu_after, main_after = server.cpu_seconds(), server.cpu_seconds(main_thread=True)
            if cpu_before is not None and cpu_after is not None:
                load.server_cpu = cpu_after - cpu_before
            if main_before is not None and main_after is not None:
                load.server_main_cpu = main_after - main_before
    finally:
        stop_all(processes)
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
