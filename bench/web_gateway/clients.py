"""The clients: the same calls over the gateway (httpx, HTTP/1.1 keep-alive) and straight over
gRPC (grpc.aio), sequential and concurrent runs of them, and the Server-Sent Events readers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from statistics import quantiles

import grpc
import httpx
from tradeplane.v1 import (
    common_pb2,
    engine_pb2,
    engine_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
    portfolio_pb2,
    portfolio_pb2_grpc,
)

from bench.web_gateway.common import CALL_TIMEOUT_S, INSTRUMENT, QUANTITY, RESTING_PRICE, Sizes

API = "/api/v1"
OK_SUBMIT = "ORDER_STATUS_ACCEPTED"

Call = Callable[[int], Awaitable[bool]]
"""One request: (a number unique to this client) -> whether the answer was as expected."""


@dataclass(frozen=True, slots=True)
class Target:
    grpc_port: int
    http_port: int
    token: str


@dataclass(slots=True)
class Tally:
    ok: int = 0
    unexpected: int = 0  # answered, but not as expected (a status other than 200, not ACCEPTED)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.ok += other.ok
        self.unexpected += other.unexpected
        self.errors.update(other.errors)

    @property
    def failed(self) -> int:
        return self.unexpected + sum(self.errors.values())

    def problems(self) -> str:
        parts = [f"{code} {count}" for code, count in sorted(self.errors.items())]
        if self.unexpected:
            parts.append(f"unexpected answers {self.unexpected}")
        return f"ERRORS {self.failed}: " + ", ".join(parts) if self.failed else "0 errors"


def _limit_order(client_order_id: str) -> orders_pb2.SubmitOrderRequest:
    return orders_pb2.SubmitOrderRequest(
        client_order_id=client_order_id,
        instrument_id=INSTRUMENT,
        side=common_pb2.SIDE_BUY,
        type=common_pb2.ORDER_TYPE_LIMIT,
        quantity=QUANTITY,
        price=RESTING_PRICE,
    )


@contextlib.asynccontextmanager
async def caller(kind: str, target: Target, tag: str) -> AsyncIterator[Call]:
    """One client (its own connection) making calls of ``kind``: ``http status``, ``http
    positions``, ``http submit`` or the same with ``grpc``. Submissions rest a limit BUY 1 %
    below the market with the client order id ``{tag}-{number}``."""
    transport, what = kind.split()
    if transport == "http":
        headers = {"Authorization": f"Bearer {target.token}"}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{target.http_port}", headers=headers, timeout=CALL_TIMEOUT_S
        ) as http:
            yield _http_call(http, what, tag)
        return
    async with grpc.aio.insecure_channel(f"127.0.0.1:{target.grpc_port}") as channel:
        yield _grpc_call(channel, what, tag, target.token)


def _http_call(http: httpx.AsyncClient, what: str, tag: str) -> Call:
    if what == "submit":

        async def submit(number: int) -> bool:
            body = {
                "client_order_id": f"{tag}-{number}",
                "instrument_id": INSTRUMENT,
                "side": "SIDE_BUY",
                "type": "ORDER_TYPE_LIMIT",
                "quantity": QUANTITY,
                "price": RESTING_PRICE,
            }
            response = await http.post(f"{API}/orders", json=body)
            return response.status_code == 200 and response.json()["order"]["status"] == OK_SUBMIT

        return submit
    path = f"{API}/{what}"
    key = "positions" if what == "positions" else "running"

    async def get(number: int) -> bool:
        response = await http.get(path)
        return response.status_code == 200 and bool(response.json().get(key))

    return get


def _grpc_call(channel: grpc.aio.Channel, what: str, tag: str, token: str) -> Call:
    metadata = (("authorization", f"Bearer {token}"),)
    if what == "submit":
        submit_order = orders_pb2_grpc.OrderServiceStub(channel).SubmitOrder

        async def submit(number: int) -> bool:
            response = await submit_order(
                _limit_order(f"{tag}-{number}"), metadata=metadata, timeout=CALL_TIMEOUT_S
            )
            return response.order.status == common_pb2.ORDER_STATUS_ACCEPTED

        return submit
    if what == "positions":
        list_positions = portfolio_pb2_grpc.PortfolioServiceStub(channel).ListPositions

        async def positions(number: int) -> bool:
            request = portfolio_pb2.ListPositionsRequest()
            response = await list_positions(request, metadata=metadata, timeout=CALL_TIMEOUT_S)
            return len(response.positions) > 0

        return positions
    get_status = engine_pb2_grpc.EngineServiceStub(channel).GetStatus

    async def status(number: int) -> bool:
        response = await get_status(engine_pb2.GetStatusRequest(), metadata=metadata, timeout=CALL_TIMEOUT_S)
        return response.running

    return status


async def _call_once(call: Call, number: int, tally: Tally) -> None:
    try:
        good = await call(number)
    except grpc.aio.AioRpcError as error:
        tally.errors[error.code().name] += 1
    except httpx.HTTPError as error:
        tally.errors[type(error).__name__] += 1
    else:
        if good:
            tally.ok += 1
        else:
            tally.unexpected += 1


@dataclass(slots=True)
class Run:
    """Requests made in a run: their latencies (µs), how long it took, the tally, client CPU."""

    samples: list[float] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu: float = 0.0
    tally: Tally = field(default_factory=Tally)

    @property
    def rate(self) -> float:
        return len(self.samples) / self.seconds if self.seconds else 0.0

    def percentiles(self) -> tuple[float, float]:
        if len(self.samples) < 2:
            return (self.samples[0], self.samples[0]) if self.samples else (0.0, 0.0)
        cuts = quantiles(self.samples, n=100, method="inclusive")
        return cuts[49], cuts[98]


async def sequential(kind: str, target: Target, tag: str, sizes: Sizes) -> Run:
    """One client, one request at a time: a warm-up, then ``sizes.samples`` requests or
    ``sizes.max_seconds``, whichever ends first."""
    run = Run()
    perf = time.perf_counter
    async with caller(kind, target, tag) as call:
        for number in range(sizes.warm_up):
            await _call_once(call, -1 - number, Tally())
        cpu, start = time.process_time(), perf()
        deadline = start + sizes.max_seconds
        for number in range(sizes.samples):
            began = perf()
            await _call_once(call, number, run.tally)
            ended = perf()
            run.samples.append((ended - began) * 1e6)
            if ended > deadline:
                break
        run.seconds = perf() - start
        run.client_cpu = time.process_time() - cpu
    return run


async def concurrent(kind: str, target: Target, tag: str, sizes: Sizes) -> Run:
    """``sizes.clients`` clients, each on its own connection, each one request at a time, for
    ``sizes.load_seconds`` after a short warm-up of each."""
    run = Run()
    perf = time.perf_counter
    async with contextlib.AsyncExitStack() as stack:
        calls = [
            await stack.enter_async_context(caller(kind, target, f"{tag}c{index}"))
            for index in range(sizes.clients)
        ]

        async def warm(call: Call) -> None:
            for number in range(10):
                await _call_once(call, -1 - number, Tally())

        await asyncio.gather(*(warm(call) for call in calls))
        cpu, start = time.process_time(), perf()
        deadline = start + sizes.load_seconds

        async def drive(call: Call) -> None:
            number = 0
            while perf() < deadline:
                began = perf()
                await _call_once(call, number, run.tally)
                run.samples.append((perf() - began) * 1e6)
                number += 1

        await asyncio.gather(*(drive(call) for call in calls))
        run.seconds = perf() - start
        run.client_cpu = time.process_time() - cpu
    return run


# -- Server-Sent Events ---------------------------------------------------------------------------


@dataclass(slots=True)
class Reading:
    """What one SSE reader of /api/v1/stream/trades saw."""

    trades: int = 0
    error: str = ""  # the reason of a final ``event: error``, or what ended the read


async def read_trades(target: Target, stop: asyncio.Event, reading: Reading) -> None:
    """A browser that keeps up: count ``event: trades`` in ``reading`` until ``stop`` (or an
    error event)."""
    headers = {"Authorization": f"Bearer {target.token}", "Accept": "text/event-stream"}
    url = f"http://127.0.0.1:{target.http_port}{API}/stream/trades"
    timeout = httpx.Timeout(CALL_TIMEOUT_S, read=None)

    async def consume(response: httpx.Response) -> None:
        error_next = False
        async for line in response.aiter_lines():
            if line == "event: trades":
                reading.trades += 1
            elif line == "event: error":
                error_next = True
            elif error_next and line.startswith("data:"):
                reading.error = _reason(line)
                return

    try:
        async with (
            httpx.AsyncClient(timeout=timeout) as http,
            http.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code != 200:
                reading.error = f"HTTP {response.status_code}"
                return
            consuming = asyncio.ensure_future(consume(response))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({consuming, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (consuming, stopping):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consuming
    except httpx.HTTPError as error:
        reading.error = type(error).__name__


def _reason(data_line: str) -> str:
    marker = '"reason":"'
    at = data_line.find(marker)
    if at < 0:
        return data_line[5:].strip()[:80]
    start = at + len(marker)
    return data_line[start : data_line.index('"', start)]


class StalledBrowser:
    """A browser that asks for the trade stream and then never reads: a raw socket with a
    small receive buffer, so the gateway's writes back up through to the engine's fan-out."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    def open(self) -> None:
        self.sock.settimeout(CALL_TIMEOUT_S)
        self.sock.connect(("127.0.0.1", self.target.http_port))
        request = (
            f"GET {API}/stream/trades HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.target.token}\r\nAccept: text/event-stream\r\n\r\n"
        )
        self.sock.sendall(request.encode())

    def drain(self, seconds: float, limit: int = 256 * 1024 * 1024) -> tuple[int, int, str]:
        """Read what piled up (bounded in time and bytes): (trade events, bytes, the final
        error's reason or "")."""
        self.sock.settimeout(0.5)
        deadline = time.monotonic() + seconds
        chunks: list[bytes] = []
        size = 0
        quiet = 0
        while time.monotonic() < deadline and size < limit and quiet < 3:
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                quiet += 1  # nothing for a while: what piled up is read
                continue
            except OSError:
                break
            if not chunk:
                break
            quiet = 0
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
        trades = data.count(b"event: trades\n")
        at = data.rfind(b"event: error\n")
        reason = ""
        if at >= 0:
            line = data[at:].split(b"\n")[1].decode(errors="replace")
            reason = _reason(line)
        return trades, size, reason

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def cpu_share(seconds_cpu: float, seconds: float) -> str:
    return f"{seconds_cpu / seconds:.0%}" if seconds else "?"
