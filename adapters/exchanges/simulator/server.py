"""``ExchangeSimulator``: a local WebSocket + REST server speaking the Binance spot market-data dialect.

On one port: ``/stream?streams=a/b`` (combined frames), ``/ws/<stream>`` (raw frames), live
SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY requests, and
``GET /api/v3/depth?symbol=..&limit=..`` answered from the same process (websockets'
``process_request`` hook). Like the venue it pings every ``ping_interval`` seconds, drops a
client that sends more than ``max_incoming_per_second`` messages in a second, and can cut
connections at ``max_connection_age``. Faults come from seeded probabilities or from methods
a test calls: ``drop_connections``, ``send_garbage``, ``skip_sequence``, ``go_silent``,
``send_server_shutdown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import weakref
from collections import deque
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from adapters.exchanges.simulator.market import (
    BOOK_TICKER,
    DEPTH,
    TRADE,
    BookView,
    MarketFrame,
    RandomWalkMarket,
)
from adapters.exchanges.simulator.recording import FrameRecorder

_log = logging.getLogger(__name__)

_STREAM_KINDS = {"trade": TRADE, "bookTicker": BOOK_TICKER, "depth": DEPTH, "depth@100ms": DEPTH}
_MAX_DEPTH_LIMIT = 5000
_BATCH = 256
"""Most market steps between two yields to the event loop."""
_SEND_BATCH = 512
"""Most frames written to one client between two flow-control checks."""


class MarketSource(Protocol):
    """What the simulator publishes: a random walk or a recording."""

    symbols: tuple[str, ...]

    @property
    def finished(self) -> bool: ...

    def step(self, now_ms: int) -> list[MarketFrame]: ...

    def snapshot(self, symbol: str, limit: int) -> dict[str, Any]: ...

    def skip_next_depth(self, symbol: str | None = None) -> None: ...

    def book(self, symbol: str) -> BookView: ...


class _Client:
    """One connected client: its subscriptions, mode and outgoing queue."""

    __slots__ = ("combined", "connection", "number", "outbox", "received", "sender", "streams", "wakeup")

    def __init__(self, connection: ServerConnection, number: int, combined: bool) -> None:
        self.connection = connection
        self.number = number
        self.combined = combined
        self.streams: set[str] = set()
        self.outbox: deque[bytes] = deque()
        self.wakeup = asyncio.Event()
        self.received: deque[float] = deque()
        self.sender: asyncio.Task[None] | None = None

    def push(self, frame: bytes) -> None:
        self.outbox.append(frame)
        self.wakeup.set()


class ExchangeSimulator:
    """Serves a market over loopback in the Binance dialect; ``await start()`` returns the port.

    ``rate``: market steps per second (each step moves every symbol once: a depth update and
    often a trade and a bookTicker); 0 publishes as fast as the clients read. Fault
    probabilities are per step, drawn from their own generator seeded by ``fault_seed``
    (default ``seed + 1``), so faults never change the market's path.
    """

    def __init__(
        self,
        market: MarketSource | None = None,
        *,
        symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT"),
        seed: int = 7,
        host: str = "127.0.0.1",
        port: int = 0,
        rate: float = 50.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 60.0,
        garbage_prob: float = 0.0,
        gap_prob: float = 0.0,
        drop_prob: float = 0.0,
        silence_prob: float = 0.0,
        silence_seconds: float = 2.0,
        fault_seed: int | None = None,
        shutdown_grace: float = 2.0,
        max_connection_age: float | None = None,
        max_incoming_per_second: int = 5,
        rest_weight_per_minute: int = 6000,
        max_outbox: int = 100_000,
        recorder: FrameRecorder | None = None,
    ) -> None:
        for name, probability in (
            ("garbage_prob", garbage_prob),
            ("gap_prob", gap_prob),
            ("drop_prob", drop_prob),
            ("silence_prob", silence_prob),
        ):
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], was {probability}")
        if rate < 0:
            raise ValueError(f"rate must not be negative, was {rate}")
        self.market: MarketSource = market if market is not None else RandomWalkMarket(symbols, seed)
        self.host = host
        self._requested_port = port
        self._rate = rate
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._garbage_prob = garbage_prob
        self._gap_prob = gap_prob
        self._drop_prob = drop_prob
        self._silence_prob = silence_prob
        self._silence_seconds = silence_seconds
        self._faults = random.Random(seed + 1 if fault_seed is None else fault_seed)
        self._shutdown_grace = shutdown_grace
        self._max_age = max_connection_age
        self._max_incoming = max_incoming_per_second
        self._rest_weight_limit = rest_weight_per_minute
        self._max_outbox = max_outbox
        self._recorder = recorder
        self._streams = self._stream_table(self.market.symbols)
        self._subscribers: dict[str, set[_Client]] = {}
        self._clients: set[_Client] = set()
        self._handshakes: weakref.WeakKeyDictionary[ServerConnection, tuple[bool, list[str]]] = (
            weakref.WeakKeyDictionary()
        )
        self._rest_weights: deque[tuple[float, int]] = deque()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: Server | None = None
        self._generator: asyncio.Task[None] | None = None
        self._paused = False
        self._silent_until = 0.0
        self._connections = 0
        self.port = 0
        self.frames_sent = 0
        self.steps = 0
        self.garbage_sent = 0
        self.connection_log: list[tuple[float, str, int]] = []
        """(monotonic time, "open" | "close", connection number), for tests of handovers."""

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> int:
        """Bind, start publishing, return the bound port (``port=0`` picks a free one)."""
        if self._server is not None:
            return self.port
        self._server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            compression=None,
            max_size=2**16,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._generator = asyncio.get_running_loop().create_task(
            self._generate(), name="exchange-sim-generator"
        )
        _log.info("exchange simulator listening on %s", self.ws_url)
        return self.port

    async def stop(self) -> None:
        """Stop publishing and close every connection (code 1001)."""
        if self._generator is not None:
            self._generator.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._generator
            self._generator = None
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._recorder is not None:
            self._recorder.flush()

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        """Clients connected now."""
        return len(self._clients)

    @property
    def connections_opened(self) -> int:
        return self._connections

    def subscriptions(self) -> list[list[str]]:
        """The streams of each connected client, sorted."""
        return [sorted(client.streams) for client in sorted(self._clients, key=lambda c: c.number)]

    # -- controls for tests and operators ------------------------------------------------

    def pause(self) -> None:
        """Stop stepping the market (connections stay open and silent)."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def book(self, symbol: str) -> BookView:
        """The simulator's own book of ``symbol``, to compare a client's against."""
        return self.market.book(symbol)

    def drop_connections(self) -> int:
        """Cut every connection at the TCP level, no closing handshake; returns how many."""
        clients = list(self._clients)
        for client in clients:
            self._unsubscribe(client, list(client.streams))
            client.outbox.clear()
            if client.sender is not None:
                client.sender.cancel()  # nothing more may be written to the aborted socket
            transport = client.connection.transport
            if transport is not None:
                transport.abort()
        _log.info("exchange simulator: dropped %d connection(s)", len(clients))
        return len(clients)

    def send_garbage(self, n: int = 1) -> None:
        """Send ``n`` malformed frames to every client (between valid ones)."""
        symbol = self.market.symbols[0]
        variants = _garbage(symbol)
        for client in list(self._clients):
            for _ in range(n):
                client.push(variants[self._faults.randrange(len(variants))])
                self.garbage_sent += 1

    def skip_sequence(self, symbol: str | None = None) -> None:
        """The next depth update (of ``symbol``, or of all) changes the book but is never sent."""
        self.market.skip_next_depth(symbol)

    def go_silent(self, seconds: float) -> None:
        """Send nothing (the market stands still) for ``seconds``; connections stay open."""
        self._silent_until = time.monotonic() + seconds

    def send_server_shutdown(self, close_after: float | None = None) -> int:
        """Send ``serverShutdown`` to every client, close each ``close_after`` s later; return how many."""
        grace = self._shutdown_grace if close_after is None else close_after
        event_time = int(time.time() * 1000)
        raw = orjson.dumps({"e": "serverShutdown", "E": event_time})
        combined = b'{"stream":"!serverShutdown","data":' + raw + b"}"
        clients = list(self._clients)
        loop = asyncio.get_running_loop()
        for client in clients:
            client.push(combined if client.combined else raw)
            loop.call_later(grace, self._close_later, client, 1001, "server shutdown")
        return len(clients)

    # -- publishing ---------------------------------------------------------------------

    async def _generate(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self._rate if self._rate > 0 else 0.0
        next_at = loop.time()
        while True:
            now = loop.time()
            if self._paused or time.monotonic() < self._silent_until or self.market.finished:
                await asyncio.sleep(0.005)
                next_at = loop.time()
                continue
            if interval:
                due = int((now - next_at) / interval) + 1 if now >= next_at else 0
                if due == 0:
                    await asyncio.sleep(next_at - now)
                    continue
                due = min(due, _BATCH)
                next_at = max(next_at + due * interval, now - 1.0)  # no burst after a long stall
            else:
                if any(len(client.outbox) > self._max_outbox // 2 for client in self._clients):
                    await asyncio.sleep(0.001)
                    continue
                due = _BATCH
            now_ms = int(time.time() * 1000)
            for _ in range(due):
                self._step(now_ms)
            await asyncio.sleep(0)

    def _step(self, now_ms: int) -> None:
        faults = self._faults
        if self._gap_prob and faults.random() < self._gap_prob:
            self.market.skip_next_depth(None)
        frames = self.market.step(now_ms)
        self.steps += 1
        recorder = self._recorder
        for frame in frames:
            if recorder is not None:
                recorder.write_frame(frame)
            self._publish(frame)
        if self._garbage_prob and faults.random() < self._garbage_prob:
            self.send_garbage(1)
        if self._drop_prob and faults.random() < self._drop_prob:
            self.drop_connections()
        if self._silence_prob and faults.random() < self._silence_prob:
            _log.info("exchange simulator: going silent for %.1fs", self._silence_seconds)
            self.go_silent(self._silence_seconds)

    def _publish(self, frame: MarketFrame) -> None:
        data: bytes | None = None
        for name, prefix in self._streams[frame.symbol, frame.kind]:
            subscribers = self._subscribers.get(name)
            if not subscribers:
                continue
            if data is None:
                data = orjson.dumps(frame.payload)
            combined = prefix + data + b"}"
            for client in list(subscribers):
                if len(client.outbox) >= self._max_outbox:
                    _log.warning("exchange simulator: client %d is too slow, dropping it", client.number)
                    self._close_later(client, 1008, "slow consumer")
                    continue
                client.push(combined if client.combined else data)
                self.frames_sent += 1

    @staticmethod
    def _stream_table(symbols: Iterable[str]) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
        table: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
        for symbol in symbols:
            for suffix, kind in _STREAM_KINDS.items():
                name = f"{symbol.lower()}@{suffix}"
                prefix = b'{"stream":"' + name.encode() + b'","data":'
                table.setdefault((symbol, kind), []).append((name, prefix))
        return table

    def _known(self, stream: str) -> bool:
        symbol, _, kind = stream.partition("@")
        return (symbol.upper(), _STREAM_KINDS.get(kind, "")) in self._streams

    # -- connections --------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == "/api/v3/depth":
            return self._depth(connection, parse_qs(query))
        if path == "/stream":
            values = parse_qs(query).get("streams", [""])[0]
            streams, combined = [s for s in values.split("/") if s], True
        elif path == "/ws" or path.startswith("/ws/"):
            streams, combined = [s for s in path[4:].split("/") if s], False
        else:
            return _json(connection, HTTPStatus.NOT_FOUND, {"code": -1, "msg": f"No such path {path}"})
        unknown = [stream for stream in streams if not self._known(stream)]
        if unknown:
            body = {"code": 2, "msg": f"Invalid request: unknown stream(s) {unknown[:5]}"}
            return _json(connection, HTTPStatus.BAD_REQUEST, body)
        self._handshakes[connection] = (combined, streams)
        return None

    def _depth(self, connection: ServerConnection, params: dict[str, list[str]]) -> Response:
        symbol = params.get("symbol", [""])[0]
        if not symbol:
            body = {
                "code": -1102,
                "msg": "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            }
            return _json(connection, HTTPStatus.BAD_REQUEST, body)
        if symbol not in self.market.symbols:
            return _json(connection, HTTPStatus.BAD_REQUEST, {"code": -1121, "msg": "Invalid symbol."})
        text = params.get("limit", ["100"])[0]
        if not text.isdigit() or not 1 <= int(text) <= _MAX_DEPTH_LIMIT:
            body = {"code": -1100, "msg": f"Illegal characters found in parameter 'limit'; was {text!r}."}
            return _json(connection, HTTPStatus.BAD_REQUEST, body)
        limit = int(text)
        weight = 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
        now = time.monotonic()
        weights = self._rest_weights
        while weights and weights[0][0] <= now - 60:
            weights.popleft()
        used = sum(w for _, w in weights)
        if used + weight > self._rest_weight_limit:
            retry_after = max(1, int(weights[0][0] + 60 - now) + 1)
            body = {"code": -1003, "msg": "Too much request weight used; please use WebSocket Streams."}
            response = _json(connection, HTTPStatus.TOO_MANY_REQUESTS, body)
            response.headers["Retry-After"] = str(retry_after)
            return response
        weights.append((now, weight))
        response = _json(connection, HTTPStatus.OK, self.market.snapshot(symbol, limit))
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(used + weight)
        return response

    async def _handle(self, connection: ServerConnection) -> None:
        combined, streams = self._handshakes.pop(connection, (True, []))
        self._connections += 1
        client = _Client(connection, self._connections, combined)
        self.connection_log.append((time.monotonic(), "open", client.number))
        self._clients.add(client)
        self._subscribe(client, streams)
        loop = asyncio.get_running_loop()
        client.sender = loop.create_task(self._send(client), name=f"exchange-sim-sender-{client.number}")
        age_timer = None
        if self._max_age is not None:
            age_timer = loop.call_later(self._max_age, self._close_later, client, 1001, "connection too old")
        try:
            async for message in connection:
                if not self._allow_incoming(client):
                    _log.warning("exchange simulator: client %d sent too many messages", client.number)
                    await connection.close(1008, "Too many requests")
                    break
                self._control(client, message)
        except ConnectionClosed:
            pass
        finally:
            if age_timer is not None:
                age_timer.cancel()
            self._clients.discard(client)
            self._unsubscribe(client, list(client.streams))
            client.sender.cancel()
            self.connection_log.append((time.monotonic(), "close", client.number))

    async def _send(self, client: _Client) -> None:
        # Frames queued meanwhile go out together: one flow-control check per batch, not per
        # frame (``send_context`` is websockets' documented way to write through the protocol).
        connection, outbox, wakeup = client.connection, client.outbox, client.wakeup
        send_text = connection.protocol.send_text
        try:
            while True:
                if not outbox:
                    wakeup.clear()
                    await wakeup.wait()
                    continue
                async with connection.send_context():
                    for _ in range(min(len(outbox), _SEND_BATCH)):
                        send_text(outbox.popleft())
        except ConnectionClosed:
            pass

    def _allow_incoming(self, client: _Client) -> bool:
        now = time.monotonic()
        received = client.received
        received.append(now)
        while received and received[0] <= now - 1.0:
            received.popleft()
        return len(received) <= self._max_incoming

    def _control(self, client: _Client, message: str | bytes) -> None:
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            client.push(orjson.dumps({"code": 3, "msg": f"Invalid JSON: {exc}", "id": None}))
            return None
        request_id = request.get("id") if isinstance(request, dict) else None
        method = request.get("method") if isinstance(request, dict) else None
        params = request.get("params", []) if isinstance(request, dict) else None
        result: Any = None
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return self._error(client, request_id, "Invalid request: params must be a list of streams")
            unknown = [p for p in params if not self._known(p)]
            if unknown:
                return self._error(client, request_id, f"Invalid request: unknown stream(s) {unknown[:5]}")
            if method == "SUBSCRIBE":
                self._subscribe(client, params)
            else:
                self._unsubscribe(client, params)
        elif method == "LIST_SUBSCRIPTIONS":
            result = sorted(client.streams)
        elif method == "SET_PROPERTY" and isinstance(params, list) and params[:1] == ["combined"]:
            if len(params) != 2 or not isinstance(params[1], bool):
                return self._error(client, request_id, "Invalid request: combined must be true or false")
            client.combined = params[1]
        elif method == "GET_PROPERTY" and params == ["combined"]:
            result = client.combined
        else:
            return self._error(client, request_id, f"Invalid request: unknown method {method!r}")
        client.push(orjson.dumps({"result": result, "id": request_id}))
        return None

    @staticmethod
    def _error(client: _Client, request_id: object, message: str) -> None:
        client.push(orjson.dumps({"code": 2, "msg": message, "id": request_id}))

    def _subscribe(self, client: _Client, streams: Iterable[str]) -> None:
        for stream in streams:
            client.streams.add(stream)
            self._subscribers.setdefault(stream, set()).add(client)

    def _unsubscribe(self, client: _Client, streams: Iterable[str]) -> None:
        for stream in streams:
            client.streams.discard(stream)
            subscribers = self._subscribers.get(stream)
            if subscribers is not None:
                subscribers.discard(client)

    def _close_later(self, client: _Client, code: int, reason: str) -> None:
        self._unsubscribe(client, list(client.streams))
        task = asyncio.get_running_loop().create_task(client.connection.close(code, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _json(connection: ServerConnection, status: HTTPStatus, body: object) -> Response:
    response = connection.respond(status, orjson.dumps(body).decode())
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json;charset=UTF-8"
    return response


def _garbage(symbol: str) -> list[bytes]:
    """Frames a feed must count as malformed and survive: not JSON, wrong shapes, bad numbers."""
    s, lower = symbol.upper(), symbol.lower()
    trade = f'"e":"trade","E":1,"s":"{s}","t":1,"q":"1","T":1,"m":true,"M":true'
    return [
        b"this is not json",
        b"[1, 2, 3]",
        f'{{"stream":"{lower}@trade","data":{{{trade},"p":"NaN"}}}}'.encode(),
        f'{{"stream":"{lower}@trade","data":{{{trade},"p":"-5"}}}}'.encode(),
        f'{{"stream":"{lower}@trade","data":"garbage"}}'.encode(),
        f'{{"stream":"{lower}@trade","data":{{"e":"trade","p":'.encode(),
        f'{{"stream":"{lower}@depth@100ms","data":{{"e":"depthUpdate","E":1,"s":"{s}","U":"x","u":2,"b":[],"a":[]}}}}'.encode(),
        f'{{"stream":"{lower}@bookTicker","data":{{"u":1,"s":"{s}","b":"inf","B":"1","a":"2","A":"1"}}}}'.encode(),
        f'{{"stream":"{lower}@nosuchstream","data":{{}}}}'.encode(),
    ]
