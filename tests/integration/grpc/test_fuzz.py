"""A seeded fuzz of the whole tradeplane.v1 surface over a real server (a few seconds).

Every method, found through the descriptors so a new one is covered at once, gets random
bytes, messages whose every field holds a hostile value of its type, and a body over the
size limit; with no token, a wrong one, and the admin token. Whatever comes back, it is
never INTERNAL or UNKNOWN, nothing is logged at ERROR or with a traceback, and the engine
still serves afterwards.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from tradeplane.v1 import engine_pb2, market_data_pb2, risk_pb2

from entrypoints.grpc.server import MAX_REQUEST_BYTES, SERVICES
from tests.integration.grpc.support import ADMIN, BTC, VIEWER, Env
from tests.integration.grpc.test_hostile_input import Captured, assert_no_traceback, captured

__all__ = ["captured"]  # the fixture, shared with test_hostile_input

SEED = 20240601
CALL_S = 2.0
STREAM_S = 0.15  # a stream that was accepted is cut by its deadline: that is an answer too
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
CREDENTIALS = {
    "no token": (),
    "wrong token": (("authorization", "Bearer not-a-token-0123456789abcdef"),),
    "admin": ADMIN,
}
HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "ok\r\nERROR forged",
    "\x1b[2J",
    "\u202eevil",
    "\u200b",
    "\ud7ff\ue000",
    "x" * 10_000,
    "9" * 5000,
    "\u00b2",
    "NaN",
    "-Infinity",
    "1e999999",
    "../../etc/passwd",
    "/etc/passwd",
    "%s%n%x",
    "' OR 1=1 --",
    BTC,
    "BTCUSDT.BINANCE\n",
    "é" * 300,
    "\U0001f4a5",
]
HOSTILE_INTS = [0, 1, -1, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63), 10**12]
HOSTILE_UINTS = [0, 1, 2**32 - 1, 2**64 - 1]
HOSTILE_FLOATS = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e308, -1e-308]
SIGNED = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}
UNSIGNED = {
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
}


def methods() -> Iterator[tuple[str, MethodDescriptor]]:
    for name in SERVICES:  # every service the server serves, a new one as soon as it is added
        service = descriptor_pool.Default().FindServiceByName(name)
        for method in service.methods:
            yield f"/{service.full_name}/{method.name}", method


METHODS = dict(methods())


def _scalar(rng: random.Random, field: FieldDescriptor) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return rng.choice(HOSTILE_TEXT)
    if kind == FieldDescriptor.TYPE_BYTES:
        return rng.randbytes(rng.randrange(64))
    if kind == FieldDescriptor.TYPE_BOOL:
        return rng.random() < 0.5
    if kind == FieldDescriptor.TYPE_ENUM:
        return rng.choice([0, 1, 2, 7, 99, -1, 2**31 - 1])
    if kind in SIGNED:
        value = rng.choice(HOSTILE_INTS)
        return max(min(value, 2**31 - 1), -(2**31)) if kind in {5, 17, 15} else value
    if kind in UNSIGNED:
        value = rng.choice(HOSTILE_UINTS)
        return min(value, 2**32 - 1) if kind in {13, 7} else value
    return rng.choice(HOSTILE_FLOATS)


def hostile(rng: random.Random, descriptor: Descriptor, depth: int = 0) -> Message:
    """A message of ``descriptor`` with a hostile value in about every field."""
    message = message_factory.GetMessageClass(descriptor)()
    for field in descriptor.fields:
        if rng.random() < 0.2 or depth > 2:
            continue
        target: Any = getattr(message, field.name)
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            key_field = entry.fields_by_name["key"]
            value_field = entry.fields_by_name["value"]
            for _ in range(rng.choice([1, 2, 100])):
                key = _scalar(rng, key_field)
                if value_field.message_type is not None:
                    target[key].CopyFrom(hostile(rng, value_field.message_type, depth + 1))
                else:
                    target[key] = _scalar(rng, value_field)
        elif entry is not None:
            items = [hostile(rng, entry, depth + 1) for _ in range(rng.choice([1, 3]))]
            if field.is_repeated:
                target.extend(items)
            else:
                target.CopyFrom(items[0])
        elif field.is_repeated:
            target.extend(_scalar(rng, field) for _ in range(rng.choice([0, 1, 3, 2000])))
        else:
            with contextlib.suppress(ValueError):  # a closed enum refuses it locally: nothing to send
                setattr(message, field.name, _scalar(rng, field))
    return message


async def call(env: Env, path: str, body: bytes, metadata: Any) -> grpc.StatusCode:
    """The status the server answers ``body`` with (OK for an accepted stream cut by its deadline)."""
    method = METHODS[path]
    oversize = len(body) > MAX_REQUEST_BYTES  # its refusal comes only once it is all sent
    channel: Any = env.stub.channel  # untyped calls: the bytes go as they are, no serializer
    try:
        if method.server_streaming:
            timeout = CALL_S if oversize else STREAM_S
            stream = channel.unary_stream(path)(body, metadata=metadata, timeout=timeout)
            async for _ in stream:
                pass
        else:
            await channel.unary_unary(path)(body, metadata=metadata, timeout=CALL_S)
    except grpc.aio.AioRpcError as error:
        if method.server_streaming and not oversize and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            return grpc.StatusCode.OK
        return error.code()
    return grpc.StatusCode.OK


def bodies(rng: random.Random, method: MethodDescriptor) -> Iterator[tuple[str, bytes]]:
    for size in (1, 7, 64, 600):
        yield f"random {size} bytes", rng.randbytes(size)
    for index in range(4):
        yield f"hostile message {index}", hostile(rng, method.input_type).SerializeToString()


@pytest.mark.parametrize("who", CREDENTIALS)
async def test_no_input_gets_internal_or_unknown_or_a_traceback(
    env: Env, captured: Captured, who: str
) -> None:
    rng = random.Random(f"{SEED}-{who}")
    seen: dict[grpc.StatusCode, int] = {}
    for path, method in METHODS.items():
        for name, body in bodies(rng, method):
            code = await call(env, path, body, CREDENTIALS[who])
            assert code not in NEVER, (path, name, code)
            seen[code] = seen.get(code, 0) + 1
            if len(body) > MAX_REQUEST_BYTES:  # refused by grpc itself, before anything reads it
                assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, (path, name, code)
            elif who != "admin":
                assert code == grpc.StatusCode.UNAUTHENTICATED, (path, name, code)

    assert_no_traceback(captured)
    if who == "admin":
        assert grpc.StatusCode.INVALID_ARGUMENT in seen, seen
    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=CALL_S)
    assert status.running
    assert status.counters.handler_errors == 0


@pytest.mark.parametrize("who", CREDENTIALS)
async def test_an_oversize_body_is_resource_exhausted(env: Env, captured: Captured, who: str) -> None:
    body = risk_pb2.HaltRequest(reason="x" * (2 << 20)).SerializeToString()
    trades = market_data_pb2.StreamTradesRequest(instrument_ids=["X" * 1000] * 2000).SerializeToString()

    unary = await call(env, "/tradeplane.v1.RiskService/Halt", body, CREDENTIALS[who])
    stream = await call(env, "/tradeplane.v1.MarketDataService/StreamTrades", trades, CREDENTIALS[who])

    assert unary == stream == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert env.app.risk.trading.state.value == "ACTIVE"
    assert_no_traceback(captured)


async def test_a_fuzzed_admin_never_leaves_a_control_character_in_the_state(env: Env) -> None:
    rng = random.Random(SEED)
    for _ in range(30):
        reason = rng.choice(HOSTILE_TEXT) + rng.choice(HOSTILE_TEXT)
        await call(
            env,
            "/tradeplane.v1.RiskService/Halt",
            risk_pb2.HaltRequest(reason=reason).SerializeToString(),
            ADMIN,
        )
        trading = env.app.risk.trading
        assert trading.message.isprintable() or not trading.message.strip(), repr(trading.message)
