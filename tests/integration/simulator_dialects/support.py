"""A plain ``websockets`` client for the simulator dialects: JSON in and out, every wait bounded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

WAIT_S = 5.0


def decode(raw: str | bytes) -> Any:
    """JSON with numbers as ``Decimal`` (exact, as a client of these venues must read them)."""
    return json.loads(raw, parse_float=Decimal)


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(message).decode())


async def receive(ws: ClientConnection, timeout: float = WAIT_S) -> Any:
    return decode(await asyncio.wait_for(ws.recv(), timeout))


async def receive_until(
    ws: ClientConnection, accept: Callable[[Any], bool], timeout: float = WAIT_S
) -> tuple[Any, list[Any]]:
    """The first message ``accept`` takes, and every message before it."""
    seen: list[Any] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"no accepted message in {timeout}s; saw {seen[-3:]}"
        message = await receive(ws, remaining)
        if accept(message):
            return message, seen
        seen.append(message)
