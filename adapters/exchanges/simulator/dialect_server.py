"""What the Coinbase and Kraken dialects of the simulator share: a WebSocket server on loopback,
one queue and sender task per client, the market stepped ``rate`` times a second, heartbeats,
an incoming-message rate limit, and the faults a test calls or that happen at random.

A dialect subclasses ``DialectServer`` and says how a client is greeted, how its messages are
answered, how a market step reaches it and what its heartbeat and garbage look like.

The market is a seeded ``RandomWalkMarket`` unless another source is given, such as a
``RecordedMarket``: a recording of Binance-style frames is then served in the dialect's own
protocol, each venue symbol playing the recording's symbol it walks like (``BTC-USD`` plays
``BTCUSDT``). ``pause`` stops the stepping and ``publish_step`` then publishes exactly one
step on demand, so a test can interleave several venues' streams in an order of its choosing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from adapters.exchanges.simulator.market import (
    BOOK_TICKER,
    TRADE,
    BookView,
    MarketFrame,
    MarketParams,
    MarketSource,
    RandomWalkMarket,
)
from adapters.exchanges.simulator.stepping import step_forever
from adapters.exchanges.simulator.tape import Tape
from adapters.exchanges.simulator.venue_symbols import VenueSymbol, places

_log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008


def rfc3339(ns: int, digits: int) -> str:
    """``ns`` since the epoch as RFC 3339 UTC with ``digits`` fractional digits and a ``Z``."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}"[: len(stamp) + 1 + digits] + "Z"


class Session:
    """One connected client: its outgoing queue, sender task and the dialect's state for it."""

    def __init__(self, connection: ServerConnection, number: int) -> None:
        self.connection = connection
        self.number = number
        self.outbox: deque[bytes] = deque()
        self.wakeup = asyncio.Event()
        self.sender: asyncio.Task[None] | None = None
        self.received: deque[float] = deque()
        self.last_sent = time.monotonic()
        self.timers: list[asyncio.TimerHandle] = []
        self.closing = False

    def push(self, frame: bytes) -> None:
        """Queue ``frame`` for the sender task."""
        self.outbox.append(frame)
        self.last_sent = time.monotonic()
        self.wakeup.set()


class DialectServer:
    """A venue dialect served over loopback from a seeded ``RandomWalkMarket`` (or ``market``).

    Fault probabilities are per market step, drawn from a generator of their own (seeded by
    ``fault_seed``, default ``seed + 1``), so faults never change the market's path. A given
    ``market`` must hold every served symbol's internal symbol (ValueError naming the missing
    ones); its frames of other symbols are not served. Stepping stops for good once the
    market is ``finished`` (the end of a recording).
    """

    def __init__(
        self,
        symbols: Sequence[VenueSymbol],
        *,
        seed: int,
        rate: float,
        host: str,
        port: int,
        heartbeat_interval: float,
        max_incoming_per_second: int,
        drop_prob: float,
        garbage_prob: float,
        silence_prob: float,
        silence_seconds: float,
        fault_seed: int | None,
        params: MarketParams | None,
        max_outbox: int = 100_000,
        market: MarketSource | None = None,
    ) -> None:
        for name, value in (
            ("drop_prob", drop_prob),
            ("garbage_prob", garbage_prob),
            ("silence_prob", silence_prob),
        ):
            check_probability(name, value)
        if rate < 0:
            raise ValueError(f"rate must not be negative, was {rate}")
        if heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval must be positive, was {heartbeat_interval}")
        if max_incoming_per_second < 1:
            raise ValueError(f"max_incoming_per_second must be at least 1, was {max_incoming_per_second}")
        self.symbols = tuple(symbols)
        self._by_venue = {s.venue: s for s in self.symbols}
        self._by_internal = {s.internal: s for s in self.symbols}
        self.params = params if params is not None else MarketParams()
        self.market = _served_market(self.symbols, market, seed, self.params)
        self.price_places = places(self.params.tick_size)
        self.qty_places = places(self.params.lot_size)
        self.host = host
        self._requested_port = port
        self._rate = rate
        self.heartbeat_interval = heartbeat_interval
        self._max_incoming = max_incoming_per_second
        self._max_outbox = max_outbox
        self.faults = random.Random(seed + 1 if fault_seed is None else fault_seed)
        self._drop_prob = drop_prob
        self._garbage_prob = garbage_prob
        self._silence_prob = silence_prob
        self._silence_seconds = silence_seconds
        self._silent_until = 0.0
        self._heartbeats_until = 0.0
        self._paused = False
        self.tapes = {s.venue: Tape() for s in self.symbols}
        self.tops = {s.venue: _top(self.market.book(s.internal)) for s in self.symbols}
        self.sessions: set[Session] = set()
        self.connections_opened = 0
        self.messages_received = 0
        self.garbage_sent = 0
        self.steps = 0
        self.port = 0
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: set[asyncio.Task[Any]] = set()

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> int:
        """Bind, start stepping the market, return the bound port (``port=0`` picks a free one)."""
        if self._server is not None:
            return self.port
        self._server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            ping_interval=20.0,
            ping_timeout=60.0,
            compression=None,
            max_size=2**16,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        generator = step_forever(
            self._rate,
            self._step,
            idle=lambda: self._paused or self.silent or self.market.finished,
            congested=self._congested,
        )
        self._tasks = [
            loop.create_task(generator, name=f"{type(self).__name__}-market"),
            loop.create_task(self._heartbeat_loop(), name=f"{type(self).__name__}-heartbeats"),
        ]
        _log.info("%s listening on ws://%s:%d", type(self).__name__, self.host, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop stepping and close every connection (code 1001)."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for task in list(self._closing):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # -- what tests observe -------------------------------------------------------------

    @property
    def connection_count(self) -> int:
        """Clients connected now."""
        return len(self.sessions)

    def book(self, symbol: str) -> BookView:
        """The venue's current book of ``symbol`` (venue form), to compare a client's against."""
        return self.market.book(self.venue_symbol(symbol).internal)

    def venue_symbol(self, symbol: str) -> VenueSymbol:
        """The venue symbol named ``symbol``; KeyError names it when it is not served."""
        try:
            return self._by_venue[symbol]
        except KeyError:
            raise KeyError(f"{symbol!r} is not served (serving {sorted(self._by_venue)})") from None

    def knows(self, symbol: object) -> bool:
        return isinstance(symbol, str) and symbol in self._by_venue

    @property
    def silent(self) -> bool:
        """True while nothing at all may be sent (``go_silent``)."""
        return time.monotonic() < self._silent_until

    @property
    def heartbeats_stopped(self) -> bool:
        return self.silent or time.monotonic() < self._heartbeats_until

    # -- stepping on demand ---------------------------------------------------------------

    def pause(self) -> None:
        """Stop stepping the market (connections stay open; heartbeats go on)."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def publish_step(self) -> bool:
        """Step the market once and publish that step now (meant for a paused server).

        Returns False, publishing nothing, once the market has nothing left (a recording at
        its end); True otherwise.
        """
        if self.market.finished:
            return False
        published = self._step(int(time.time() * 1000))
        return published or not self.market.finished

    # -- faults -------------------------------------------------------------------------

    def stop_heartbeats(self, seconds: float) -> None:
        """Send no heartbeats (only) for ``seconds``."""
        self._heartbeats_until = time.monotonic() + seconds

    def go_silent(self, seconds: float) -> None:
        """Send nothing at all for ``seconds`` (the market stands still); connections stay open."""
        self._silent_until = time.monotonic() + seconds

    def drop_connections(self) -> int:
        """Abort every client connection (TCP reset, no closing handshake); returns how many."""
        sessions = list(self.sessions)
        for session in sessions:
            session.outbox.clear()
            if session.sender is not None:
                session.sender.cancel()  # nothing more may be written to the aborted socket
            transport = session.connection.transport
            if transport is not None:
                transport.abort()
        _log.info("%s: dropped %d connection(s)", type(self).__name__, len(sessions))
        return len(sessions)

    def send_garbage(self, n: int = 1) -> None:
        """Send ``n`` malformed or unknown-type messages to every client."""
        variants = self._garbage()
        for session in list(self.sessions):
            for _ in range(n):
                session.push(variants[self.faults.randrange(len(variants))])
                self.garbage_sent += 1

    # -- for dialects -------------------------------------------------------------------

    def close_later(self, session: Session, code: int, reason: str) -> None:
        """Close ``session`` with ``code`` once what is queued for it is sent (in a task)."""
        session.closing = True

        async def close() -> None:
            for _ in range(200):
                if not session.outbox:
                    break
                await asyncio.sleep(0.005)
            await session.connection.close(code, reason)

        task = asyncio.get_running_loop().create_task(close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        return None

    def _on_open(self, session: Session) -> None:
        """A client connected (greet it, arm its timers)."""

    def _on_message(self, session: Session, message: str | bytes) -> None:
        raise NotImplementedError

    def _on_rate_exceeded(self, session: Session, message: str | bytes) -> bytes:
        """The error sent to a client that sent too many messages, before it is cut."""
        raise NotImplementedError

    def _on_close(self, session: Session) -> None:
        """A client went away."""

    def _publish(self, frames: list[MarketFrame], now_ms: int) -> None:
        raise NotImplementedError

    def _heartbeat(self, session: Session, now: float) -> None:
        """Maybe send ``session`` a heartbeat (``now`` is monotonic)."""

    def _garbage(self) -> list[bytes]:
        raise NotImplementedError

    def _random_faults(self, draw: random.Random) -> None:
        """The dialect's own faults at random, drawn after the shared ones each step."""

    # -- internals ----------------------------------------------------------------------

    def _congested(self) -> bool:
        return any(len(s.outbox) > self._max_outbox // 2 for s in self.sessions)

    def _step(self, now_ms: int) -> bool:
        """One market step published; True when it held a frame of a served symbol."""
        by_internal = self._by_internal
        frames = [frame for frame in self.market.step(now_ms) if frame.symbol in by_internal]
        self.steps += 1
        for frame in frames:
            venue = by_internal[frame.symbol].venue
            if frame.kind == TRADE:
                self.tapes[venue].record(frame.payload)
            elif frame.kind == BOOK_TICKER:
                p = frame.payload
                self.tops[venue] = (p["b"], p["B"], p["a"], p["A"])
        self._publish(frames, now_ms)
        draw = self.faults
        if self._garbage_prob and draw.random() < self._garbage_prob:
            self.send_garbage(1)
        if self._drop_prob and draw.random() < self._drop_prob:
            self.drop_connections()
        if self._silence_prob and draw.random() < self._silence_prob:
            self.go_silent(self._silence_seconds)
        self._random_faults(draw)
        return bool(frames)

    def internal_to_venue(self, internal: str) -> VenueSymbol:
        return self._by_internal[internal]

    async def _heartbeat_loop(self) -> None:
        tick = min(0.05, self.heartbeat_interval / 10)
        while True:
            await asyncio.sleep(tick)
            if self.heartbeats_stopped:
                continue
            now = time.monotonic()
            for session in list(self.sessions):
                if not session.closing:
                    self._heartbeat(session, now)

    async def _handle(self, connection: ServerConnection) -> None:
        self.connections_opened += 1
        session = Session(connection, self.connections_opened)
        self.sessions.add(session)
        loop = asyncio.get_running_loop()
        session.sender = loop.create_task(self._send(session), name=f"sim-sender-{session.number}")
        self._on_open(session)
        try:
            async for message in connection:
                self.messages_received += 1
                if session.closing:
                    continue
                if not self._allow_incoming(session):
                    _log.warning("%s: client %d sent too many messages", type(self).__name__, session.number)
                    session.push(self._on_rate_exceeded(session, message))
                    self.close_later(session, POLICY_VIOLATION, "Too many messages")
                    continue
                self._on_message(session, message)
        except ConnectionClosed:
            pass
        finally:
            self.sessions.discard(session)
            for timer in session.timers:
                timer.cancel()
            session.sender.cancel()
            self._on_close(session)

    async def _send(self, session: Session) -> None:
        connection, outbox, wakeup = session.connection, session.outbox, session.wakeup
        send_text = connection.protocol.send_text
        try:
            while True:
                if not outbox:
                    wakeup.clear()
                    await wakeup.wait()
                    continue
                if self.silent:
                    await asyncio.sleep(max(0.001, self._silent_until - time.monotonic()))
                    continue
                async with connection.send_context():
                    for _ in range(min(len(outbox), 512)):
                        send_text(outbox.popleft())
        except ConnectionClosed:
            pass

    def _allow_incoming(self, session: Session) -> bool:
        now = time.monotonic()
        received = session.received
        received.append(now)
        while received and received[0] <= now - 1.0:
            received.popleft()
        return len(received) <= self._max_incoming


def _served_market(
    symbols: Sequence[VenueSymbol], market: MarketSource | None, seed: int, params: MarketParams
) -> MarketSource:
    """``market``, checked to hold every served symbol, or a random walk of them seeded by ``seed``."""
    if market is None:
        return RandomWalkMarket([s.internal for s in symbols], seed, params)
    missing = [s for s in symbols if s.internal not in market.symbols]
    if missing:
        raise ValueError(
            f"the market holds no {', '.join(s.internal for s in missing)} to serve as"
            f" {', '.join(s.venue for s in missing)} (it holds {', '.join(market.symbols)})"
        )
    return market


def _top(view: BookView) -> tuple[str, str, str, str]:
    """Best bid, its size, best ask, its size; zeros for a book without both sides (a recording
    of trades only has no book until a depth frame comes)."""
    if not view.bids or not view.asks:
        return ("0", "0", "0", "0")
    (bid, bid_qty), (ask, ask_qty) = view.bids[0], view.asks[0]
    return (str(bid), str(bid_qty), str(ask), str(ask_qty))


def check_probability(name: str, value: float) -> None:
    """ValueError naming ``name`` unless ``value`` is within [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be within [0, 1], was {value}")
