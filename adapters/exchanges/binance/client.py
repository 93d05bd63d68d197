"""Raw Binance clients: one market-stream WebSocket connection, and the REST depth call.

Methods mirror the venue's endpoints and speak its wire format (bytes, stream names,
symbols); turning that into domain events is ``parsing``'s job, keeping it alive ``feed``'s.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from adapters.exchanges.binance.errors import BinanceHttpError
from adapters.exchanges.binance.schemas import MAX_STREAMS_PER_CONNECTION, ControlResponse
from adapters.pacing import TokenBucket

_USER_AGENT = "tradeplane"
_RECEIVE_QUEUE = 256
"""Frames the WebSocket library may hold before it stops reading the socket (default 16)."""


def combined_stream_url(ws_base: str, streams: Sequence[str]) -> str:
    """``wss://host:9443/stream?streams=a/b/c`` (the combined endpoint, frames wrapped in ``stream``)."""
    if not streams:
        return f"{ws_base}/stream"
    return f"{ws_base}/stream?streams={'/'.join(streams)}"


def split_for_url(ws_base: str, streams: Sequence[str], max_url_length: int) -> tuple[list[str], list[str]]:
    """Streams that fit in the URL under ``max_url_length``, and the rest (to SUBSCRIBE later)."""
    length = len(combined_stream_url(ws_base, streams[:1]))
    cut = min(1, len(streams))
    for stream in streams[1:]:
        length += 1 + len(stream)
        if length > max_url_length:
            break
        cut += 1
    return list(streams[:cut]), list(streams[cut:])


def depth_weight(limit: int) -> int:
    """REST request weight of ``GET /api/v3/depth`` for ``limit`` (5, 25, 50 or 250)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


class BinanceHttpClient:
    """Public REST market data over one pooled ``httpx.AsyncClient``; ``aclose`` when done."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, trust_env: bool = True) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            trust_env=trust_env,
            headers={"User-Agent": _USER_AGENT},
        )

    async def get_depth(self, symbol: str, limit: int) -> bytes:
        """``GET /api/v3/depth?symbol=..&limit=..``: the raw JSON body of the order book snapshot.

        Raises BinanceHttpError for an error status (``retry_after`` set on 418/429) and
        httpx.HTTPError for transport failures.
        """
        response = await self._client.get("/api/v3/depth", params={"symbol": symbol, "limit": limit})
        if response.status_code != 200:
            raise error_from_response(response)
        return response.content

    async def aclose(self) -> None:
        await self._client.aclose()


def error_from_response(response: httpx.Response) -> BinanceHttpError:
    """A non-200 REST response as BinanceHttpError (Binance `code`/`msg`, `Retry-After` on 418/429)."""
    code: int | None = None
    message = response.text[:200]
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        code = body.get("code") if type(body.get("code")) is int else None
        message = str(body.get("msg", message))[:200]
    retry_after: float | None = None
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            retry_after = max(0.0, float(header))
        except ValueError:
            retry_after = None
    if retry_after is None and response.status_code in (418, 429):
        retry_after = 60.0
    return BinanceHttpError(response.status_code, code, message, retry_after=retry_after)


class BinanceStreamConnection:
    """One market-stream WebSocket: raw frames in, rate-limited JSON control requests out.

    Open it with :meth:`open`. Exactly one task may call :meth:`recv`. Requests
    (:meth:`subscribe`, :meth:`unsubscribe`, :meth:`list_subscriptions`) wait for their
    answer, which the reader hands over with :meth:`resolve`; their pace is held under the
    venue's 5 incoming messages per second by a token bucket.
    """

    _ids = itertools.count(1)

    def __init__(self, websocket: ClientConnection, url: str, *, control_rate: float) -> None:
        self._websocket = websocket
        self.recv = cast(Callable[[], Awaitable[bytes]], functools.partial(websocket.recv, False))
        """The next frame's raw bytes (no UTF-8 decoding); raises ConnectionClosed at the end.

        A partial of the library's own ``recv``, not a wrapper coroutine: this is per frame.
        """
        self.url = url
        self.opened_at = time.monotonic()
        self._limiter = TokenBucket(control_rate, 1.0)
        self._pending: dict[int, asyncio.Future[ControlResponse]] = {}

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        open_timeout: float,
        ping_interval: float | None,
        ping_timeout: float | None,
        max_size: int,
        control_rate: float,
        use_system_proxy: bool = True,
    ) -> BinanceStreamConnection:
        """Connect (TLS for wss); raises OSError, TimeoutError or a websockets error on failure."""
        websocket = await connect(
            url,
            open_timeout=open_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=2,
            max_size=max_size,
            max_queue=_RECEIVE_QUEUE,
            compression=None,  # saves CPU per frame; the venue's frames are small JSON
            proxy=True if use_system_proxy else None,
            user_agent_header=_USER_AGENT,
        )
        return cls(websocket, url, control_rate=control_rate)

    @property
    def closed(self) -> bool:
        return self._websocket.close_code is not None

    @property
    def close_description(self) -> str:
        """How the connection ended, e.g. ``code 1001 (server shutdown)``, or "" while open."""
        code = self._websocket.close_code
        if code is None:
            return ""
        reason = self._websocket.close_reason
        return f"code {code}" + (f" ({reason})" if reason else "")

    async def subscribe(self, streams: Sequence[str], *, timeout: float = 10.0) -> ControlResponse:
        """SUBSCRIBE to ``streams`` (at most 1024 per connection) and wait for the answer."""
        if len(streams) > MAX_STREAMS_PER_CONNECTION:
            raise ValueError(f"a connection carries at most {MAX_STREAMS_PER_CONNECTION} streams")
        return await self._request("SUBSCRIBE", list(streams), timeout)

    async def unsubscribe(self, streams: Sequence[str], *, timeout: float = 10.0) -> ControlResponse:
        """UNSUBSCRIBE from ``streams`` and wait for the answer."""
        return await self._request("UNSUBSCRIBE", list(streams), timeout)

    async def list_subscriptions(self, *, timeout: float = 10.0) -> ControlResponse:
        """LIST_SUBSCRIPTIONS: the answer's ``result`` is the list of stream names."""
        return await self._request("LIST_SUBSCRIPTIONS", None, timeout)

    def resolve(self, response: ControlResponse) -> bool:
        """Hand a control response to the request waiting for it; False if none was."""
        request_id = response.request_id
        future = self._pending.pop(request_id, None) if type(request_id) is int else None
        if future is None or future.done():
            return False
        future.set_result(response)
        return True

    async def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        await self._websocket.close()

    def abort(self) -> None:
        """Drop the TCP connection at once, without the closing handshake."""
        self._websocket.transport.abort()

    async def _request(self, method: str, params: list[str] | None, timeout: float) -> ControlResponse:
        await self._limiter.acquire()
        request_id = next(self._ids)
        message: dict[str, Any] = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        future: asyncio.Future[ControlResponse] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._websocket.send(orjson.dumps(message), text=True)
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)
