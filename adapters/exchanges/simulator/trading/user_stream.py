"""The user data stream: subscriptions on WebSocket API sessions and the events pushed to them.

Events go out in the order they happened, wrapped as ``{"subscriptionId": N, "event": {...}}``,
to the subscriptions alive when they happened (a session that reconnects has missed what
happened meanwhile, as on the venue). Subscription ids count from 0 within each session. The
fault switches act here: a report sent twice, or every event held for a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from adapters.exchanges.simulator.trading.faults import TradingFaults

_log = logging.getLogger(__name__)


class EventSink(Protocol):
    """A WebSocket API session as the user data stream sees it."""

    @property
    def closed(self) -> bool: ...

    async def send_text(self, text: str) -> None: ...


_Targets = tuple[tuple[EventSink, int], ...]


@dataclass(frozen=True, slots=True)
class _Pending:
    due: float
    """Monotonic time before which it must not go out."""
    raw: bytes
    is_report: bool
    targets: _Targets
    direct: bool = False
    """Sent even though the subscription has ended (its termination notice)."""


class UserStreams:
    """Subscriptions per session, and the ordered queue of events waiting to go out."""

    def __init__(self, faults: TradingFaults, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._faults = faults
        self._monotonic = monotonic
        self._subscriptions: dict[EventSink, set[int]] = {}
        self._next_id: dict[EventSink, int] = {}
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reports_sent = 0
        """executionReport events delivered (one per subscription)."""
        self.events_sent = 0

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, sink: EventSink) -> int:
        subscription_id = self._next_id.get(sink, 0)
        self._next_id[sink] = subscription_id + 1
        self._subscriptions.setdefault(sink, set()).add(subscription_id)
        return subscription_id

    def unsubscribe(self, sink: EventSink, subscription_id: int | None) -> list[int]:
        """End one subscription of ``sink`` (all when None); the ids that ended."""
        active = self._subscriptions.get(sink, set())
        ended = sorted(active) if subscription_id is None else sorted(active & {subscription_id})
        active.difference_update(ended)
        return ended

    def subscriptions(self, sink: EventSink) -> list[int]:
        return sorted(self._subscriptions.get(sink, ()))

    def forget(self, sink: EventSink) -> None:
        """The session ended."""
        self._subscriptions.pop(sink, None)
        self._next_id.pop(sink, None)

    @property
    def subscribers(self) -> int:
        return sum(len(ids) for ids in self._subscriptions.values())

    # -- events ------------------------------------------------------------------------

    def publish(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for every subscription alive now (none: it is lost, as on the venue)."""
        targets = tuple((sink, sid) for sink, ids in self._subscriptions.items() for sid in sorted(ids))
        if not targets:
            return
        raw = orjson.dumps(event)
        is_report = event.get("e") == "executionReport"
        copies = 2 if is_report and self._faults.take_duplicate() else 1
        due = self._faults.reports_held_until()
        for _ in range(copies):
            self._queue.append(_Pending(due, raw, is_report, targets))
        self._wake.set()

    def send_direct(self, sink: EventSink, subscription_id: int, event: dict[str, Any]) -> None:
        """Queue ``event`` for one subscription only (its termination notice)."""
        raw = orjson.dumps(event)
        self._queue.append(
            _Pending(self._faults.reports_held_until(), raw, False, ((sink, subscription_id),), True)
        )
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._deliver(), name="venue-user-stream")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._queue.clear()

    async def _deliver(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            pending = queue[0]
            wait = pending.due - self._monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            queue.popleft()
            event = pending.raw.decode()
            for sink, subscription_id in pending.targets:
                alive = subscription_id in self._subscriptions.get(sink, ())
                if sink.closed or not (alive or pending.direct):
                    continue
                text = f'{{"subscriptionId":{subscription_id},"event":{event}}}'
                try:
                    await sink.send_text(text)
                except (ConnectionError, RuntimeError) as exc:
                    _log.debug("user data event not delivered: %s", exc)
                    continue
                self.events_sent += 1
                if pending.is_report:
                    self.reports_sent += 1
