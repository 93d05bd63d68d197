"""``SupervisedConnection``: one venue WebSocket kept alive, whatever the network does.

A venue adapter supplies a :class:`StreamProtocol` (what to send on connect, what to do with
each frame, when its own data has gone stale); the supervisor connects, starts reading, lets
the protocol subscribe, and replaces the connection with exponential backoff and jitter when
it closes, when nothing arrives for ``stale_after`` seconds, when the protocol reports
staleness (heartbeats stopped) or when the protocol asks for a fresh connection. Outgoing
messages are paced by a token bucket so a venue's message limit is never crossed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from adapters.exchanges.streaming.failures import connection_failure, described, truncated_text
from adapters.pacing import Backoff, TokenBucket
from application.ports import Clock

_log = logging.getLogger(__name__)

_USER_AGENT = "tradeplane"
_RECEIVE_QUEUE = 4096
"""Frames websockets may hold unread before it stops reading the socket (backpressure)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionOptions:
    """How to open and keep one connection.

    ``stale_after``: seconds without any frame before the connection is replaced (venues that
    send heartbeats never go quiet for long). ``messages_per_second``: the pace of outgoing
    messages (subscribe, ping), under the venue's limit. ``max_size``: the largest frame
    accepted; book snapshots of liquid pairs exceed websockets' 1 MiB default.
    """

    url: str
    open_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    close_timeout: float = 2.0
    max_size: int = 10 * 2**20
    stale_after: float = 30.0
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    messages_per_second: float = 5.0
    use_system_proxy: bool = True

    def __post_init__(self) -> None:
        if not self.url.startswith(("ws://", "wss://")):
            raise ValueError(f"url must start with ws:// or wss:// (was {self.url!r})")
        for field in ("open_timeout", "close_timeout", "stale_after", "messages_per_second"):
            value = getattr(self, field)
            if not value > 0:
                raise ValueError(f"{field} must be positive (was {value!r})")
        if not 0 < self.reconnect_initial_delay <= self.reconnect_max_delay:
            raise ValueError(
                "reconnect delays need 0 < reconnect_initial_delay <= reconnect_max_delay "
                f"(were {self.reconnect_initial_delay} and {self.reconnect_max_delay})"
            )
        if self.max_size < 1024:
            raise ValueError(f"max_size must be at least 1024 bytes (was {self.max_size})")


class Link:
    """One open WebSocket as a venue protocol sees it: send paced JSON, count frames."""

    __slots__ = ("_limiter", "_websocket", "done", "frames", "number", "opened_at", "recv", "url")

    def __init__(self, websocket: ClientConnection, url: str, limiter: TokenBucket, number: int) -> None:
        self._websocket = websocket
        self._limiter = limiter
        self.recv = cast(Callable[[], Awaitable[bytes]], functools.partial(websocket.recv, False))
        """The next frame's raw bytes; a partial of the library's ``recv`` (this is per frame)."""
        self.url = url
        self.number = number
        """1 for the first connection, +1 for each replacement: lets a protocol tell them apart."""
        self.opened_at = time.monotonic()
        self.frames = 0
        self.done = False

    async def send(self, message: object) -> None:
        """Send ``message`` as JSON text once the outgoing pace allows; raises if closed."""
        await self._limiter.acquire()
        await self._websocket.send(orjson.dumps(message).decode(), text=True)

    @property
    def closed(self) -> bool:
        return self._websocket.close_code is not None

    @property
    def close_description(self) -> str:
        """How the connection ended, e.g. ``code 1008 (policy violation)``, or "" while open."""
        code = self._websocket.close_code
        if code is None:
            return ""
        reason = self._websocket.close_reason
        return f"code {code}" + (f" ({reason})" if reason else "")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._websocket.close()

    def abort(self) -> None:
        """Drop the TCP connection at once, without the closing handshake."""
        with contextlib.suppress(Exception):
            self._websocket.transport.abort()


class StreamProtocol(Protocol):
    """What a venue adapter tells the supervisor; every method but ``on_open`` is synchronous."""

    async def on_open(self, link: Link) -> None:
        """Subscribe (frames already flow to ``on_frame``); raising fails this connection attempt."""
        ...

    def on_frame(self, raw: bytes, ts_init: int, link: Link) -> None:
        """One frame (the hot path); an exception is logged and the connection kept."""
        ...

    def on_lost(self, reason: str) -> None:
        """The connection is gone: what it carried is no longer current."""
        ...

    def on_error(self, message: str) -> None:
        """A failure worth reporting in health (connect refused, stale, closed by the venue)."""
        ...

    def staleness(self, now: float) -> str | None:
        """Why the venue's data is stale at monotonic ``now`` (heartbeats stopped), or None."""
        ...


class SupervisedConnection:
    """Keeps one connection to ``options.url`` open for ``protocol`` until :meth:`stop`."""

    def __init__(
        self,
        *,
        name: str,
        options: ConnectionOptions,
        protocol: StreamProtocol,
        clock: Clock,
        rng: random.Random | None = None,
        connection_attempts: TokenBucket | None = None,
    ) -> None:
        self.name = name
        self._options = options
        self._protocol = protocol
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._attempts = connection_attempts
        self._limiter = TokenBucket(options.messages_per_second, 1.0)
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._live: Link | None = None
        self._reader: asyncio.Task[None] | None = None
        self._reconnect_reason: str | None = None
        self._links_opened = 0
        self._progress_at = time.monotonic()
        self._frames_seen = 0
        self.reconnects = 0
        """Connections opened to replace a lost one."""

    # -- state --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        live = self._live
        return live is not None and not live.done and not live.closed

    @property
    def link(self) -> Link | None:
        """The live connection, if any."""
        return self._live if self.connected else None

    def silence(self, now: float | None = None) -> float:
        """Seconds since a frame last arrived (or since the connection opened)."""
        now = time.monotonic() if now is None else now
        live = self._live
        if live is not None and live.frames != self._frames_seen:
            self._frames_seen = live.frames
            self._progress_at = now
        return now - self._progress_at

    def stopping(self) -> bool:
        """True once :meth:`stop` was called (a method, so checkers do not narrow it across awaits)."""
        return self._stopping

    # -- control ------------------------------------------------------------------------

    def reconnect(self, reason: str) -> None:
        """Replace the connection (the resync of last resort): the next supervision tick closes it."""
        if self._reconnect_reason is None:
            self._reconnect_reason = reason
        self._wakeup.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    # -- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and stay connected until :meth:`stop`; never raises for network trouble."""
        options = self._options
        backoff = Backoff(options.reconnect_initial_delay, options.reconnect_max_delay, self._rng)
        lost = False
        try:
            while not self.stopping():
                if lost:
                    delay = backoff.next_delay()
                    _log.info("%s: reconnecting in %.2fs (attempt %d)", self.name, delay, backoff.attempts)
                    await self._pause(delay)
                    if self.stopping():
                        break
                link = await self._open(backoff)
                if link is None:
                    break
                if lost:
                    self.reconnects += 1
                reason = await self._supervise(link, backoff)
                await self._close(link)
                if reason is None:
                    break
                lost = True
                self._protocol.on_lost(reason)
        finally:
            live = self._live
            if live is not None:
                await self._close(live)

    # -- connecting ---------------------------------------------------------------------

    async def _open(self, backoff: Backoff) -> Link | None:
        url = self._options.url
        while not self.stopping():
            if self._attempts is not None:
                wait = self._attempts.try_acquire()
                if wait:
                    await self._pause(wait)
                    continue
            try:
                return await self._connect()
            except Exception as exc:  # network down, DNS, TLS, HTTP status, refused subscribe
                delay = backoff.next_delay()
                message = connection_failure(exc, url) if not isinstance(exc, SubscribeRefused) else str(exc)
                self._protocol.on_error(message)
                _log.warning(
                    "%s: %s; retrying in %.2fs (attempt %d)", self.name, message, delay, backoff.attempts
                )
                await self._pause(delay)
        return None

    async def _connect(self) -> Link:
        options = self._options
        websocket = await connect(
            options.url,
            open_timeout=options.open_timeout,
            ping_interval=options.ping_interval,
            ping_timeout=options.ping_timeout,
            close_timeout=options.close_timeout,
            max_size=options.max_size,
            max_queue=_RECEIVE_QUEUE,
            compression=None,  # saves CPU per frame; market data is small JSON
            proxy=True if options.use_system_proxy else None,
            user_agent_header=_USER_AGENT,
        )
        self._links_opened += 1
        link = Link(websocket, options.url, self._limiter, self._links_opened)
        self._reconnect_reason = None
        self._live = link
        self._frames_seen = 0
        self._progress_at = time.monotonic()
        self._reader = asyncio.get_running_loop().create_task(self._read(link), name=f"{self.name}-reader")
        try:
            await asyncio.wait_for(self._protocol.on_open(link), options.open_timeout)
        except BaseException as exc:
            await self._close(link)
            self._live = None
            if isinstance(exc, Exception) and not isinstance(exc, SubscribeRefused):
                raise SubscribeRefused(
                    f"subscribing on {_host(options.url)} failed: {described(exc)}"
                ) from exc
            raise
        _log.info("%s: connected to %s", self.name, _host(options.url))
        return link

    async def _read(self, link: Link) -> None:
        recv = link.recv
        now_ns = self._clock.now_ns
        on_frame = self._protocol.on_frame
        try:
            while True:
                raw = await recv()
                link.frames += 1
                try:
                    on_frame(raw, now_ns(), link)
                except Exception:  # a bug downstream must not kill the connection
                    _log.exception("%s: handling a frame failed: %.200r", self.name, raw)
        except ConnectionClosed:
            pass
        except Exception as exc:
            _log.warning("%s: reading failed: %s", self.name, described(exc))
        finally:
            link.done = True
            self._wakeup.set()

    # -- watching -----------------------------------------------------------------------

    async def _supervise(self, link: Link, backoff: Backoff) -> str | None:
        """Watch the live link. Returns why it must be replaced (None: stopping)."""
        options = self._options
        tick = min(0.25, options.stale_after / 4)
        while not self.stopping():
            if link.done:
                message = f"connection lost ({link.close_description or 'closed'})"
                self._protocol.on_error(message)
                _log.warning("%s: %s; %d frames were received on it", self.name, message, link.frames)
                return message
            if link.frames and backoff.attempts:
                backoff.reset()  # data flows again: the next loss starts from the shortest delay
            if self._reconnect_reason is not None:
                message = self._reconnect_reason
                _log.info("%s: replacing the connection: %s", self.name, message)
                return message
            now = time.monotonic()
            silent = self.silence(now)
            reason = (
                f"stale: no frame for {silent:.1f}s (stale_after {options.stale_after}s)"
                if silent > options.stale_after
                else self._protocol.staleness(now)
            )
            if reason is not None:
                self._protocol.on_error(reason)
                _log.warning("%s: %s; reconnecting", self.name, reason)
                return reason
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), tick)
        return None

    async def _pause(self, seconds: float) -> None:
        """Sleep up to ``seconds``; :meth:`stop` cuts it short."""
        if seconds <= 0:
            return
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    async def _close(self, link: Link) -> None:
        reader = self._reader
        await link.close()
        if reader is not None and not reader.done():
            link.abort()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        if self._live is link:
            self._live = None
        self._reader = None


class SubscribeRefused(ConnectionError):
    """The venue accepted the connection but not the subscriptions (or they timed out)."""


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return truncated_text(rest.split("?", 1)[0], 80)
