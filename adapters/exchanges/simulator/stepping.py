"""The pace of a simulated market: ``rate`` steps per second, shared by every dialect's server.

Steps due are run in batches (at most ``batch`` between two yields to the event loop) and a
long stall never turns into a burst: the schedule never lags more than a second behind.
With ``rate`` 0 the market steps as fast as the clients read (while ``congested`` is false).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

BATCH = 256
"""Most market steps between two yields to the event loop."""


async def step_forever(
    rate: float,
    step: Callable[[int], object],
    *,
    idle: Callable[[], bool],
    congested: Callable[[], bool],
    batch: int = BATCH,
) -> None:
    """Call ``step(now_ms)`` ``rate`` times a second until cancelled; not while ``idle()``."""
    loop = asyncio.get_running_loop()
    interval = 1.0 / rate if rate > 0 else 0.0
    next_at = loop.time()
    while True:
        now = loop.time()
        if idle():
            await asyncio.sleep(0.005)
            next_at = loop.time()
            continue
        if interval:
            due = int((now - next_at) / interval) + 1 if now >= next_at else 0
            if due == 0:
                await asyncio.sleep(next_at - now)
                continue
            due = min(due, batch)
            next_at = max(next_at + due * interval, now - 1.0)  # no burst after a long stall
        else:
            if congested():
                await asyncio.sleep(0.001)
                continue
            due = batch
        now_ms = int(time.time() * 1000)
        for _ in range(due):
            step(now_ms)
        await asyncio.sleep(0)
