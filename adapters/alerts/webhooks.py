"""Alert webhooks: an HTTP POST per alert event, from a queue of its own, never in the engine's way.

``notify`` renders the body and queues it, and returns: the engine never waits on a receiver.
The queue is bounded; when it is full the oldest body is dropped (and counted), since the newest
says best how things stand. One task per webhook posts the bodies in order, retrying a
failed post (connection refused, timeout, 5xx, 408, 429) with doubling pauses a bounded number
of times, then giving that one up (counted). Any other 4xx is given up at once: the receiver
refuses the body and would refuse it again. A webhook URL often holds its secret in the path,
so logs show only the scheme and host (``masked_url``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import aiohttp

from adapters.alerts.formats import FORMATS, render
from adapters.alerts.masking import masked_url
from application.alerts import AlertEvent

log = logging.getLogger("tradeplane.alerts.webhooks")

RETRIED_STATUSES = frozenset({408, 429})


class WebhookSender:
    """One webhook (see the module docstring); the ``AlertNotifier`` of the alert service.

    Counters: ``delivered``, ``failures`` (failed attempts), ``dropped`` (oldest bodies pushed
    out of a full queue) and ``abandoned`` (bodies given up after their last attempt).
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        format: str = "json",
        timeout_s: float = 5.0,
        queue_size: int = 100,
        attempts: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        stop_grace_s: float = 2.0,
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"webhook format must be one of {', '.join(FORMATS)} (was {format!r})")
        if not timeout_s > 0 or queue_size < 1 or attempts < 1 or backoff_s < 0 or stop_grace_s < 0:
            raise ValueError("webhook timeout_s must be positive, queue_size and attempts at least 1")
        self.url = url
        self.shown = masked_url(url)
        self._name = name
        self.format = format
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._stop_grace_s = stop_grace_s
        self._queue: deque[dict[str, Any]] = deque(maxlen=queue_size)
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        self._failures = 0
        self.dropped = 0
        self.abandoned = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def failures(self) -> int:
        return self._failures

    @property
    def queued(self) -> int:
        return len(self._queue)

    def notify(self, event: AlertEvent) -> None:
        """Queue the event's body and return at once (dropping the oldest when full)."""
        queue = self._queue
        if len(queue) == queue.maxlen:
            self.dropped += 1
            log.warning("webhook %s (%s) is behind: dropped its oldest queued alert", self._name, self.shown)
        queue.append(render(event, self.format))
        self._idle.clear()
        self._wake.set()

    async def start(self) -> None:
        """Open the HTTP session and the task that posts; starting twice does nothing."""
        if self._task is not None:
            return
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        self._task = asyncio.create_task(self._run(), name=f"webhook-{self._name}")

    async def stop(self) -> None:
        """Give what is queued ``stop_grace_s`` to be delivered, then stop and close."""
        task, self._task = self._task, None
        if task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self._stop_grace_s)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._queue:
            log.warning(
                "webhook %s (%s): %d alert(s) not sent at stop", self._name, self.shown, len(self._queue)
            )

    async def _run(self) -> None:
        queue = self._queue
        while True:
            await self._wake.wait()
            self._wake.clear()
            while queue:
                await self._deliver(queue.popleft())
            self._idle.set()

    async def _deliver(self, body: dict[str, Any]) -> None:
        for attempt in range(1, self._attempts + 1):
            problem, retry = await self._post(body)
            if problem is None:
                self.delivered += 1
                return
            self._failures += 1
            last = attempt == self._attempts or not retry
            log.warning(
                "webhook %s (%s) attempt %d of %d failed: %s%s",
                self._name,
                self.shown,
                attempt,
                self._attempts,
                problem,
                "; giving this alert up" if last else "",
            )
            if last:
                self.abandoned += 1
                return
            await asyncio.sleep(min(self._max_backoff_s, self._backoff_s * 2 ** (attempt - 1)))

    async def _post(self, body: dict[str, Any]) -> tuple[str | None, bool]:
        """(None, _) when delivered; else (what went wrong, whether trying again may help)."""
        session = self._session
        assert session is not None, "start() opens the session"
        try:
            async with session.post(self.url, json=body) as response:
                if 200 <= response.status < 300:
                    return None, False
                retry = response.status >= 500 or response.status in RETRIED_STATUSES
                return f"HTTP {response.status} {response.reason or ''}".rstrip(), retry
        except TimeoutError:
            return "no answer in time", True
        except aiohttp.ClientError as error:  # its text may quote the URL: the kind and OS reason only
            reason = ""
            if isinstance(error, aiohttp.ClientConnectorError) and error.os_error.strerror:
                reason = f" ({error.os_error.strerror})"
            return f"{type(error).__name__}{reason}", True
