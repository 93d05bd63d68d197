"""The faults the simulator injects so that a feed's recovery can be tested: dropped
connections, malformed frames, sequence gaps, silence and the venue's ``serverShutdown``.

Each is a method a test calls, and all but the shutdown may also happen at random, with a
probability per market step drawn from a generator of their own (so faults never change
the market's path).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import orjson

from adapters.exchanges.simulator.market import MarketSource
from adapters.exchanges.simulator.streams import StreamHub

_log = logging.getLogger(__name__)


class FaultInjector:
    """Breaks the simulator's streams on request, or at random around each market step."""

    def __init__(
        self,
        hub: StreamHub,
        market: MarketSource,
        *,
        seed: int,
        garbage_prob: float,
        gap_prob: float,
        drop_prob: float,
        silence_prob: float,
        silence_seconds: float,
        shutdown_grace: float,
    ) -> None:
        self._hub = hub
        self._market = market
        self._random = random.Random(seed)
        self._garbage_prob = garbage_prob
        self._gap_prob = gap_prob
        self._drop_prob = drop_prob
        self._silence_prob = silence_prob
        self._silence_seconds = silence_seconds
        self._shutdown_grace = shutdown_grace
        self._silent_until = 0.0
        self.garbage_sent = 0

    @property
    def silent(self) -> bool:
        """True while the simulator must send nothing (``go_silent``)."""
        return time.monotonic() < self._silent_until

    # -- on request ------------------------------------------------------------------------

    def drop_connections(self) -> int:
        """Cut every connection at the TCP level, no closing handshake; returns how many."""
        dropped = self._hub.abort_all()
        _log.info("exchange simulator: dropped %d connection(s)", dropped)
        return dropped

    def send_garbage(self, n: int = 1) -> None:
        """Send ``n`` malformed frames to every client (between valid ones)."""
        variants = _garbage(self._market.symbols[0])
        for client in list(self._hub.clients):
            for _ in range(n):
                client.push(variants[self._random.randrange(len(variants))])
                self.garbage_sent += 1

    def skip_sequence(self, symbol: str | None = None) -> None:
        """The next depth update (of ``symbol``, or of all) changes the book but is never sent."""
        self._market.skip_next_depth(symbol)

    def go_silent(self, seconds: float) -> None:
        """Send nothing (the market stands still) for ``seconds``; connections stay open."""
        self._silent_until = time.monotonic() + seconds

    def send_server_shutdown(self, close_after: float | None = None) -> int:
        """Send ``serverShutdown`` to every client, close each ``close_after`` s later; return how many."""
        grace = self._shutdown_grace if close_after is None else close_after
        event_time = int(time.time() * 1000)
        raw = orjson.dumps({"e": "serverShutdown", "E": event_time})
        combined = b'{"stream":"!serverShutdown","data":' + raw + b"}"
        hub = self._hub
        clients = list(hub.clients)
        loop = asyncio.get_running_loop()
        for client in clients:
            client.push(combined if client.combined else raw)
            loop.call_later(grace, hub.close_later, client, 1001, "server shutdown")
        return len(clients)

    # -- at random -------------------------------------------------------------------------

    def before_step(self) -> None:
        """Maybe hide the coming step's depth updates (a sequence gap)."""
        if self._gap_prob and self._random.random() < self._gap_prob:
            self._market.skip_next_depth(None)

    def after_step(self) -> None:
        """Maybe send garbage, drop every connection, go silent (drawn in that order)."""
        draw = self._random.random
        if self._garbage_prob and draw() < self._garbage_prob:
            self.send_garbage(1)
        if self._drop_prob and draw() < self._drop_prob:
            self.drop_connections()
        if self._silence_prob and draw() < self._silence_prob:
            _log.info("exchange simulator: going silent for %.1fs", self._silence_seconds)
            self.go_silent(self._silence_seconds)


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
