"""Stopping a service's tasks within a bound, whatever they are blocked on."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.redis.connection import REDIS_ERRORS

log = logging.getLogger("tradeplane.services")

STOP_TIMEOUT_S = 2.0
"""How long a shard's task, the lease release and the client get to finish on the way out."""


async def cancel_within(task: asyncio.Task[None], timeout_s: float, *, what: str) -> None:
    """Cancel ``task`` and wait for it, at most ``timeout_s``: a blocking Redis read that does not
    give way to its cancellation (seen with redis-py's asyncio client) must not hang a stop."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        log.warning("%s did not stop within %.1fs; left behind", what, timeout_s)
        return
    with contextlib.suppress(asyncio.CancelledError, *REDIS_ERRORS):
        task.result()
