"""The supervised connection against a real loopback WebSocket server: it subscribes on every
connection, delivers frames, and replaces the connection when the server closes it, goes
quiet, the protocol reports stale data, or the protocol asks; a refused subscribe is retried."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from adapters.exchanges.streaming.connection import ConnectionOptions, Link, SupervisedConnection
from adapters.memory.clock import ManualClock

TEST_TIMEOUT = 20.0


class Recorder:
    """A StreamProtocol that records what the supervisor tells it."""

    def __init__(self) -> None:
        self.opened: list[int] = []
        self.frames: list[tuple[bytes, int, int]] = []
        self.lost: list[str] = []
        self.errors: list[str] = []
        self.stale_reason: str | None = None
        self.fail_opens = 0

    async def on_open(self, link: Link) -> None:
        self.opened.append(link.number)
        if self.fail_opens:
            self.fail_opens -= 1
            raise RuntimeError("venue refused the subscription")
        await link.send({"type": "subscribe", "channel": "ticker"})

    def on_frame(self, raw: bytes, ts_init: int, link: Link) -> None:
        self.frames.append((raw, ts_init, link.number))

    def on_lost(self, reason: str) -> None:
        self.lost.append(reason)

    def on_error(self, message: str) -> None:
        self.errors.append(message)

    def staleness(self, now: float) -> str | None:
        return self.stale_reason


class Server:
    """Echoes each subscribe back as one frame, then does what ``behaviour`` says."""

    def __init__(self) -> None:
        self.received: list[object] = []
        self.connections: list[ServerConnection] = []
        self.behaviour: Callable[[ServerConnection], Awaitable[None]] | None = None

    async def handler(self, websocket: ServerConnection) -> None:
        self.connections.append(websocket)
        with contextlib.suppress(Exception):
            async for message in websocket:
                self.received.append(orjson.loads(message))
                await websocket.send(orjson.dumps({"ack": len(self.received)}).decode())
                if self.behaviour is not None:
                    await self.behaviour(websocket)


@contextlib.asynccontextmanager
async def running_server() -> AsyncIterator[tuple[Server, int]]:
    server = Server()
    async with serve(server.handler, "127.0.0.1", 0) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        yield server, port


def _options(port: int, **overrides: float) -> ConnectionOptions:
    values: dict[str, float] = {
        "stale_after": 5.0,
        "reconnect_initial_delay": 0.05,
        "reconnect_max_delay": 0.1,
        "messages_per_second": 100.0,
        "open_timeout": 2.0,
    }
    values.update(overrides)
    return ConnectionOptions(url=f"ws://127.0.0.1:{port}/", use_system_proxy=False, **values)  # type: ignore[arg-type]


async def _until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def _supervise(protocol: Recorder, options: ConnectionOptions) -> tuple[SupervisedConnection, ManualClock]:
    clock = ManualClock(1_000)
    connection = SupervisedConnection(
        name="test", options=options, protocol=protocol, clock=clock, rng=random.Random(1)
    )
    return connection, clock


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), TEST_TIMEOUT))


def test_it_subscribes_and_delivers_frames_stamped_by_the_clock() -> None:
    async def scenario() -> None:
        async with running_server() as (server, port):
            protocol = Recorder()
            connection, _ = _supervise(protocol, _options(port))
            task = asyncio.create_task(connection.run())
            await _until(lambda: len(protocol.frames) == 1, "the first frame")
            assert server.received == [{"type": "subscribe", "channel": "ticker"}]
            assert protocol.frames == [(b'{"ack":1}', 1_000, 1)]
            was_connected = connection.connected
            await connection.stop()
            await task
            assert was_connected
            assert not connection.connected
            assert protocol.lost == []

    _run(scenario)


def test_a_closed_connection_is_replaced_and_subscribed_again() -> None:
    async def scenario() -> None:
        async with running_server() as (server, port):
            protocol = Recorder()
            connection, _ = _supervise(protocol, _options(port))
            task = asyncio.create_task(connection.run())
            await _until(lambda: len(protocol.frames) == 1, "the first frame")
            await server.connections[0].close(code=1001, reason="going away")
            await _until(lambda: len(protocol.frames) == 2, "a frame on the new connection")
            assert protocol.opened == [1, 2]
            assert protocol.lost == ["connection lost (code 1001 (going away))"]
            assert connection.reconnects == 1
            assert protocol.frames[-1][2] == 2
            await connection.stop()
            await task

    _run(scenario)


def test_a_quiet_connection_is_replaced() -> None:
    async def scenario() -> None:
        async with running_server() as (_, port):
            protocol = Recorder()
            connection, _ = _supervise(protocol, _options(port, stale_after=0.3))
            task = asyncio.create_task(connection.run())
            await _until(lambda: len(protocol.opened) >= 2, "a second connection", timeout=5.0)
            assert protocol.lost[0].startswith("stale: no frame for")
            await connection.stop()
            await task

    _run(scenario)


def test_stale_venue_data_replaces_the_connection() -> None:
    async def scenario() -> None:
        async with running_server() as (_, port):
            protocol = Recorder()
            connection, _ = _supervise(protocol, _options(port))
            task = asyncio.create_task(connection.run())
            await _until(lambda: len(protocol.frames) == 1, "the first frame")
            protocol.stale_reason = "heartbeats stopped 3.2s ago"
            await _until(lambda: len(protocol.lost) == 1, "the loss")
            protocol.stale_reason = None
            await _until(lambda: len(protocol.frames) == 2, "the new connection's frame")
            assert protocol.lost == ["heartbeats stopped 3.2s ago"]
            assert "heartbeats stopped 3.2s ago" in protocol.errors
            await connection.stop()
            await task

    _run(scenario)


def test_the_protocol_may_ask_for_a_fresh_connection() -> None:
    async def scenario() -> None:
        async with running_server() as (_, port):
            protocol = Recorder()
            connection, _ = _supervise(protocol, _options(port))
            task = asyncio.create_task(connection.run())
            await _until(lambda: len(protocol.frames) == 1, "the first frame")
            connection.reconnect("book checksum failed twice")
            connection.reconnect("ignored: one request at a time")
            await _until(lambda: len(protocol.frames) == 2, "the new connection's frame")
            assert protocol.lost == ["book checksum failed twice"]
            await connection.stop()
            await task

    _run(scenario)


def test_a_failed_subscribe_is_retried_on_a_new_connection() -> None:
    async def scenario() -> None:
        async with running_server() as (_, port):
            protocol = Recorder()
            protocol.fail_opens = 2
            connection, _ = _supervise(protocol, _options(port))
            task = asyncio.create_task(connection.run())
            await _until(lambda: len(protocol.frames) == 1, "a frame after two refusals")
            assert protocol.opened == [1, 2, 3]
            assert (
                protocol.errors[:2]
                == [f"subscribing on 127.0.0.1:{port}/ failed: RuntimeError: venue refused the subscription"]
                * 2
            )
            assert protocol.lost == []  # never connected, so nothing was lost
            await connection.stop()
            await task

    _run(scenario)


def test_a_refused_connection_is_named_and_retried_until_stopped() -> None:
    async def scenario() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        protocol = Recorder()
        connection, _ = _supervise(protocol, _options(port))
        task = asyncio.create_task(connection.run())
        await _until(lambda: len(protocol.errors) >= 2, "two refusals")
        assert protocol.errors[0] == f"connection refused by 127.0.0.1:{port}"
        await connection.stop()
        await asyncio.wait_for(task, 2.0)
        assert protocol.opened == []

    _run(scenario)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stale_after": 0.0}, "stale_after must be positive"),
        ({"messages_per_second": -1.0}, "messages_per_second must be positive"),
        ({"reconnect_initial_delay": 5.0, "reconnect_max_delay": 1.0}, "reconnect delays"),
        ({"max_size": 10}, "max_size must be at least"),
    ],
)
def test_bad_options_are_refused_by_name(overrides: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _options(1, **overrides)


def test_a_url_that_is_not_a_websocket_is_refused() -> None:
    with pytest.raises(ValueError, match="ws:// or wss://"):
        ConnectionOptions(url="https://example.com")
