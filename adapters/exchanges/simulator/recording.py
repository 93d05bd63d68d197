"""Recordings: JSON lines of combined-stream frames, written by the simulator or from a live feed.

Each line is one frame exactly as sent, ``{"stream": "btcusdt@trade", "data": {...}}``. Lines
whose stream is ``<symbol>@depthSnapshot`` carry a REST depth body (``lastUpdateId``, ``bids``,
``asks``); they are never sent to clients, they seed the book the replaying simulator serves
on ``/api/v3/depth``. Without one, a symbol's book starts empty just before its first diff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import orjson
from websockets.asyncio.client import connect

from adapters.exchanges.simulator.market import BOOK_TICKER, DEPTH, TRADE, BookView, MarketFrame

SNAPSHOT_KIND = "depthSnapshot"
_KINDS = {"trade": TRADE, "bookTicker": BOOK_TICKER, "depth": DEPTH, "depth@100ms": DEPTH}


def _split(stream: str) -> tuple[str, str]:
    symbol, _, kind = stream.partition("@")
    return symbol.upper(), kind


class FrameRecorder:
    """Appends frames to a JSON-lines file; use as a context manager or call ``close``."""

    def __init__(self, path: str | Path) -> None:
        self._file: IO[bytes] = Path(path).open("wb")  # noqa: SIM115 - closed by close()/__exit__
        self.frames = 0

    def write(self, stream: str, payload: dict[str, Any]) -> None:
        self._file.write(orjson.dumps({"stream": stream, "data": payload}) + b"\n")
        self.frames += 1

    def write_frame(self, frame: MarketFrame) -> None:
        """A market frame under its canonical stream name (depth frames as ``<symbol>@depth``)."""
        self.write(f"{frame.symbol.lower()}@{frame.kind}", frame.payload)

    def write_snapshot(self, symbol: str, body: dict[str, Any]) -> None:
        self.write(f"{symbol.lower()}@{SNAPSHOT_KIND}", body)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FrameRecorder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class _ReplayBook:
    """The book a replay serves on REST: seeded by snapshot lines, moved by the diffs replayed."""

    def __init__(self) -> None:
        self.last_update_id = 0
        self.bids: dict[Decimal, tuple[str, str]] = {}
        self.asks: dict[Decimal, tuple[str, str]] = {}

    def load(self, body: dict[str, Any]) -> None:
        self.last_update_id = int(body["lastUpdateId"])
        self.bids = {Decimal(p): (p, q) for p, q in body["bids"]}
        self.asks = {Decimal(p): (p, q) for p, q in body["asks"]}

    def apply(self, payload: dict[str, Any]) -> None:
        if payload["u"] <= self.last_update_id:
            return
        if not self.last_update_id:
            self.last_update_id = payload["U"] - 1
        for side, levels in ((self.bids, payload["b"]), (self.asks, payload["a"])):
            for price, size in levels:
                if Decimal(size) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = (price, size)
        self.last_update_id = payload["u"]

    def body(self, limit: int) -> dict[str, Any]:
        bids = [list(self.bids[p]) for p in sorted(self.bids, reverse=True)[:limit]]
        asks = [list(self.asks[p]) for p in sorted(self.asks)[:limit]]
        return {"lastUpdateId": self.last_update_id, "bids": bids, "asks": asks}

    def view(self) -> BookView:
        return BookView(
            self.last_update_id,
            [(p, Decimal(self.bids[p][1])) for p in sorted(self.bids, reverse=True)],
            [(p, Decimal(self.asks[p][1])) for p in sorted(self.asks)],
        )


class RecordedMarket:
    """A market source that replays a recording, one frame per step, then is ``finished``.

    Offers the same methods as RandomWalkMarket (``step``, ``snapshot``, ``skip_next_depth``,
    ``book``) so the simulator serves either. Frames of streams it does not know are skipped.
    """

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        symbols: dict[str, None] = {}
        for stream, _payload in self._lines():
            symbols.setdefault(_split(stream)[0], None)
        if not symbols:
            raise ValueError(f"recording {self._path} holds no frames")
        self.symbols = tuple(symbols)
        self._books = {symbol: _ReplayBook() for symbol in self.symbols}
        self._skip: set[str] = set()
        self._lines_left: Iterator[tuple[str, dict[str, Any]]] = self._lines()
        self.finished = False

    def _lines(self) -> Iterator[tuple[str, dict[str, Any]]]:
        with self._path.open("rb") as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                try:
                    frame = orjson.loads(line)
                    stream, payload = frame["stream"], frame["data"]
                except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                    raise ValueError(f"{self._path}:{number} is not a combined-stream frame: {exc}") from None
                yield stream, payload

    def step(self, now_ms: int) -> list[MarketFrame]:
        """The next recorded frame (after any snapshot lines before it); [] once finished."""
        for stream, payload in self._lines_left:
            symbol, kind = _split(stream)
            if kind == SNAPSHOT_KIND:
                self._books[symbol].load(payload)
                continue
            market_kind = _KINDS.get(kind)
            if market_kind is None:
                continue
            if market_kind == DEPTH:
                self._books[symbol].apply(payload)
                if symbol in self._skip:
                    self._skip.discard(symbol)
                    continue
            return [MarketFrame(symbol, market_kind, payload)]
        self.finished = True
        return []

    def snapshot(self, symbol: str, limit: int) -> dict[str, Any]:
        return self._books[symbol].body(limit)

    def skip_next_depth(self, symbol: str | None = None) -> None:
        self._skip.update(self.symbols if symbol is None else (symbol,))

    def book(self, symbol: str) -> BookView:
        return self._books[symbol].view()


async def record_stream(
    url: str,
    path: str | Path,
    *,
    duration: float,
    max_frames: int | None = None,
    snapshot_url: str | None = None,
    symbols: tuple[str, ...] = (),
    depth_limit: int = 1000,
) -> int:
    """Record a combined-stream endpoint (the venue or a simulator) into ``path``; returns frames written.

    With ``snapshot_url`` (a REST base such as ``https://api.binance.com``) a depth snapshot of
    each of ``symbols`` is fetched once the stream is open and written as a seed line, so the
    replay can serve a book that matches the recorded diffs.
    """
    written = 0
    with FrameRecorder(path) as recorder:
        async with connect(url, compression=None, max_size=2**24) as websocket:
            if snapshot_url is not None:
                async with httpx.AsyncClient(base_url=snapshot_url, timeout=10) as http:
                    for symbol in symbols:
                        response = await http.get(
                            "/api/v3/depth", params={"symbol": symbol, "limit": depth_limit}
                        )
                        response.raise_for_status()
                        recorder.write_snapshot(symbol, orjson.loads(response.content))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + duration
            while max_frames is None or written < max_frames:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    raw = await asyncio.wait_for(websocket.recv(decode=False), left)
                except TimeoutError:
                    break
                frame = orjson.loads(raw)
                if isinstance(frame, dict) and "stream" in frame and "data" in frame:
                    recorder.write(frame["stream"], frame["data"])
                    written += 1
    return written
