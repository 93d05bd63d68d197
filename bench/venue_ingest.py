"""Market-data ingestion per venue dialect: parse and on_frame cost per frame, frames/s over loopback.

Binance, Coinbase and Kraken trade frames, Coinbase level2 and Kraken book update frames
(the Kraken feed verifying the CRC32 checksum of each), each read by the real feed on one
connection beside the bare ``websockets`` recv floor. A child process (its own core) serves
tapes rendered once by the simulators' own code and replayed as fast as the client reads:

* a trade tape cycles a few hundred trades of the random walk, each sent with the next id
  (and, for Coinbase, the next ``sequence_num``), so no feed drops one as a duplicate;
* a book tape walks the market forward then back to where it started, so it repeats
  forever and every update (and Kraken checksum) stays valid against the snapshot sent.

The handshakes are the simulators' own (Coinbase subscriptions and level2 snapshot, Kraken
status, acks, instrument list and book snapshot); only then does the tape start.
Run alone with ``python -m bench.venue_ingest``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, cast

import orjson
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from adapters.exchanges.binance.config import BinanceFeedConfig
from adapters.exchanges.binance.feed import BinanceMarketDataFeed
from adapters.exchanges.binance.parsing import parse_frame as parse_binance
from adapters.exchanges.coinbase.config import CoinbaseFeedConfig
from adapters.exchanges.coinbase.feed import CoinbaseMarketDataFeed
from adapters.exchanges.coinbase.parsing import parse_frame as parse_coinbase
from adapters.exchanges.kraken.config import KrakenFeedConfig
from adapters.exchanges.kraken.feed import KrakenMarketDataFeed
from adapters.exchanges.kraken.parsing import parse_message as parse_kraken
from adapters.exchanges.simulator import coinbase as coinbase_sim
from adapters.exchanges.simulator.coinbase import CoinbaseSimulator
from adapters.exchanges.simulator.dialect_server import DialectServer, Session, rfc3339
from adapters.exchanges.simulator.kraken import KrakenSimulator
from adapters.exchanges.simulator.kraken_book import DepthBook
from adapters.exchanges.simulator.market import TRADE, BookView
from adapters.exchanges.streaming import StreamingFeed
from adapters.system_clock import LiveClock
from bench.harness import Result, ns_per_call
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent

SUITE = "venue_ingest"
_WARM_UP = 0.5
_WINDOW = 2.5
_SEED = 7
_STEPS = 600
"""Market steps rendered: the book tapes walk them forward and back (2 × 600 updates at most)."""
_SEND_BATCH = 256
_MARK = b"\x00#\x00"
_NUMBERED = re.compile(rb'("(?:sequence_num|trade_id|t)":"?)\d+')

BINANCE_ID = InstrumentId("BTCUSDT.BINANCE")
COINBASE_ID = InstrumentId("BTC-USD.COINBASE")
KRAKEN_ID = InstrumentId("BTC-USD.KRAKEN")

Template = tuple[bytes, ...]
"""A frame split where its running number goes (trade id, sequence number): ``b"n".join``."""


def template(frame: bytes) -> Template:
    """``frame`` with every ``sequence_num``, ``trade_id`` and Binance ``t`` left to be numbered."""
    return tuple(_NUMBERED.sub(lambda match: match.group(1) + _MARK, frame).split(_MARK))


def render(frame: Template, number: int) -> bytes:
    return str(number).encode().join(frame)


@dataclass(frozen=True, slots=True)
class Tape:
    """Frames replayed in a cycle, each numbered by the connection's next number."""

    name: str
    frames: tuple[Template, ...]

    def numbered(self, numbers: Iterator[int]) -> Iterator[bytes]:
        for frame in itertools.cycle(self.frames):
            yield render(frame, next(numbers))


class _Capture:
    """Stands in for a simulator session: keeps what the simulator pushes."""

    def __init__(self) -> None:
        self.pushed: list[bytes] = []

    def push(self, frame: bytes) -> None:
        self.pushed.append(frame)


def _walk() -> tuple[list[dict[str, Any]], list[BookView]]:
    """Trades (Binance payloads) and book states of ``_STEPS`` steps of the seeded random walk."""
    market = KrakenSimulator(("BTC/USD",), seed=_SEED).market
    symbol = market.symbols[0]
    trades: list[dict[str, Any]] = []
    states = [market.book(symbol)]
    for step in range(_STEPS):
        for frame in market.step(1_700_000_000_000 + step * 100):
            if frame.kind == TRADE:
                trades.append(frame.payload)
        states.append(market.book(symbol))
    return trades, states


def _there_and_back(states: list[BookView]) -> list[BookView]:
    """The states after the first, then back down to the first: a cycle of updates."""
    return [*states[1:], *states[-2::-1]]


def _changes(old: list[tuple[Decimal, Decimal]], new: list[tuple[Decimal, Decimal]]) -> list[list[Decimal]]:
    before, after = dict(old), dict(new)
    changed = [[price, qty] for price, qty in after.items() if before.get(price) != qty]
    return changed + [[price, Decimal(0)] for price in before if price not in after]


def build_tapes() -> dict[str, Tape]:
    """Every tape, rendered by the simulators (about 0.2 s)."""
    trades, states = _walk()
    stamp = rfc3339(1_700_000_000_000_000_000, 6)
    binance = [
        template(b'{"stream":"btcusdt@trade","data":' + orjson.dumps(trade) + b"}") for trade in trades
    ]

    coinbase = CoinbaseSimulator(("BTC-USD",), seed=_SEED)
    capture, client = _Capture(), coinbase_sim._Client()
    session = cast(Session, capture)
    for trade in trades:
        event = {"type": "update", "trades": [coinbase._trade("BTC-USD", trade)]}
        coinbase._envelope(session, client, "market_trades", [event])
    coinbase_trades = [template(frame) for frame in capture.pushed]
    capture.pushed.clear()
    for old, new in itertools.pairwise([states[0], *_there_and_back(states)]):
        depth = {"b": _changes(old.bids, new.bids), "a": _changes(old.asks, new.asks)}
        if depth["b"] or depth["a"]:
            update = coinbase._l2_update("BTC-USD", depth, stamp)
            coinbase._envelope(session, client, "l2_data", [update])
    coinbase_l2 = [template(frame) for frame in capture.pushed]

    kraken = KrakenSimulator(("BTC/USD",), seed=_SEED)
    kraken_trades = [
        template(orjson.dumps({"channel": "trade", "type": "update", "data": [kraken._trade("BTC/USD", t)]}))
        for t in trades
    ]
    book = DepthBook(10, states[0])
    kraken_book: list[Template] = []
    for state in _there_and_back(states):
        bids, asks = book.advance(state)
        if bids or asks:
            frame = kraken._book_message(
                "update", "BTC/USD", bids=bids, asks=asks, book=book, timestamp=stamp
            )
            kraken_book.append((frame,))
    return {
        tape.name: tape
        for tape in (
            Tape("binance-trade", tuple(binance)),
            Tape("coinbase-trade", tuple(coinbase_trades)),
            Tape("coinbase-level2", tuple(coinbase_l2)),
            Tape("kraken-trade", tuple(kraken_trades)),
            Tape("kraken-book", tuple(kraken_book)),
        )
    }


def _sequence_numbers(client: coinbase_sim._Client) -> Iterator[int]:
    """The Coinbase connection's next ``sequence_num`` each time, shared with the simulator's messages."""
    while True:
        client.sequence += 1
        yield client.sequence - 1


# -- the tape server (child process) ----------------------------------------------------------


def _dialect(tape: str) -> tuple[DialectServer | None, Callable[[Session], bool]]:
    """A fresh simulator for the handshake of ``tape``'s venue, and when the tape may start."""
    if tape.startswith("coinbase"):
        channel = "level2" if tape.endswith("level2") else "market_trades"
        coinbase = CoinbaseSimulator(("BTC-USD",), seed=_SEED)
        return coinbase, lambda session: channel in coinbase._clients[session].subscriptions
    if tape.startswith("kraken"):
        kraken = KrakenSimulator(("BTC/USD",), seed=_SEED)
        if tape.endswith("book"):
            return kraken, lambda session: bool(kraken._clients[session].book)
        return kraken, lambda session: bool(kraken._clients[session].trade)
    return None, lambda session: True


async def _serve_connection(connection: ServerConnection, tapes: dict[str, Tape]) -> None:
    """``/raw/<tape>``: the tape at once. ``/feed/<tape>/...``: the venue's handshake, then the tape."""
    parts = connection.request.path.partition("?")[0].split("/") if connection.request else []
    if len(parts) < 3 or parts[1] not in ("raw", "feed") or parts[2] not in tapes:
        await connection.close(1008, "unknown path")
        return
    tape = tapes[parts[2]]
    server, ready = _dialect(tape.name) if parts[1] == "feed" else (None, lambda session: True)
    session = Session(connection, 1)
    numbers: Iterator[int] = itertools.count(1)
    if server is not None:
        server._on_open(session)
        if isinstance(server, CoinbaseSimulator):
            numbers = _sequence_numbers(server._clients[session])
    sender = asyncio.create_task(_send(connection, session, tape.numbered(numbers), ready))
    try:
        async for message in connection:
            if server is not None:
                server._on_message(session, message)
    except ConnectionClosed:
        pass
    finally:
        sender.cancel()
        for timer in session.timers:
            timer.cancel()


async def _send(
    connection: ServerConnection, session: Session, frames: Iterator[bytes], ready: Callable[[Session], bool]
) -> None:
    send_text, outbox = connection.protocol.send_text, session.outbox
    try:
        while True:
            streaming = ready(session)
            if not streaming and not outbox:
                session.wakeup.clear()
                await session.wakeup.wait()
                continue
            async with connection.send_context():
                while outbox:
                    send_text(outbox.popleft())
                if streaming:
                    for frame in itertools.islice(frames, _SEND_BATCH):
                        send_text(frame)
            await asyncio.sleep(0)  # let the subscribe messages in
    except ConnectionClosed:
        pass


async def _serve_tapes() -> None:
    """Child process: serve every tape on a free port, print it, run until stdin closes."""
    tapes = build_tapes()

    async def handler(connection: ServerConnection) -> None:
        await _serve_connection(connection, tapes)

    async with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


# -- the client side ----------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux ``/proc``), None where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True, slots=True)
class _Rate:
    per_second: float
    server_cpu: float | None
    """Share of one core the tape server used during the window."""


async def _measure(counter: Callable[[], int], server_pid: int) -> _Rate:
    await asyncio.sleep(_WARM_UP)
    count, start, cpu = counter(), time.perf_counter(), _cpu_seconds(server_pid)
    await asyncio.sleep(_WINDOW)
    elapsed, cpu_after = time.perf_counter() - start, _cpu_seconds(server_pid)
    share = None if cpu is None or cpu_after is None else (cpu_after - cpu) / elapsed
    return _Rate((counter() - count) / elapsed, share)


async def _raw_rate(port: int, tape: str, server_pid: int) -> _Rate:
    received = 0

    async def read() -> None:
        nonlocal received
        url = f"ws://127.0.0.1:{port}/raw/{tape}"
        # A short close: frames still queued keep the closing handshake waiting for its answer.
        connection = connect(url, compression=None, proxy=None, max_queue=256, close_timeout=0.2)
        async with connection as websocket:
            while True:
                await websocket.recv(decode=False)
                received += 1

    reader = asyncio.create_task(read())
    try:
        return await _measure(lambda: received, server_pid)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


class _Feed(Protocol):
    """What this suite uses of a venue feed (the three feeds share it without a common base)."""

    @property
    def duplicates(self) -> int: ...

    async def run(self, sink: Callable[[MarketEvent], None]) -> None: ...

    async def stop(self) -> None: ...

    def on_frame(self, raw: bytes, ts_init: int, link: Any) -> None: ...  # each venue has its link type


def _feeds(port: int) -> dict[str, Callable[[], _Feed]]:
    base = f"ws://127.0.0.1:{port}/feed"
    rng = random.Random(1)
    binance = BinanceFeedConfig(
        instrument_ids=(BINANCE_ID,),
        streams=("trade",),
        ws_url=f"{base}/binance-trade",
        rest_url=f"http://127.0.0.1:{port}",
        use_system_proxy=False,
        ping_interval=None,
    )

    def coinbase(channel: str, tape: str) -> CoinbaseMarketDataFeed:
        config = CoinbaseFeedConfig(
            instrument_ids=(COINBASE_ID,),
            channels=(channel,),
            ws_url=f"{base}/{tape}",
            rest_url=f"http://127.0.0.1:{port}",
            heartbeat_timeout=60.0,
            use_system_proxy=False,
        )
        return CoinbaseMarketDataFeed(config, LiveClock(), rng=rng)

    def kraken(channel: str, tape: str) -> KrakenMarketDataFeed:
        config = KrakenFeedConfig(
            instrument_ids=(KRAKEN_ID,),
            channels=(channel,),
            ws_url=f"{base}/{tape}",
            heartbeat_timeout=60.0,
            use_system_proxy=False,
        )
        return KrakenMarketDataFeed(config, LiveClock(), rng=rng)

    return {
        "Binance feed ingest, loopback (trades)": lambda: BinanceMarketDataFeed(
            binance, LiveClock(), rng=rng
        ),
        "Coinbase feed ingest, loopback (market_trades)": lambda: coinbase("market_trades", "coinbase-trade"),
        "Coinbase feed ingest, loopback (level2 updates)": lambda: coinbase("level2", "coinbase-level2"),
        "Kraken feed ingest, loopback (trades)": lambda: kraken("trade", "kraken-trade"),
        "Kraken feed ingest, loopback (book updates, checksummed)": lambda: kraken("book", "kraken-book"),
    }


def _integrity_faults(feed: _Feed) -> int:
    """Gaps, checksum failures, resubscriptions, malformed and duplicate frames (zero for a fair figure)."""
    faults = feed.duplicates
    if isinstance(feed, StreamingFeed):
        counters = feed.counters.values()
        faults += feed.malformed + sum(c.gaps + c.checksum_failures + c.resubscriptions for c in counters)
    return faults


async def _feed_rate(make: Callable[[], _Feed], server_pid: int) -> tuple[_Rate, int]:
    feed = make()
    emitted = 0

    def sink(_: object) -> None:
        nonlocal emitted
        emitted += 1

    task = asyncio.create_task(feed.run(sink))
    try:
        rate = await _measure(lambda: emitted, server_pid)
    finally:
        await feed.stop()
        await asyncio.wait_for(task, 5)
    return rate, _integrity_faults(feed)


RAW_FLOOR_TAPES = ("binance-trade", "kraken-book")
"""The floor is measured on the smallest and on the largest frames the feeds read."""


async def _rates(port: int, server_pid: int) -> list[Result]:
    results = []
    for tape in RAW_FLOOR_TAPES:
        rate = await _raw_rate(port, tape, server_pid)
        name = f"websockets recv alone, loopback ({tape} frames)"
        results.append(Result(SUITE, name, rate.per_second, "msg/s", _note(rate, 0)))
    for name, make in _feeds(port).items():
        rate, faults = await _feed_rate(make, server_pid)
        results.append(Result(SUITE, name, rate.per_second, "msg/s", _note(rate, faults)))
    return results


def _note(rate: _Rate, faults: int) -> str:
    cpu = "server CPU unknown" if rate.server_cpu is None else f"server CPU {rate.server_cpu:.0%} of a core"
    note = f"1 connection, {cpu}"
    if rate.server_cpu is not None and rate.server_cpu > 0.9:
        note += ", server may be the bottleneck"
    return note if not faults else f"{note}, {faults} gaps/checksum failures/drops: figure not valid"


# -- per-frame costs ---------------------------------------------------------------------------


def _sample(tapes: dict[str, Tape], name: str) -> bytes:
    return render(tapes[name].frames[0], 1)


def _parse_costs(tapes: dict[str, Tape]) -> list[Result]:
    binance_depth = (
        b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1672515782136,"s":"BTCUSDT",'
        b'"U":157,"u":161,"b":[["25123.45000000","1.20000000"],["25123.44000000","0.00000000"]],'
        b'"a":[["25123.46000000","0.50000000"]]}}'
    )
    cases: list[tuple[str, Callable[[bytes, int], object], bytes]] = [
        ("Binance trade", parse_binance, _sample(tapes, "binance-trade")),
        ("Binance depthUpdate 3 lvls", parse_binance, binance_depth),
        ("Coinbase market_trades", parse_coinbase, _sample(tapes, "coinbase-trade")),
        ("Coinbase level2 update", parse_coinbase, _sample(tapes, "coinbase-level2")),
        ("Kraken trade", parse_kraken, _sample(tapes, "kraken-trade")),
        ("Kraken book update", parse_kraken, _sample(tapes, "kraken-book")),
    ]

    def loop_of(parse: Callable[[bytes, int], object], raw: bytes) -> Callable[[int], None]:
        def loop(n: int) -> None:
            for _ in range(n):
                parse(raw, 1)

        return loop

    return [
        Result(SUITE, f"parse {name}", ns_per_call(loop_of(parse, raw), 5_000, repeat=5) / 1000, "µs/op")
        for name, parse, raw in cases
    ]


def _on_frame_cost(name: str, on_frame: Callable[..., None], frames: Iterator[bytes]) -> Result:
    batch = [next(frames) for _ in range(25_000)]
    position = 0

    def loop(n: int) -> None:
        nonlocal position
        for raw in batch[position : position + n]:
            on_frame(raw, 1, None)  # a live link is only needed to resubscribe
        position += n

    return Result(SUITE, f"feed.on_frame {name}", ns_per_call(loop, 5_000, repeat=5) / 1000, "µs/op")


def _handshake(tape: str) -> tuple[list[bytes], Iterator[int]]:
    """What the venue sends a feed subscribing ``tape``'s channel, and the tape's numbers after it."""
    session = _Capture()
    as_session = cast(Session, session)
    if tape.startswith("coinbase"):
        coinbase = CoinbaseSimulator(("BTC-USD",), seed=_SEED)
        client = coinbase._clients[as_session] = coinbase_sim._Client()
        channel = "level2" if tape.endswith("level2") else "market_trades"
        request = {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": channel}
        coinbase._on_message(as_session, orjson.dumps(request))
        return session.pushed, _sequence_numbers(client)
    if tape.startswith("kraken"):
        kraken = KrakenSimulator(("BTC/USD",), seed=_SEED)
        kraken._on_open(as_session)
        channel = "book" if tape.endswith("book") else "trade"
        for req_id, params in enumerate(
            ({"channel": "instrument"}, {"channel": channel, "symbol": ["BTC/USD"]})
        ):
            kraken._on_message(
                as_session, orjson.dumps({"method": "subscribe", "params": params, "req_id": req_id})
            )
    return session.pushed, itertools.count(1)


_ON_FRAME_CASES = (
    ("Binance trade", "binance-trade", "Binance feed ingest, loopback (trades)"),
    ("Coinbase market_trades", "coinbase-trade", "Coinbase feed ingest, loopback (market_trades)"),
    ("Coinbase level2 update", "coinbase-level2", "Coinbase feed ingest, loopback (level2 updates)"),
    ("Kraken trade", "kraken-trade", "Kraken feed ingest, loopback (trades)"),
    (
        "Kraken book update (checksum)",
        "kraken-book",
        "Kraken feed ingest, loopback (book updates, checksummed)",
    ),
)


def _on_frame_costs(tapes: dict[str, Tape]) -> list[Result]:
    """Each feed's per-frame work without the network, after the handshake frames its venue sends."""
    feeds = _feeds(9)  # never connected: on_frame is called directly
    results = []
    for label, tape, feed_name in _ON_FRAME_CASES:
        feed = feeds[feed_name]()
        greeting, numbers = _handshake(tape)
        for frame in greeting:
            feed.on_frame(frame, 1, None)
        results.append(_on_frame_cost(label, feed.on_frame, tapes[tape].numbered(numbers)))
        if _integrity_faults(feed):
            raise RuntimeError(f"the {tape} tape is not valid for its feed: {_integrity_faults(feed)} faults")
    return results


def run() -> list[Result]:
    tapes = build_tapes()
    results = [*_parse_costs(tapes), *_on_frame_costs(tapes)]
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.venue_ingest", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        results.extend(asyncio.run(_rates(port, child.pid)))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return results


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(_serve_tapes())
    else:
        for result in run():
            print(f"{result.name:<60} {result.value:>12,.2f} {result.unit}  {result.note}")
