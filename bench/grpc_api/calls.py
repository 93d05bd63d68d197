"""One client's calls: SubmitOrder or the echo, their tally, sequential round-trip latencies."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from statistics import quantiles
from typing import Any

import grpc
from tradeplane.v1 import common_pb2, engine_pb2, orders_pb2, orders_pb2_grpc

from bench.grpc_api.common import (
    CALL_TIMEOUT_S,
    ECHO_METHOD,
    INSTRUMENT,
    OK_STATUSES,
    QUANTITY,
    START_TIMEOUT_S,
    Sizes,
)

Call = Callable[[str, int], Awaitable[bool]]
"""One call: (client_order_id, sequence number) -> whether the answer was as expected."""


def auth_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def _submit_request(client_order_id: str, number: int) -> orders_pb2.SubmitOrderRequest:
    return orders_pb2.SubmitOrderRequest(
        client_order_id=client_order_id,
        instrument_id=INSTRUMENT,
        side=common_pb2.SIDE_BUY if number % 2 == 0 else common_pb2.SIDE_SELL,
        type=common_pb2.ORDER_TYPE_MARKET,
        quantity=QUANTITY,
    )


def caller(kind: str, channel: grpc.aio.Channel, token: str) -> Call:
    metadata = auth_metadata(token)
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


async def engine_status(stub: Any, token: str) -> engine_pb2.GetStatusResponse:
    response: engine_pb2.GetStatusResponse = await stub.GetStatus(
        engine_pb2.GetStatusRequest(), metadata=auth_metadata(token), timeout=CALL_TIMEOUT_S
    )
    return response


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


async def call_once(call: Call, client_order_id: str, number: int, tally: Tally) -> None:
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


async def latencies(kind: str, port: int, token: str, sizes: Sizes) -> tuple[list[float], Tally]:
    """Sequential round trips in µs after a warm-up, from one grpc.aio client."""
    tally = Tally()
    samples: list[float] = []
    perf = time.perf_counter_ns
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = caller(kind, channel, token)
        if kind == "submit":
            await _wait_until_filling(call, "lat")
        for number in range(sizes.warm_up):
            await call_once(call, f"lat-w{number}", number, Tally())
        for number in range(sizes.samples):
            start = perf()
            await call_once(call, f"lat-{number}", number, tally)
            samples.append((perf() - start) / 1e3)
    return samples, tally


def percentiles(samples: list[float]) -> tuple[float, float, float, float]:
    cuts = quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98], max(samples)
