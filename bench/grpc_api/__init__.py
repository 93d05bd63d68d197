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

This module turns the phases into result rows; ``servers`` holds the child servers, ``calls``
one client's calls and latencies, ``load`` the sustained runs, ``fanout`` the stream fan-out,
``common`` what they share.
"""

from __future__ import annotations

import asyncio
import secrets

import grpc
from tradeplane.v1 import engine_pb2, engine_pb2_grpc

from bench.grpc_api.calls import Tally, engine_status, latencies, percentiles
from bench.grpc_api.common import FULL, Sizes
from bench.grpc_api.fanout import fan_out
from bench.grpc_api.load import sustained
from bench.grpc_api.servers import ServerChild
from bench.harness import Result

SUITE = "grpc_api"


def _latency_rows(what: str, samples: list[float], tally: Tally) -> list[Result]:
    p50, p90, p99, worst = percentiles(samples)
    note = f"{len(samples):,} sequential calls, 1 client; {tally.problems()}"
    return [
        Result(SUITE, f"{what} round trip p50", p50, "us", note),
        Result(SUITE, f"{what} round trip p90", p90, "us"),
        Result(SUITE, f"{what} round trip p99", p99, "us"),
        Result(SUITE, f"{what} round trip max", worst, "us"),
    ]


def _load_rows(
    what: str, kind: str, server: ServerChild, token: str, *, sizes: Sizes, failures: Tally
) -> list[Result]:
    """The sustained rate from one, then two client processes; the server's CPU per call over
    both, all threads and the event loop's alone (the one that saturates first)."""
    rows, cpu, main, calls = [], 0.0, 0.0, 0
    for procs in (1, 2):
        load = sustained(kind, server, token, procs, sizes)
        failures.add(load.tally)
        how = f"{procs} client proc{'s' if procs > 1 else ''} x {sizes.load_tasks // procs} tasks"
        note = f"{sizes.load_seconds:g}s, {load.tally.ok:,} ok, {load.tally.problems()}; {load.busy()}"
        rows.append(Result(SUITE, f"{what} sustained, {how}", load.rate, "calls/s", note))
        if load.server_cpu is not None and load.server_main_cpu is not None:
            cpu, main, calls = cpu + load.server_cpu, main + load.server_main_cpu, calls + load.tally.ok
    if calls:
        note = "server process CPU time (all threads) / calls, over both sustained runs"
        rows.append(Result(SUITE, f"{what} server CPU per call", cpu / calls * 1e6, "us", note))
        note = "the same, the event loop's thread only (grpc's I/O threads excluded)"
        rows.append(Result(SUITE, f"{what} server loop-thread CPU per call", main / calls * 1e6, "us", note))
    return rows


def run(sizes: Sizes = FULL) -> list[Result]:
    token = "bench-" + secrets.token_hex(16)
    results: list[Result] = []
    failures = Tally()
    engine = ServerChild("--serve-engine", token)
    try:
        port = engine.wait_for_port()
        samples, tally = asyncio.run(latencies("submit", port, token, sizes))
        failures.add(tally)
        submit_p50 = percentiles(samples)[0]
        results += _latency_rows("SubmitOrder", samples, tally)
        results += _load_rows("SubmitOrder", "submit", engine, token, sizes=sizes, failures=failures)
        fan = fan_out(engine, token, sizes)
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
    echo = ServerChild("--serve-echo", token)
    try:
        port = echo.wait_for_port()
        samples, tally = asyncio.run(latencies("echo", port, token, sizes))
        failures.add(tally)
        results += _latency_rows("bare grpc.aio echo", samples, tally)
        engine_share = submit_p50 - percentiles(samples)[0]
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
        return await engine_status(engine_pb2_grpc.EngineServiceStub(channel), token)
