"""The simulator's WebSocket side: connected clients, their subscriptions, the requests they
send (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY) and the market
frames written to them, each client through its own queue and sender task.

Like the venue, it drops a client that sends more than ``max_incoming_per_second`` messages
in a second, one whose queue reaches ``max_outbox`` frames (a slow consumer), and, when
``max_connection_age`` is set, every connection that old.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from adapters.exchanges.simulator.market import BOOK_TICKER, DEPTH, TRADE, MarketFrame

_log = logging.getLogger(__name__)

STREAM_KINDS = {"trade": TRADE, "bookTicker": BOOK_TICKER, "depth": DEPTH, "depth@100ms": DEPTH}
"""Stream name suffix -> kind of market frame it carries."""
_SEND_BATCH = 512
"""Most frames written to one client between two flow-control checks."""


class Client:
    """One connected client: its subscriptions, mode (combined or raw frames) and outgoing queue."""

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
        """Queue ``frame`` for the client's sender task."""
        self.outbox.append(frame)
        self.wakeup.set()


class StreamHub:
    """Every connected client and what it subscribed to; ``publish`` fans a frame out to them."""

    def __init__(
        self,
        symbols: Iterable[str],
        *,
        max_incoming_per_second: int,
        max_outbox: int,
        max_connection_age: float | None,
    ) -> None:
        self._streams = _stream_table(symbols)
        self._max_incoming = max_incoming_per_second
        self._max_outbox = max_outbox
        self._max_age = max_connection_age
        self._subscribers: dict[str, set[Client]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.clients: set[Client] = set()
        self.connections_opened = 0
        self.frames_sent = 0
        self.connection_log: list[tuple[float, str, int]] = []
        """(monotonic time, "open" | "close", connection number), for tests of handovers."""

    def known(self, stream: str) -> bool:
        """Whether ``stream`` (``btcusdt@trade``...) is one this market publishes."""
        symbol, _, kind = stream.partition("@")
        return (symbol.upper(), STREAM_KINDS.get(kind, "")) in self._streams

    def subscriptions(self) -> list[list[str]]:
        """The streams of each connected client, sorted."""
        return [sorted(client.streams) for client in sorted(self.clients, key=lambda c: c.number)]

    def congested(self) -> bool:
        """True while some client's queue is more than half full (time to let senders catch up)."""
        return any(len(client.outbox) > self._max_outbox // 2 for client in self.clients)

    def publish(self, frame: MarketFrame) -> None:
        """Queue ``frame`` for every client subscribed to one of its streams."""
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
                    self.close_later(client, 1008, "slow consumer")
                    continue
                client.push(combined if client.combined else data)
                self.frames_sent += 1

    async def serve(self, connection: ServerConnection, combined: bool, streams: list[str]) -> None:
        """Serve one connection until it closes: ``streams`` subscribed from the start."""
        self.connections_opened += 1
        client = Client(connection, self.connections_opened, combined)
        self.connection_log.append((time.monotonic(), "open", client.number))
        self.clients.add(client)
        self._subscribe(client, streams)
        loop = asyncio.get_running_loop()
        client.sender = loop.create_task(self._send(client), name=f"exchange-sim-sender-{client.number}")
        age_timer = None
        if self._max_age is not None:
            age_timer = loop.call_later(self._max_age, self.close_later, client, 1001, "connection too old")
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
            self.clients.discard(client)
            self._unsubscribe(client, list(client.streams))
            client.sender.cancel()
            self.connection_log.append((time.monotonic(), "close", client.number))

    def abort_all(self) -> int:
        """Cut every connection at the TCP level, no closing handshake; returns how many."""
        clients = list(self.clients)
        for client in clients:
            self._unsubscribe(client, list(client.streams))
            client.outbox.clear()
            if client.sender is not None:
                client.sender.cancel()  # nothing more may be written to the aborted socket
            transport = client.connection.transport
            if transport is not None:
                transport.abort()
        return len(clients)

    def close_later(self, client: Client, code: int, reason: str) -> None:
        """Stop sending to ``client`` and close its connection with ``code`` (in a task)."""
        self._unsubscribe(client, list(client.streams))
        task = asyncio.get_running_loop().create_task(client.connection.close(code, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_closing(self) -> None:
        """Cancel the closes still under way (the server is stopping)."""
        for task in list(self._tasks):
            task.cancel()

    async def _send(self, client: Client) -> None:
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

    def _allow_incoming(self, client: Client) -> bool:
        now = time.monotonic()
        received = client.received
        received.append(now)
        while received and received[0] <= now - 1.0:
            received.popleft()
        return len(received) <= self._max_incoming

    def _control(self, client: Client, message: str | bytes) -> None:
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
                return _error(client, request_id, "Invalid request: params must be a list of streams")
            unknown = [p for p in params if not self.known(p)]
            if unknown:
                return _error(client, request_id, f"Invalid request: unknown stream(s) {unknown[:5]}")
            if method == "SUBSCRIBE":
                self._subscribe(client, params)
            else:
                self._unsubscribe(client, params)
        elif method == "LIST_SUBSCRIPTIONS":
            result = sorted(client.streams)
        elif method == "SET_PROPERTY" and isinstance(params, list) and params[:1] == ["combined"]:
            if len(params) != 2 or not isinstance(params[1], bool):
                return _error(client, request_id, "Invalid request: combined must be true or false")
            client.combined = params[1]
        elif method == "GET_PROPERTY" and params == ["combined"]:
            result = client.combined
        else:
            return _error(client, request_id, f"Invalid request: unknown method {method!r}")
        client.push(orjson.dumps({"result": result, "id": request_id}))
        return None

    def _subscribe(self, client: Client, streams: Iterable[str]) -> None:
        for stream in streams:
            client.streams.add(stream)
            self._subscribers.setdefault(stream, set()).add(client)

    def _unsubscribe(self, client: Client, streams: Iterable[str]) -> None:
        for stream in streams:
            client.streams.discard(stream)
            subscribers = self._subscribers.get(stream)
            if subscribers is not None:
                subscribers.discard(client)


def _error(client: Client, request_id: object, message: str) -> None:
    client.push(orjson.dumps({"code": 2, "msg": message, "id": request_id}))


def _stream_table(symbols: Iterable[str]) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
    """(symbol, kind) -> the streams carrying it, each with its combined-frame prefix."""
    table: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for symbol in symbols:
        for suffix, kind in STREAM_KINDS.items():
            name = f"{symbol.lower()}@{suffix}"
            prefix = b'{"stream":"' + name.encode() + b'","data":'
            table.setdefault((symbol, kind), []).append((name, prefix))
    return table
