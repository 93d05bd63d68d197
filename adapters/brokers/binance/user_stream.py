"""The order-update stream: a WebSocket API session subscribed to the account's user data.

The venue retired listen keys; the WebSocket API takes ``userDataStream.subscribe.signature``
(``apiKey``, ``recvWindow``, ``timestamp``, signed over the sorted params, see
``signing.ws_payload``) and then pushes every event wrapped as
``{"subscriptionId": N, "event": {...}}``. ``-1021`` on the subscription resyncs the clock and
tries once more.

Keeping it alive: the venue pings every 20 s (the library answers) and we ping too; a lost
connection (a drop, ``eventStreamTerminated``) is reopened with backoff and jitter; before the
venue's 24 h cut a new connection is opened and subscribed first, then the old one closed, so
no moment is without a subscription (events seen on both are de-duplicated downstream). After
every subscription ``on_subscribed`` is called: whatever happened while nothing listened must be
asked for (the broker queries its open orders and its trades).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.errors import (
    CLOCK_SKEW_CODE,
    BinanceBrokerError,
    TransportError,
    VenueError,
)
from adapters.brokers.binance.signing import ws_payload
from adapters.brokers.binance.venue_clock import VenueClock
from adapters.pacing import Backoff

log = logging.getLogger("tradeplane.broker.binance")


class _NoFrames(logging.Filter):
    """The WebSocket library logs every frame at DEBUG: a subscription carries a signature."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in ("> %s", "< %s")


_wire_log = logging.getLogger("tradeplane.broker.binance.websocket")
_wire_log.addFilter(_NoFrames())

SUBSCRIBE = "userDataStream.subscribe.signature"
_MAX_FRAME = 4 * 2**20
_USER_AGENT = "tradeplane"
_TICK_S = 1.0


class _Link:
    """One connection: its socket, its reader, the requests waiting for an answer."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.opened_at = time.monotonic()
        self.reader: asyncio.Task[None] | None = None
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.subscription_id: int | None = None
        self.done = False
        self.terminated = ""
        """Why the venue ended the subscription or the connection (``eventStreamTerminated``,
        ``serverShutdown``), or ""."""

    @property
    def close_description(self) -> str:
        code = self.websocket.close_code
        if code is None:
            return "closed"
        reason = self.websocket.close_reason
        return f"closed with code {code}" + (f" ({reason})" if reason else "")

    async def request(self, method: str, params: Mapping[str, object], timeout: float) -> dict[str, Any]:
        request_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        try:
            await self.websocket.send(
                orjson.dumps({"id": request_id, "method": method, "params": params}).decode()
            )
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise TransportError(method, f"no answer within {timeout:g}s") from None
        except ConnectionClosed:
            raise TransportError(method, f"the connection {self.close_description}") from None
        finally:
            self.pending.pop(request_id, None)

    def fail_pending(self) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionClosed(None, None))
        self.pending.clear()


class UserStream:
    """Keeps one subscription to the account's events live (see the module docstring).

    ``on_event`` gets each event (the inner object) in the event loop; ``on_subscribed`` is
    told after each (re)subscription, with why (``connected``, ``reconnected``, ``rotated``);
    ``resync_clock`` measures the venue's clock again.
    """

    def __init__(
        self,
        *,
        config: BinanceBrokerConfig,
        credentials: ApiCredentials,
        clock: VenueClock,
        on_event: Callable[[Mapping[str, Any]], None],
        on_subscribed: Callable[[str], None],
        resync_clock: Callable[[], Awaitable[object]],
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._credentials = credentials
        self._clock = clock
        self._on_event = on_event
        self._on_subscribed = on_subscribed
        self._resync_clock = resync_clock
        self._rng = rng or random.Random()
        self._live: _Link | None = None
        self._links: set[_Link] = set()
        self._wakeup = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self.reconnects = 0
        """Connections opened to replace one that was lost."""
        self.rotations = 0
        """Planned replacements before the venue's 24 h cut (or its shutdown notice)."""
        self.events = 0
        self.last_error = ""

    @property
    def stopping(self) -> bool:
        """A method, so that type checkers do not narrow it across awaits."""
        return self._stopping

    @property
    def connected(self) -> bool:
        live = self._live
        return live is not None and not live.done and not live.terminated

    async def start(self) -> None:
        """Connect and subscribe; returns once events flow. Raises BinanceBrokerError when the
        venue cannot be reached or refuses the subscription (a bad key, a clock off)."""
        self._stopping = False
        self._live = await self._open()
        self._supervisor = asyncio.get_running_loop().create_task(
            self._supervise(), name="binance-user-stream"
        )
        self._on_subscribed("connected")

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        self._live = None
        for link in list(self._links):
            await self._close(link)

    def drop(self) -> None:
        """Cut the live connection at once, without a closing handshake (tests, operators)."""
        live = self._live
        if live is not None:
            live.websocket.transport.abort()

    # -- a connection ---------------------------------------------------------------------

    async def _open(self) -> _Link:
        config = self._config
        try:
            websocket = await connect(
                config.ws_api_url,
                open_timeout=config.request_timeout_s,
                ping_interval=config.ping_interval_s,
                ping_timeout=config.request_timeout_s,
                close_timeout=2,
                max_size=_MAX_FRAME,
                proxy=True if config.use_system_proxy else None,
                user_agent_header=_USER_AGENT,
                logger=_wire_log,
            )
        except Exception as exc:  # DNS, TCP, TLS, HTTP status, timeout: all mean "not reachable now"
            raise TransportError("WebSocket API connect", self._credentials.redact(_describe(exc))) from None
        link = _Link(websocket)
        self._links.add(link)
        link.reader = asyncio.get_running_loop().create_task(
            self._read(link), name="binance-user-stream-reader"
        )
        try:
            await self._subscribe(link)
        except BaseException:
            await self._close(link)
            raise
        log.info("binance: subscribed to the account's order updates (subscription %s)", link.subscription_id)
        return link

    async def _subscribe(self, link: _Link) -> None:
        timeout = self._config.request_timeout_s
        for attempt in range(2):
            params: dict[str, object] = {
                "apiKey": self._credentials.api_key,
                "recvWindow": self._config.recv_window_ms,
                "timestamp": self._clock.now_ms(),
            }
            params["signature"] = self._credentials.sign(ws_payload(params))
            answer = await link.request(SUBSCRIBE, params, timeout)
            status = answer.get("status")
            result = answer.get("result")
            if status == 200 and isinstance(result, dict) and type(result.get("subscriptionId")) is int:
                link.subscription_id = result["subscriptionId"]
                return
            raw_error = answer.get("error")
            error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
            code = error.get("code") if type(error.get("code")) is int else None
            message = self._credentials.redact(str(error.get("msg", "no message")))
            if code == CLOCK_SKEW_CODE and attempt == 0:
                with contextlib.suppress(BinanceBrokerError):
                    await self._resync_clock()
                continue
            raise VenueError(SUBSCRIBE, status if type(status) is int else 0, code, message)

    async def _read(self, link: _Link) -> None:
        try:
            async for raw in link.websocket:
                try:
                    message = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    log.warning("binance: a user stream frame is not JSON: %.200r", raw)
                    continue
                if isinstance(message, dict):
                    self._dispatch(link, message)
        except ConnectionClosed:
            pass
        except Exception as exc:
            log.warning("binance: reading the user stream failed: %s", _describe(exc))
        finally:
            link.done = True
            link.fail_pending()
            self._wakeup.set()

    def _dispatch(self, link: _Link, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        if isinstance(request_id, str) and request_id in link.pending:
            future = link.pending[request_id]
            if not future.done():
                future.set_result(message)
            return
        event = message.get("event")
        if not isinstance(event, dict):
            return
        kind = event.get("e")
        if kind in ("eventStreamTerminated", "serverShutdown"):
            link.terminated = str(kind)
            log.warning("binance: the venue sent %s on the user stream", kind)
            self._wakeup.set()
            return
        self.events += 1
        try:
            self._on_event(event)
        except Exception:  # a bug downstream must not end the stream
            log.exception("binance: handling a user stream event failed: %.300r", event)

    async def _close(self, link: _Link) -> None:
        self._links.discard(link)
        with contextlib.suppress(Exception):
            await link.websocket.close()
        reader = link.reader
        if reader is not None and not reader.done():
            try:
                async with asyncio.timeout(5):
                    await asyncio.shield(reader)
            except TimeoutError:
                reader.cancel()

    # -- keeping it alive ---------------------------------------------------------------------

    async def _supervise(self) -> None:
        config = self._config
        backoff = Backoff(config.reconnect_initial_delay, config.reconnect_max_delay, self._rng)
        rotation_backoff = Backoff(config.reconnect_initial_delay, config.reconnect_max_delay, self._rng)
        next_rotation = 0.0
        while not self._stopping:
            link = self._live
            if link is None or link.done:
                await self._reconnect(link, backoff)
                continue
            now = time.monotonic()
            planned = (
                link.terminated == "serverShutdown" or now - link.opened_at >= config.max_connection_age_s
            )
            if link.terminated == "eventStreamTerminated":
                await self._reconnect(link, backoff)
                continue
            if planned and now >= next_rotation:
                if await self._rotate(link):
                    rotation_backoff.reset()
                else:
                    next_rotation = time.monotonic() + rotation_backoff.next_delay()
                continue
            await self._wait(_TICK_S)

    async def _reconnect(self, lost: _Link | None, backoff: Backoff) -> None:
        if lost is not None:
            why = lost.terminated or lost.close_description
            self.last_error = f"user stream lost: {why}"
            log.warning("binance: the user stream was lost (%s); reconnecting", why)
            self._live = None
            await self._close(lost)
        while not self._stopping:
            await self._wait(backoff.next_delay())
            if self.stopping:
                return
            try:
                link = await self._open()
            except BinanceBrokerError as error:
                self.last_error = str(error)
                log.warning("binance: user stream reconnect failed: %s", error)
                continue
            self._live = link
            self.reconnects += 1
            backoff.reset()
            self._on_subscribed("reconnected")
            return

    async def _rotate(self, old: _Link) -> bool:
        """Subscribe on a new connection, then close ``old``; False when the new one failed."""
        try:
            new = await self._open()
        except BinanceBrokerError as error:
            self.last_error = str(error)
            log.warning("binance: replacing the user stream connection failed: %s", error)
            return False
        self._live = new
        self.rotations += 1
        await self._close(old)  # its reader hands over what it still had before it ends
        self._on_subscribed("rotated")
        return True

    async def _wait(self, seconds: float) -> None:
        if not self._wakeup.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._wakeup.wait()
        self._wakeup.clear()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
