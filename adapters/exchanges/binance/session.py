"""The life of one combined-stream connection slot: connect, read, watch, rotate, reconnect.

A session owns up to 1024 streams. It keeps one *live* connection whose frames go straight
to the handler. Before the venue's 24 h cut, and when the server announces
``serverShutdown``, it opens a *warming* connection first: that one's frames are parsed and
held until they overlap what the live connection already delivered (or the old connection
ends, or ``handover_timeout`` passes); then, in one step with no await in between, the old
connection is retired and the held frames are replayed through the handler's
de-duplication. No frame is lost in a planned handover and none is passed on twice.

An unplanned loss (drop, error, silence beyond ``stale_after``) is different: the handler
resets the books of the session's instruments and the session reconnects with
exponential backoff and jitter, under the venue's connection-attempt limit.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Protocol

from websockets.exceptions import ConnectionClosed

from adapters.exchanges.binance.client import BinanceStreamConnection, combined_stream_url, split_for_url
from adapters.exchanges.binance.config import BinanceFeedConfig
from adapters.exchanges.binance.errors import connection_failure
from adapters.exchanges.binance.schemas import ParsedFrame
from adapters.exchanges.streaming.failures import described
from adapters.pacing import Backoff, TokenBucket
from application.ports import Clock
from domain.identifiers import InstrumentId

_log = logging.getLogger(__name__)

_MAX_WARMING_FRAMES = 200_000
"""A warming connection holding more than this is promoted at once."""
_OVERLAP_PROBE = 64
_HANDOVER_POLL = 0.005


class Link:
    """One WebSocket connection of a session and where it stands in a handover."""

    __slots__ = (
        "_wakeup",
        "buffer",
        "connection",
        "done",
        "frames",
        "live",
        "reader",
        "retired",
        "shutdown_notice",
    )

    def __init__(self, connection: BinanceStreamConnection, wakeup: asyncio.Event) -> None:
        self.connection = connection
        self.live = False
        """Frames go straight to the handler (else, unless retired, they are held in ``buffer``)."""
        self.retired = False
        """Replaced by a newer connection: frames still arriving are dropped."""
        self.buffer: deque[ParsedFrame] = deque()
        self.frames = 0
        self.done = False
        """The reader has ended: the connection is closed and every frame it had was handled."""
        self.shutdown_notice = False
        self.reader: asyncio.Task[None] | None = None
        self._wakeup = wakeup

    @property
    def opened_at(self) -> float:
        return self.connection.opened_at

    @property
    def overflowing(self) -> bool:
        return len(self.buffer) >= _MAX_WARMING_FRAMES

    def notify_shutdown(self) -> None:
        """The server announced its shutdown on this connection: replace it now."""
        self.shutdown_notice = True
        self._wakeup.set()

    def wake(self) -> None:
        self._wakeup.set()


class FrameHandler(Protocol):
    """What a session needs from the feed (implemented by BinanceMarketDataFeed)."""

    def on_frame(self, raw: bytes, ts_init: int, link: Link) -> None: ...

    def on_warming_frame(self, raw: bytes, ts_init: int, link: Link) -> None: ...

    def dispatch(self, event: ParsedFrame, link: Link) -> None: ...

    def overlaps(self, events: Iterable[ParsedFrame]) -> bool: ...

    def on_connection_lost(self, instrument_ids: Sequence[InstrumentId], reason: str) -> None: ...

    def on_error(self, message: str) -> None: ...


class StreamSession:
    """Keeps ``streams`` flowing over one connection at a time (two during a handover)."""

    def __init__(
        self,
        *,
        name: str,
        streams: Sequence[str],
        instrument_ids: Sequence[InstrumentId],
        config: BinanceFeedConfig,
        handler: FrameHandler,
        clock: Clock,
        rng: random.Random,
        connection_attempts: TokenBucket,
    ) -> None:
        self.name = name
        self.instrument_ids = tuple(instrument_ids)
        self._config = config
        self._handler = handler
        self._clock = clock
        self._rng = rng
        self._attempts = connection_attempts
        self._url_streams, self._extra_streams = split_for_url(config.ws_url, streams, config.max_url_length)
        self.url = combined_stream_url(config.ws_url, self._url_streams)
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._live: Link | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._links: set[Link] = set()
        self._seen_link: Link | None = None
        self._frames_seen = 0
        self._progress_at = time.monotonic()
        self.reconnects = 0
        """Connections opened to replace one that was lost (not planned rotations)."""
        self.rotations = 0
        """Planned handovers (serverShutdown, connection age) completed."""

    # -- state --------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called (a method, so type checkers do not narrow it across awaits)."""
        return self._stopping

    @property
    def connected(self) -> bool:
        live = self._live
        return live is not None and not live.done and not live.connection.closed

    def silence(self, now: float | None = None) -> float:
        """Seconds since a frame last arrived on a live connection of this session."""
        now = time.monotonic() if now is None else now
        live = self._live
        if live is not None and (live.frames != self._frames_seen or live is not self._seen_link):
            if live.frames:
                self._progress_at = now
            self._seen_link = live
            self._frames_seen = live.frames
        return now - self._progress_at

    # -- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and keep connected until :meth:`stop`."""
        backoff = Backoff(self._config.reconnect_initial_delay, self._config.reconnect_max_delay, self._rng)
        self._progress_at = time.monotonic()
        lost = False
        try:
            while not self._stopping:
                if lost:
                    delay = backoff.next_delay()
                    _log.info("%s: reconnecting in %.2fs (attempt %d)", self.name, delay, backoff.attempts)
                    await self._pause(delay)
                    if self.stopping:
                        break
                link = await self._open_link(backoff)
                if link is None:
                    break
                if lost:
                    self.reconnects += 1
                self._make_live(link)
                reason = await self._supervise(link, backoff)
                if reason is None:
                    break
                lost = True
                self._live = None
                self._handler.on_connection_lost(self.instrument_ids, reason)
        finally:
            await self._close_everything()

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    # -- connecting ---------------------------------------------------------------------

    async def _open_link(self, backoff: Backoff) -> Link | None:
        while not self._stopping:
            if not await self._attempt_allowed():
                return None
            try:
                return await self._connect()
            except Exception as exc:  # network down, DNS, TLS, HTTP status: all retried
                delay = backoff.next_delay()
                message = connection_failure(exc, self.url)
                self._handler.on_error(message)
                _log.warning(
                    "%s: %s (%s: %s); retrying in %.2fs (attempt %d)",
                    self.name,
                    message,
                    _short(self.url),
                    described(exc),
                    delay,
                    backoff.attempts,
                )
                await self._pause(delay)
        return None

    async def _connect(self) -> Link:
        config = self._config
        connection = await BinanceStreamConnection.open(
            self.url,
            open_timeout=config.open_timeout,
            ping_interval=config.ping_interval,
            ping_timeout=config.ping_timeout,
            max_size=config.max_frame_bytes,
            control_rate=config.control_messages_per_second,
            use_system_proxy=config.use_system_proxy,
        )
        link = Link(connection, self._wakeup)
        self._links.add(link)
        link.reader = asyncio.get_running_loop().create_task(self._read(link), name=f"{self.name}-reader")
        try:
            batch_size = config.streams_per_subscribe
            for start in range(0, len(self._extra_streams), batch_size):
                batch = self._extra_streams[start : start + batch_size]
                answer = await connection.subscribe(batch, timeout=config.open_timeout)
                if answer.error_code is not None:
                    raise ConnectionError(
                        f"SUBSCRIBE refused: code {answer.error_code} {answer.error_message}"
                    )
        except BaseException:
            await self._retire(link)
            raise
        _log.info("%s: connected to %s", self.name, _short(self.url))
        return link

    async def _read(self, link: Link) -> None:
        connection = link.connection
        recv = connection.recv
        now_ns = self._clock.now_ns
        handler = self._handler
        on_frame = handler.on_frame
        try:
            while True:
                raw = await recv()
                link.frames += 1
                try:
                    if link.live:
                        on_frame(raw, now_ns(), link)
                    elif not link.retired:
                        handler.on_warming_frame(raw, now_ns(), link)
                except Exception:  # a bug downstream must not kill the connection
                    _log.exception("%s: handling a frame failed: %.200r", self.name, raw)
        except ConnectionClosed:
            pass
        except Exception as exc:
            _log.warning("%s: reading %s failed: %s", self.name, _short(connection.url), described(exc))
        finally:
            link.done = True
            link.wake()

    # -- watching -----------------------------------------------------------------------

    async def _supervise(self, link: Link, backoff: Backoff) -> str | None:
        """Watch the live link; rotate it when due. Returns why it was lost (None: stopping)."""
        config = self._config
        tick = min(0.25, config.stale_after / 4)
        rotation_backoff = Backoff(config.reconnect_initial_delay, config.reconnect_max_delay, self._rng)
        next_rotation_try = 0.0
        while not self._stopping:
            if link.done:
                description = link.connection.close_description or "closed"
                message = f"connection lost ({description})"
                self._handler.on_error(message)
                _log.warning("%s: %s; %d frames were received on it", self.name, message, link.frames)
                return message
            if link.frames and backoff.attempts:
                backoff.reset()  # data flows again: the next loss starts from the shortest delay
            now = time.monotonic()
            silent = min(self.silence(now), now - link.opened_at)
            if silent > config.stale_after:
                message = f"stale: no frame for {silent:.1f}s (stale_after {config.stale_after}s)"
                self._handler.on_error(message)
                _log.warning("%s: %s; replacing the connection", self.name, message)
                await self._retire(link)
                return message
            due = link.shutdown_notice or now - link.opened_at >= config.max_connection_age
            if due and now >= next_rotation_try:
                replacement = await self._rotate(link)
                if replacement is None:
                    next_rotation_try = time.monotonic() + rotation_backoff.next_delay()
                else:
                    rotation_backoff.reset()
                    link = replacement
                continue
            await self._wait(tick)
        return None

    async def _rotate(self, old: Link) -> Link | None:
        """Open a new connection, overlap it with ``old``, then hand over; None if it failed."""
        why = "serverShutdown" if old.shutdown_notice else "max_connection_age"
        _log.info("%s: %s: opening a new connection before closing the old one", self.name, why)
        if not await self._attempt_allowed():
            return None
        try:
            new = await self._connect()
        except Exception as exc:
            message = f"rotation ({why}) failed: {connection_failure(exc, self.url)}"
            self._handler.on_error(message)
            _log.warning(
                "%s: %s (%s); keeping the old connection for now", self.name, message, described(exc)
            )
            return None
        deadline = time.monotonic() + self._config.handover_timeout
        handler = self._handler
        outcome = "handover timeout"
        while not self._stopping:
            if old.done:
                outcome = "old connection closed"
                break
            if new.done:
                _log.warning("%s: the new connection closed during the handover", self.name)
                return None
            if new.overflowing:
                outcome = "overlap buffer full"
                break
            if handler.overlaps(islice(new.buffer, _OVERLAP_PROBE)):
                outcome = "overlap confirmed"
                break
            if time.monotonic() >= deadline:
                break
            await self._wait(_HANDOVER_POLL)
        if self._stopping:
            await self._retire(new)
            return None
        held = len(new.buffer)
        # From here to make_live there is no await: no frame of either connection slips between.
        old.live = False
        old.retired = True
        self._make_live(new)
        self.rotations += 1
        self._retire_later(old)
        log = _log.warning if outcome == "handover timeout" else _log.info
        log("%s: handed over to the new connection (%s, %d frames replayed)", self.name, outcome, held)
        return new

    def _make_live(self, link: Link) -> None:
        """Replay what ``link`` held while it was not live (de-duplicated by the handler), then go live."""
        dispatch = self._handler.dispatch
        buffer = link.buffer
        while buffer:
            dispatch(buffer.popleft(), link)
        link.live = True
        self._live = link

    # -- helpers ------------------------------------------------------------------------

    async def _attempt_allowed(self) -> bool:
        """Wait (interruptibly) for the connection-attempt budget; False if stopped meanwhile."""
        while not self.stopping:
            wait = self._attempts.try_acquire()
            if wait <= 0:
                return True
            _log.info("%s: connection attempt budget spent; next attempt in %.1fs", self.name, wait)
            await self._pause(wait)
        return False

    async def _wait(self, timeout: float) -> None:
        if not self._wakeup.is_set():
            try:
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
            except TimeoutError:
                pass
        self._wakeup.clear()

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds`` unless stopped first."""
        deadline = time.monotonic() + seconds
        while not self._stopping and (left := deadline - time.monotonic()) > 0:
            await self._wait(left)

    async def _retire(self, link: Link) -> None:
        link.live = False
        link.retired = True
        self._links.discard(link)
        try:
            await link.connection.close()
        except Exception as exc:
            _log.debug("%s: closing a connection failed: %s", self.name, described(exc))
        if link.reader is not None:
            try:
                await asyncio.wait_for(asyncio.shield(link.reader), 5)
            except TimeoutError:
                link.reader.cancel()
            except asyncio.CancelledError:
                link.reader.cancel()
                raise

    def _retire_later(self, link: Link) -> None:
        task = asyncio.get_running_loop().create_task(self._retire(link), name=f"{self.name}-retire")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_everything(self) -> None:
        self._live = None
        for link in list(self._links):
            self._retire_later(link)
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=5)


def _short(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else f"{url[:limit]}..."
