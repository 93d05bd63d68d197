"""A local webhook receiver for the tests: an aiohttp server on 127.0.0.1:0 that records bodies.

``answers`` is the status of each successive request (then 200); ``delay_s`` makes it slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Receiver:
    answers: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    bodies: list[Any] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    requests: int = 0
    url: str = ""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.paths.append(request.path)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.bodies.append(await request.json())
            self.arrived.set()
        return web.Response(status=status, text="ok" if status == 200 else "no")

    async def wait_for(self, count: int, timeout_s: float = 5.0) -> None:
        async def enough() -> None:
            while len(self.bodies) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout_s)


@contextlib.asynccontextmanager
async def receiving(
    receiver: Receiver | None = None, path: str = "/services/T000/B000/secret-token"
) -> AsyncIterator[Receiver]:
    """Serve ``receiver`` on 127.0.0.1 at a free port until the block ends."""
    receiver = receiver or Receiver()
    app = web.Application()
    app.router.add_post(path, receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (the port was bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook/secret-token"
