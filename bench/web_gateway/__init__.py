"""The web gateway against the gRPC control plane it fronts, side by side on one engine.

The engine, its gRPC server and the gateway run in one child process and one event loop, as
``tradeplane run`` serves them (``--serve``: no feed, a market of one quote and one trade,
a paper broker, no strategies, loose risk limits with no order-rate limit, a high per-token
rate limit, ``[grpc] stream_buffer`` 2,000). The clients run here, so client and server never
share a GIL or a loop; each figure's note gives both processes' CPU (of one core).

1. Request cost: GET /api/v1/status and /api/v1/positions over the gateway (httpx, HTTP/1.1
   keep-alive) against GetStatus and ListPositions straight over gRPC (grpc.aio), from one
   client one request at a time, then from 16 clients (a connection each) for a fixed window:
   requests/s, p50 and p99 latency. The difference is what the HTTP hop costs: JSON, the
   HTTP server, and a second loopback call from the gateway to the gRPC server.
2. Order submission: POST /api/v1/orders against SubmitOrder from 16 clients for a fixed
   window: limit BUYs resting 1 % below the market, a unique client_order_id each; every
   answer must be ACCEPTED.
3. Browsers do not slow the engine: trades published on the engine's bus per second (the
   child publishes them itself, 100 between two turns of its loop) flat out for a fixed window
   with no subscriber to /api/v1/stream/trades, then with 8, one of which never reads (a raw
   socket with a small receive buffer), and the drops of the bounded fan-out (``SLOW_CONSUMER``:
   the child counts the hub's, each browser reads its final error event). Flat out no browser
   keeps up, so all are dropped; paced at 2,000 trades/s the seven that read must receive every
   trade. Last, a stalled browser alone, trades paced at 10,000/s until the hub drops it: how
   many trades sat in socket and HTTP/2 buffers before its queue even began to fill.
   Submissions run after this phase, so the pump runs on a book without resting orders.

Every phase is bounded in time or count; the child is stopped in ``finally``. Errors are
counted and shown, never hidden. Run alone with ``python -m bench.web_gateway [--quick]``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import grpc
from tradeplane.v1 import common_pb2, engine_pb2, engine_pb2_grpc, orders_pb2, orders_pb2_grpc

from bench.harness import Result
from bench.web_gateway.clients import (
    Reading,
    Run,
    StalledBrowser,
    Tally,
    Target,
    concurrent,
    cpu_share,
    read_trades,
    sequential,
)
from bench.web_gateway.common import CALL_TIMEOUT_S, FULL, INSTRUMENT, STREAM_BUFFER, Sizes
from bench.web_gateway.server import ServerChild

SUITE = "web_gateway"
PACED_RATE = 2_000.0
"""Trades/s of the paced pump: a rate seven browsers can follow, so only the stalled one lags."""
STALL_RATE = 10_000.0
STALL_SECONDS = 15.0
"""The stalled browser alone: trades at this rate until it is dropped (at most this long)."""

CALLS = (
    ("GET /status (gateway)", "http status"),
    ("GetStatus (gRPC)", "grpc status"),
    ("GET /positions (gateway)", "http positions"),
    ("ListPositions (gRPC)", "grpc positions"),
)
SUBMITS = (("POST /orders (gateway)", "http submit"), ("SubmitOrder (gRPC)", "grpc submit"))


@dataclass(slots=True)
class Bench:
    child: ServerChild
    target: Target
    sizes: Sizes
    failures: Tally = field(default_factory=Tally)

    def measured(self, how: Callable[[], Coroutine[Any, Any, Run]]) -> tuple[Run, str]:
        """Run ``how`` with the server's CPU counted around it: (the run, a note on CPU)."""
        before = self.child.cpu_seconds()
        run = asyncio.run(how())
        after = self.child.cpu_seconds()
        self.failures.add(run.tally)
        server = cpu_share(after - before, run.seconds) if before is not None and after is not None else "?"
        note = (
            f"{len(run.samples):,} requests in {run.seconds:.1f}s, {run.tally.problems()};"
            f" CPU (of one core): server {server}, client {cpu_share(run.client_cpu, run.seconds)}"
        )
        return run, note


def _rows(what: str, clients: str, run: Run, note: str, unit: str = "req/s") -> list[Result]:
    p50, p99 = run.percentiles()
    return [
        Result(SUITE, f"{what}, {clients}", run.rate, unit, note),
        Result(SUITE, f"{what}, {clients} p50", p50, "us"),
        Result(SUITE, f"{what}, {clients} p99", p99, "us"),
    ]


def _request_cost(bench: Bench) -> list[Result]:
    rows: list[Result] = []
    sizes, target = bench.sizes, bench.target
    p50s: dict[str, float] = {}
    for number, (what, kind) in enumerate(CALLS):
        tag = f"q{number}"
        run, note = bench.measured(lambda: sequential(kind, target, tag, sizes))  # noqa: B023
        p50s[kind] = run.percentiles()[0]
        rows += _rows(what, "1 client", run, note)
        run, note = bench.measured(lambda: concurrent(kind, target, tag, sizes))  # noqa: B023
        rows += _rows(what, f"{sizes.clients} clients", run, note)
    for what, http, rpc in (
        ("status", "http status", "grpc status"),
        ("positions", "http positions", "grpc positions"),
    ):
        note = "p50 over the gateway minus p50 straight over gRPC, 1 client"
        rows.append(Result(SUITE, f"HTTP hop cost, {what} p50", p50s[http] - p50s[rpc], "us", note))
    return rows


def _submissions(bench: Bench) -> list[Result]:
    """Each run starts on a book without resting orders (the previous run's are cancelled)."""
    rows: list[Result] = []
    for number, (what, kind) in enumerate(SUBMITS):
        tag = f"S{secrets.token_hex(3)}{number}"
        asyncio.run(_cancel_all(bench.target))
        run, note = bench.measured(lambda: concurrent(kind, bench.target, tag, bench.sizes))  # noqa: B023
        rows += _rows(what, f"{bench.sizes.clients} clients", run, note, "orders/s")
    return rows


# -- phase 3: SSE subscribers and the engine's throughput ------------------------------------------


@dataclass(slots=True)
class Browsers:
    """One pump with SSE subscribers on: the child's figures and what the browsers saw."""

    pumped: dict[str, Any]
    readings: list[Reading]
    stalled_trades: int
    stalled_bytes: int
    stalled_reason: str
    client_cpu: float

    @property
    def rate(self) -> float:
        return float(self.pumped["trades"] / self.pumped["seconds"])

    def stalled_dropped(self) -> bool:
        return self.stalled_reason == "SLOW_CONSUMER"

    def live_dropped(self) -> list[Reading]:
        return [reading for reading in self.readings if reading.error]

    def note(self) -> str:
        reasons = sorted({reading.error for reading in self.live_dropped()})
        why = f" ({', '.join(reasons)})" if reasons else ""
        return (
            f"the stalled browser {'was' if self.stalled_dropped() else 'was NOT'} dropped"
            f" ({self.stalled_reason or 'no error event'}; {self.stalled_trades:,} trades reached it"
            f" when it read at last); {len(self.live_dropped())} of {len(self.readings)} live readers"
            f" dropped{why}; {self.pumped['subscribers_after']} still subscribed at the end;"
            f" stream_buffer {STREAM_BUFFER:,}"
        )


def _command(bench: Bench, timeout: float, **what: Any) -> Awaitable[dict[str, Any]]:
    return asyncio.get_running_loop().run_in_executor(None, lambda: bench.child.command(timeout, **what))


async def _pump(
    bench: Bench, seconds: float, rate: float = 0.0, *, until_dropped: bool = False
) -> dict[str, Any]:
    return await _command(bench, seconds + 30.0, pump=seconds, rate=rate, until_dropped=until_dropped)


async def _with_browsers(
    bench: Bench, subscribers: int, seconds: float, rate: float = 0.0, *, until_dropped: bool = False
) -> Browsers:
    """Open ``subscribers`` SSE subscribers (all but one reading), pump, let the readers catch
    up, then read what piled up at the stalled one."""
    target = bench.target
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    readings = [Reading() for _ in range(subscribers - 1)]
    readers = [asyncio.ensure_future(read_trades(target, stop, reading)) for reading in readings]
    stalled = StalledBrowser(target)
    try:
        await loop.run_in_executor(None, stalled.open)
        connected = await _command(bench, 60.0, wait_for=subscribers)
        if connected["subscribers"] < subscribers:
            raise RuntimeError(f"only {connected['subscribers']} of {subscribers} SSE subscribers connected")
        cpu = time.process_time()
        pumped = await _pump(bench, seconds, rate, until_dropped=until_dropped)
        # The readers take what is still on its way: until no count moves for 0.5 s (at most 10 s).
        deadline = time.monotonic() + 10.0
        last = -1
        while time.monotonic() < deadline:
            seen = sum(reading.trades for reading in readings)
            if seen == last:
                break
            last = seen
            await asyncio.sleep(0.5)
        client_cpu = time.process_time() - cpu
        stop.set()
        await asyncio.wait_for(asyncio.gather(*readers), CALL_TIMEOUT_S)
        trades, size, reason = await loop.run_in_executor(None, stalled.drain, 20.0)
    finally:
        stop.set()
        for reader in readers:
            reader.cancel()
        stalled.close()
    return Browsers(pumped, readings, trades, size, reason, client_cpu)


async def _browser_phases(bench: Bench) -> tuple[dict[str, Any], Browsers, Browsers, Browsers]:
    seconds, n = bench.sizes.pump_seconds, bench.sizes.subscribers
    idle = await _pump(bench, seconds)
    flat_out = await _with_browsers(bench, n, seconds)
    paced = await _with_browsers(bench, n, seconds, PACED_RATE)
    alone = await _with_browsers(bench, 1, STALL_SECONDS, STALL_RATE, until_dropped=True)
    return idle, flat_out, paced, alone


def _browser_rows(bench: Bench) -> list[Result]:
    idle, flat_out, paced, alone = asyncio.run(_browser_phases(bench))
    n = bench.sizes.subscribers
    idle_rate = idle["trades"] / idle["seconds"]
    idle_note = (
        f"flat out: {idle['trades']:,} trades in {idle['seconds']:.1f}s;"
        f" server CPU {cpu_share(idle['cpu'], idle['seconds'])} (of one core)"
    )
    pumped = flat_out.pumped
    flat_note = (
        f"flat out: {pumped['trades']:,} trades in {pumped['seconds']:.1f}s,"
        f" {100 * (flat_out.rate / idle_rate - 1):+.1f} % against none;"
        f" server CPU {cpu_share(pumped['cpu'], pumped['seconds'])}"
    )
    pumped = paced.pumped
    paced_note = (
        f"paced at {PACED_RATE:,.0f}/s: {pumped['trades']:,} trades in {pumped['seconds']:.1f}s;"
        f" server CPU {cpu_share(pumped['cpu'], pumped['seconds'])},"
        f" SSE readers' process {cpu_share(paced.client_cpu, pumped['seconds'])}"
    )
    live = [reading.trades for reading in paced.readings]
    live_note = f"paced; of {pumped['trades']:,} published while they were subscribed"
    pumped = alone.pumped
    stalled_note = (
        f"a stalled browser alone, trades paced at {STALL_RATE:,.0f}/s until it was dropped"
        f" ({'dropped after' if alone.stalled_dropped() else 'NOT dropped within'} {pumped['trades']:,}"
        f" trades, {pumped['seconds']:.1f}s): {alone.stalled_bytes / 2**20:,.1f} MiB of events sat in"
        f" socket and HTTP/2 buffers ahead of the {STREAM_BUFFER:,}-message queue"
    )
    return [
        Result(SUITE, "bus trades/s, 0 SSE subscribers", idle_rate, "events/s", idle_note),
        Result(SUITE, f"bus trades/s, {n} SSE subscribers (1 stalled)", flat_out.rate, "events/s", flat_note),
        Result(
            SUITE, "SSE subscribers dropped, flat out", flat_out.pumped["dropped"], "subs", flat_out.note()
        ),
        Result(
            SUITE, f"bus trades/s, {n} SSE subscribers (1 stalled), paced", paced.rate, "events/s", paced_note
        ),
        Result(SUITE, "SSE subscribers dropped, paced", paced.pumped["dropped"], "subs", paced.note()),
        Result(
            SUITE, "SSE live reader trades received, paced, min", min(live, default=0), "events", live_note
        ),
        Result(
            SUITE, "SSE live reader trades received, paced, max", max(live, default=0), "events", live_note
        ),
        Result(
            SUITE,
            "trades a stalled browser holds before the drop",
            alone.stalled_trades,
            "events",
            stalled_note,
        ),
    ]


async def _open_position(target: Target) -> None:
    """One market BUY, so ListPositions has a position to list (and the engine is warm)."""
    metadata = (("authorization", f"Bearer {target.token}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{target.grpc_port}") as channel:
        request = orders_pb2.SubmitOrderRequest(
            client_order_id=f"seed-{secrets.token_hex(4)}",
            instrument_id=INSTRUMENT,
            side=common_pb2.SIDE_BUY,
            type=common_pb2.ORDER_TYPE_MARKET,
            quantity="0.01",
        )
        stub = orders_pb2_grpc.OrderServiceStub(channel)
        response = await stub.SubmitOrder(request, metadata=metadata, timeout=CALL_TIMEOUT_S)
        if response.order.status != common_pb2.ORDER_STATUS_FILLED:
            raise RuntimeError(f"the seed order was not filled: {response.order}")


async def _cancel_all(target: Target) -> None:
    metadata = (("authorization", f"Bearer {target.token}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{target.grpc_port}") as channel:
        stub = orders_pb2_grpc.OrderServiceStub(channel)
        await stub.CancelAllOrders(orders_pb2.CancelAllOrdersRequest(), metadata=metadata, timeout=60.0)
        working = orders_pb2.ListOrdersRequest(open_only=True, page_size=1)
        deadline = time.monotonic() + 10.0
        while (await stub.ListOrders(working, metadata=metadata, timeout=CALL_TIMEOUT_S)).orders:
            if time.monotonic() > deadline:
                raise RuntimeError("orders are still working after CancelAllOrders")
            await asyncio.sleep(0.1)


async def _final_status(target: Target) -> engine_pb2.GetStatusResponse:
    metadata = (("authorization", f"Bearer {target.token}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{target.grpc_port}") as channel:
        stub = engine_pb2_grpc.EngineServiceStub(channel)
        response: engine_pb2.GetStatusResponse = await stub.GetStatus(
            engine_pb2.GetStatusRequest(), metadata=metadata, timeout=CALL_TIMEOUT_S
        )
        return response


def run(sizes: Sizes = FULL) -> list[Result]:
    token = "bench-" + secrets.token_hex(16)
    child = ServerChild(token)
    try:
        child.wait_for_ports()
        bench = Bench(child, Target(child.grpc_port, child.http_port, token), sizes)
        asyncio.run(_open_position(bench.target))
        results = _request_cost(bench)
        results += _browser_rows(bench)  # before the submissions: on an engine without resting orders
        results += _submissions(bench)
        status = asyncio.run(_final_status(bench.target))
    finally:
        child.stop()
    counters = status.counters
    results.append(
        Result(
            SUITE,
            "failed or unexpected requests, all phases",
            bench.failures.failed,
            "requests",
            f"{bench.failures.problems()}; engine: {counters.orders_submitted:,} orders,"
            f" {counters.fills:,} fills, {counters.risk_rejections} risk rejections,"
            f" {counters.handler_errors} handler errors, {counters.stream_drops} stream drops",
        )
    )
    return results
