"""``ExchangeSimulator``: a local WebSocket + REST server speaking the Binance spot market-data dialect.

On one port: ``/stream?streams=a/b`` (combined frames), ``/ws/<stream>`` (raw frames), live
SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY requests, and
``GET /api/v3/depth?symbol=..&limit=..`` answered from the same process (websockets'
``process_request`` hook). Like the venue it pings every ``ping_interval`` seconds, drops a
client that sends more than ``max_incoming_per_second`` messages in a second, and can cut
connections at ``max_connection_age``. Faults come from seeded probabilities or from methods
a test calls: ``drop_connections``, ``send_garbage``, ``skip_sequence``, ``go_silent``,
``send_server_shutdown``.

This module runs the server and steps the market; the parts it puts together are beside it:
``streams`` (clients, subscriptions, sending), ``rest`` (the depth endpoint) and ``faults``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Sequence
from http import HTTPStatus
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from adapters.exchanges.simulator.faults import FaultInjector
from adapters.exchanges.simulator.market import BookView, MarketSource, RandomWalkMarket
from adapters.exchanges.simulator.recording import FrameRecorder
from adapters.exchanges.simulator.rest import DepthEndpoint, json_response
from adapters.exchanges.simulator.stepping import step_forever
from adapters.exchanges.simulator.streams import StreamHub

__all__ = ["ExchangeSimulator", "MarketSource"]

_log = logging.getLogger(__name__)


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
        self._recorder = recorder
        self._hub = StreamHub(
            self.market.symbols,
            max_incoming_per_second=max_incoming_per_second,
            max_outbox=max_outbox,
            max_connection_age=max_connection_age,
        )
        self._depth = DepthEndpoint(self.market, weight_per_minute=rest_weight_per_minute)
        self._faults = FaultInjector(
            self._hub,
            self.market,
            seed=seed + 1 if fault_seed is None else fault_seed,
            garbage_prob=garbage_prob,
            gap_prob=gap_prob,
            drop_prob=drop_prob,
            silence_prob=silence_prob,
            silence_seconds=silence_seconds,
            shutdown_grace=shutdown_grace,
        )
        self._handshakes: weakref.WeakKeyDictionary[ServerConnection, tuple[bool, list[str]]] = (
            weakref.WeakKeyDictionary()
        )
        self._server: Server | None = None
        self._generator: asyncio.Task[None] | None = None
        self._paused = False
        self.port = 0
        self.steps = 0

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
        self._hub.cancel_closing()
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

    # -- what tests observe -------------------------------------------------------------

    @property
    def connections(self) -> int:
        """Clients connected now."""
        return len(self._hub.clients)

    @property
    def connections_opened(self) -> int:
        return self._hub.connections_opened

    @property
    def connection_log(self) -> list[tuple[float, str, int]]:
        """(monotonic time, "open" | "close", connection number), for tests of handovers."""
        return self._hub.connection_log

    @property
    def frames_sent(self) -> int:
        """Market frames queued for clients (one per client and stream)."""
        return self._hub.frames_sent

    @property
    def garbage_sent(self) -> int:
        """Malformed frames sent (``send_garbage`` and the random ones)."""
        return self._faults.garbage_sent

    def subscriptions(self) -> list[list[str]]:
        """The streams of each connected client, sorted."""
        return self._hub.subscriptions()

    def book(self, symbol: str) -> BookView:
        """The simulator's own book of ``symbol``, to compare a client's against."""
        return self.market.book(symbol)

    # -- controls for tests and operators ------------------------------------------------

    def pause(self) -> None:
        """Stop stepping the market (connections stay open and silent)."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def publish_step(self) -> bool:
        """Step the market once and publish that step now (meant while paused, to interleave
        this venue's stream with others' in a chosen order). Returns False, publishing
        nothing, once the market has nothing left (a recording at its end); True otherwise."""
        if self.market.finished:
            return False
        published = self._step(int(time.time() * 1000))
        return published or not self.market.finished

    def drop_connections(self) -> int:
        """Cut every connection at the TCP level, no closing handshake; returns how many."""
        return self._faults.drop_connections()

    def send_garbage(self, n: int = 1) -> None:
        """Send ``n`` malformed frames to every client (between valid ones)."""
        self._faults.send_garbage(n)

    def skip_sequence(self, symbol: str | None = None) -> None:
        """The next depth update (of ``symbol``, or of all) changes the book but is never sent."""
        self._faults.skip_sequence(symbol)

    def go_silent(self, seconds: float) -> None:
        """Send nothing (the market stands still) for ``seconds``; connections stay open."""
        self._faults.go_silent(seconds)

    def send_server_shutdown(self, close_after: float | None = None) -> int:
        """Send ``serverShutdown`` to every client, close each ``close_after`` s later; return how many."""
        return self._faults.send_server_shutdown(close_after)

    # -- publishing ---------------------------------------------------------------------

    async def _generate(self) -> None:
        await step_forever(
            self._rate,
            self._step,
            idle=lambda: self._paused or self._faults.silent or self.market.finished,
            congested=self._hub.congested,
        )

    def _step(self, now_ms: int) -> bool:
        """One market step published; True when it held a frame."""
        faults = self._faults
        faults.before_step()
        frames = self.market.step(now_ms)
        self.steps += 1
        recorder = self._recorder
        publish = self._hub.publish
        for frame in frames:
            if recorder is not None:
                recorder.write_frame(frame)
            publish(frame)
        faults.after_step()
        return bool(frames)

    # -- connections --------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer a REST request, refuse an unknown path or stream, or let a WebSocket handshake on."""
        path, _, query = request.path.partition("?")
        if path == "/api/v3/depth":
            return self._depth.respond(connection, parse_qs(query))
        if path == "/stream":
            values = parse_qs(query).get("streams", [""])[0]
            streams, combined = [s for s in values.split("/") if s], True
        elif path == "/ws" or path.startswith("/ws/"):
            streams, combined = [s for s in path[4:].split("/") if s], False
        else:
            body = {"code": -1, "msg": f"No such path {path}"}
            return json_response(connection, HTTPStatus.NOT_FOUND, body)
        unknown = [stream for stream in streams if not self._hub.known(stream)]
        if unknown:
            body = {"code": 2, "msg": f"Invalid request: unknown stream(s) {unknown[:5]}"}
            return json_response(connection, HTTPStatus.BAD_REQUEST, body)
        self._handshakes[connection] = (combined, streams)
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        combined, streams = self._handshakes.pop(connection, (True, []))
        await self._hub.serve(connection, combined, streams)
