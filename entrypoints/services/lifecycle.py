"""Stopping a service's tasks within a bound, whatever they are blocked on."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.redis.connection import REDIS_ERRORS

log = logging.getLogger("tradeplane.services")

STOP_TIMEOUT_S = 2.0
"""How long a shard's task, the lease release and the client get to finish on the way out."""


RECANCEL_S = 0.05
"""How often a task that outlived its cancellation is cancelled again."""


async def cancel_within(task: asyncio.Task[None], timeout_s: float, *, what: str) -> None:
    """Cancel ``task`` and wait for it, at most ``timeout_s``.

    redis-py's asyncio client can lose a cancellation: a command of a task cancelled meanwhile
    sometimes returns normally, and a shard's loop then goes on reading and deciding for a shard
    given up. So the cancellation is repeated until the task ends; a task still running after
    ``timeout_s`` is left behind (and said so) rather than hanging a stop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            log.warning("%s did not stop within %.1fs; left behind", what, timeout_s)
            return
        task.cancel()
        await asyncio.wait({task}, timeout=min(RECANCEL_S, left))
    with contextlib.suppress(asyncio.CancelledError, *REDIS_ERRORS):
        task.result()
