"""``KrakenSimulator``: the simulated market in Kraken's WebSocket v2 market-data dialect.

WebSocket on ``/v2`` only (any other path: HTTP 404). On connect a ``status`` message; then
requests ``{"method", "params", "req_id"}`` are each acknowledged (one ack per symbol of a
subscribe), channels ``book`` (with a CRC32 ``checksum`` on every message, each book kept at
the subscribed depth), ``trade``, ``ticker`` and ``instrument``; ``ping`` gets a ``pong``;
a ``heartbeat`` goes out about once per ``heartbeat_interval`` when nothing else did. Prices
and quantities are JSON numbers written as a float prints them (``30000.1``, ``0.5``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from decimal import Decimal
from http import HTTPStatus
from typing import Any, NamedTuple

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from adapters.exchanges.simulator.dialect_server import DialectServer, Session, check_probability, rfc3339
from adapters.exchanges.simulator.kraken_book import DEPTHS, DepthBook, Level, book_checksum
from adapters.exchanges.simulator.market import (
    BOOK_TICKER,
    DEPTH,
    TRADE,
    MarketFrame,
    MarketParams,
    MarketSource,
)
from adapters.exchanges.simulator.venue_symbols import parse_venue_symbols, shortest

__all__ = ["CHANNELS", "KrakenSimulator"]

CHANNELS = ("book", "trade", "ticker", "instrument")
_SYMBOL_CHANNELS = ("book", "trade", "ticker")
_SNAPSHOT_DEFAULT = {"book": True, "trade": False, "ticker": True, "instrument": True}
_TRIGGERS = ("trades", "bbo")


def number(value: Decimal) -> orjson.Fragment:
    """``value`` as a JSON number in shortest form (exact: never through a float)."""
    return orjson.Fragment(shortest(value).encode())


class _Client:
    """A connection's Kraken subscriptions: book depth, ticker trigger per symbol, trades, instruments."""

    __slots__ = ("book", "instrument", "ticker", "trade")

    def __init__(self) -> None:
        self.book: dict[str, int] = {}
        self.trade: set[str] = set()
        self.ticker: dict[str, str] = {}
        self.instrument = False

    @property
    def subscribed(self) -> bool:
        return bool(self.book or self.trade or self.ticker or self.instrument)


class _Request(NamedTuple):
    """Who asked (and when) for the acks of one subscribe or unsubscribe."""

    session: Session
    client: _Client
    method: str
    req_id: int | None
    time_in: str


class KrakenSimulator(DialectServer):
    """Serves ``symbols`` (``BTC/USD``...) the way Kraken v2 does; ``await start()`` returns the port.

    ``BTC/USD`` walks exactly like the Binance dialect's ``BTCUSDT`` with the same seed. With
    ``market`` (a ``RecordedMarket`` of Binance-style frames), ``BTC/USD`` replays its
    ``BTCUSDT`` frames instead: trades on the ``trade`` channel, depth diffs on ``book``.
    """

    def __init__(
        self,
        symbols: Sequence[str] = ("BTC/USD", "ETH/USD"),
        *,
        seed: int = 7,
        rate: float = 50.0,
        heartbeat_interval: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        max_incoming_per_second: int = 20,
        p_corrupt_checksum: float = 0.0,
        p_drop_update: float = 0.0,
        p_drop: float = 0.0,
        p_garbage: float = 0.0,
        p_silence: float = 0.0,
        silence_seconds: float = 2.0,
        fault_seed: int | None = None,
        params: MarketParams | None = None,
        market: MarketSource | None = None,
    ) -> None:
        check_probability("p_corrupt_checksum", p_corrupt_checksum)
        check_probability("p_drop_update", p_drop_update)
        super().__init__(
            parse_venue_symbols(symbols, "/"),
            seed=seed,
            rate=rate,
            host=host,
            port=port,
            heartbeat_interval=heartbeat_interval,
            max_incoming_per_second=max_incoming_per_second,
            drop_prob=p_drop,
            garbage_prob=p_garbage,
            silence_prob=p_silence,
            silence_seconds=silence_seconds,
            fault_seed=fault_seed,
            params=params,
            market=market,
        )
        self._p_corrupt = p_corrupt_checksum
        self._p_drop_update = p_drop_update
        self._clients: dict[Session, _Client] = {}
        self._books: dict[tuple[str, int], DepthBook] = {}
        self._corrupt: set[str] = set()
        self._drop: set[str] = set()
        self._connection_ids = random.Random(seed)

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v2"

    def subscriptions(self) -> list[dict[str, list[str]]]:
        """Each connected client's channels and their symbols (sorted), in connection order;
        ``instrument`` (when subscribed) lists no symbol."""
        held = []
        for _, client in sorted(self._clients.items(), key=lambda item: item[0].number):
            channels = {
                "book": sorted(client.book),
                "ticker": sorted(client.ticker),
                "trade": sorted(client.trade),
            }
            channels = {channel: symbols for channel, symbols in channels.items() if symbols}
            if client.instrument:
                channels["instrument"] = []
            held.append(dict(sorted(channels.items())))
        return held

    # -- faults -------------------------------------------------------------------------

    def corrupt_checksum(self, symbol: str | None = None) -> None:
        """The next book message of ``symbol`` (of every symbol if None) carries a wrong checksum."""
        self._corrupt.update(self._named(symbol))

    def drop_update(self, symbol: str | None = None) -> None:
        """The next book update of ``symbol`` (of every symbol if None) is silently not sent."""
        self._drop.update(self._named(symbol))

    def _named(self, symbol: str | None) -> list[str]:
        return [s.venue for s in self.symbols] if symbol is None else [self.venue_symbol(symbol).venue]

    def _random_faults(self, draw: random.Random) -> None:
        if self._p_corrupt and draw.random() < self._p_corrupt:
            self.corrupt_checksum()
        if self._p_drop_update and draw.random() < self._p_drop_update:
            self.drop_update()

    def _garbage(self) -> list[bytes]:
        symbol = self.symbols[0].venue
        return [
            b"this is not json",
            b"[1, 2, 3]",
            b'{"channel":"book","type":"update","data":"garbage"}',
            b'{"channel":"no_such_channel","type":"update","data":[]}',
            f'{{"channel":"trade","type":"update","data":[{{"symbol":"{symbol}","side":"buy","price":"x"}}]}}'.encode(),
            f'{{"channel":"book","type":"update","data":[{{"symbol":"{symbol}","bids":[{{"price":-1}}]}}]}}'.encode(),
        ]

    # -- connections --------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.partition("?")[0] != "/v2":
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        return None

    def _on_open(self, session: Session) -> None:
        self._clients[session] = _Client()
        connection_id = self._connection_ids.getrandbits(63)
        status = {"api_version": "v2", "connection_id": connection_id, "system": "online", "version": "2.0.0"}
        session.push(orjson.dumps({"channel": "status", "type": "update", "data": [status]}))

    def _on_close(self, session: Session) -> None:
        self._clients.pop(session, None)

    def _on_rate_exceeded(self, session: Session, message: str | bytes) -> bytes:
        time_in = _now()
        ack: dict[str, Any] = {"error": "Exceeded msg rate", "success": False}
        request = _object(message)
        if request is not None and isinstance(request.get("method"), str):
            ack["method"] = request["method"]
        ack |= {"time_in": time_in, "time_out": _now()}
        if request is not None and "req_id" in request:
            ack["req_id"] = request["req_id"]
        return orjson.dumps(ack)

    def _heartbeat(self, session: Session, now: float) -> None:
        client = self._clients.get(session)
        if client is not None and client.subscribed and now - session.last_sent >= self.heartbeat_interval:
            session.push(b'{"channel":"heartbeat"}')

    def _on_message(self, session: Session, message: str | bytes) -> None:
        client = self._clients.get(session)
        if client is None:
            return
        time_in = _now()
        request = _object(message)
        if request is None:
            self._ack(session, time_in, None, None, error="Malformed request: not a JSON object")
            return
        method, req_id = request.get("method"), request.get("req_id")
        if req_id is not None and (not isinstance(req_id, int) or isinstance(req_id, bool)):
            self._ack(session, time_in, method, None, error="req_id must be an integer")
        elif method == "ping":
            pong: dict[str, Any] = {"method": "pong"}
            if req_id is not None:
                pong["req_id"] = req_id
            session.push(orjson.dumps(pong | {"time_in": time_in, "time_out": _now()}))
        elif method in ("subscribe", "unsubscribe"):
            self._subscription(session, client, method, request.get("params"), req_id=req_id, time_in=time_in)
        else:
            self._ack(session, time_in, method, req_id, error=f"Method not supported: {method!r}")

    def _subscription(
        self,
        session: Session,
        client: _Client,
        method: str,
        params: object,
        *,
        req_id: int | None,
        time_in: str,
    ) -> None:
        def fail(error: str) -> None:
            self._ack(session, time_in, method, req_id, error=error)

        if not isinstance(params, dict):
            return fail("params must be an object")
        channel = params.get("channel")
        if channel not in CHANNELS:
            return fail(f"Channel not supported: {channel!r} (supported: {', '.join(CHANNELS)})")
        snapshot = params.get("snapshot", _SNAPSHOT_DEFAULT[channel])
        if not isinstance(snapshot, bool):
            return fail("snapshot must be true or false")
        if channel == "instrument":
            client.instrument = method == "subscribe"
            result: dict[str, Any] = {"channel": "instrument"}
            if method == "subscribe":
                result["snapshot"] = snapshot
            self._ack(session, time_in, method, req_id, result=result)
            if method == "subscribe" and snapshot:
                session.push(orjson.dumps(self._instruments()))
            return None
        symbols = params.get("symbol")
        if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
            return fail("symbol must be a non-empty list of pairs like BTC/USD")
        depth = params.get("depth", 10)
        if channel == "book" and (not isinstance(depth, int) or depth not in DEPTHS):
            return fail(f"Invalid depth {depth!r}: must be one of {', '.join(map(str, DEPTHS))}")
        trigger = params.get("event_trigger", "trades")
        if channel == "ticker" and trigger not in _TRIGGERS:
            return fail(f"Invalid event_trigger {trigger!r}: must be trades or bbo")
        request = _Request(session, client, method, req_id, time_in)
        for symbol in symbols:
            if not self.knows(symbol):
                self._ack(
                    session,
                    time_in,
                    method,
                    req_id,
                    error=f"Currency pair not supported {symbol}",
                    symbol=symbol,
                )
            elif method == "subscribe":
                self._subscribe(request, channel, symbol, depth=depth, trigger=trigger, snapshot=snapshot)
            else:
                self._unsubscribe(request, channel, symbol)
        return None

    def _subscribe(
        self, request: _Request, channel: str, symbol: str, *, depth: int, trigger: str, snapshot: bool
    ) -> None:
        session, client = request.session, request.client
        held: dict[str, Any] | set[str] = getattr(client, channel)
        if symbol in held:
            self._ack(
                session,
                request.time_in,
                "subscribe",
                request.req_id,
                error="Already subscribed",
                symbol=symbol,
            )
            return
        result: dict[str, Any] = {"channel": channel}
        if channel == "book":
            client.book[symbol] = depth
            result["depth"] = depth
        elif channel == "ticker":
            client.ticker[symbol] = trigger
            result["event_trigger"] = trigger
        else:
            client.trade.add(symbol)
        result |= {"snapshot": snapshot, "symbol": symbol}
        self._ack(session, request.time_in, "subscribe", request.req_id, result=result)
        if snapshot:
            self._send_snapshot(session, channel, symbol, depth)

    def _unsubscribe(self, request: _Request, channel: str, symbol: str) -> None:
        session, client = request.session, request.client
        held: dict[str, Any] | set[str] = getattr(client, channel)
        if symbol not in held:
            error = "Subscription Not Found"
            self._ack(session, request.time_in, "unsubscribe", request.req_id, error=error, symbol=symbol)
            return
        if isinstance(held, set):
            held.discard(symbol)
        else:
            held.pop(symbol)
        result = {"channel": channel, "symbol": symbol}
        self._ack(session, request.time_in, "unsubscribe", request.req_id, result=result)

    def _ack(
        self,
        session: Session,
        time_in: str,
        method: object,
        req_id: int | None,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        symbol: str | None = None,
    ) -> None:
        ack: dict[str, Any] = {}
        if error is not None:
            ack["error"] = error
        if isinstance(method, str):
            ack["method"] = method
        if result is not None:
            ack["result"] = result
        if symbol is not None:
            ack["symbol"] = symbol
        ack |= {"success": error is None, "time_in": time_in, "time_out": _now()}
        if req_id is not None:
            ack["req_id"] = req_id
        session.push(orjson.dumps(ack))

    def _send_snapshot(self, session: Session, channel: str, symbol: str, depth: int) -> None:
        now = _now()
        if channel == "book":
            book = self._books.get((symbol, depth))
            if book is None:
                book = self._books[symbol, depth] = DepthBook(depth, self.book(symbol))
            bids, asks = book.sides()
            session.push(
                self._book_message("snapshot", symbol, bids=bids, asks=asks, book=book, timestamp=now)
            )
        elif channel == "trade":
            trades = [self._trade(symbol, t) for t in self.tapes[symbol].recent]
            session.push(orjson.dumps({"channel": "trade", "type": "snapshot", "data": trades}))
        else:
            session.push(
                orjson.dumps({"channel": "ticker", "type": "snapshot", "data": [self._ticker(symbol)]})
            )

    # -- publishing ---------------------------------------------------------------------

    def _publish(self, frames: list[MarketFrame], now_ms: int) -> None:
        if not self._clients:
            self._books.clear()
            return
        timestamp = rfc3339(now_ms * 1_000_000, 6)
        trades: dict[str, list[dict[str, Any]]] = {}
        moved: set[str] = set()
        top_changed: set[str] = set()
        for frame in frames:
            symbol = self.internal_to_venue(frame.symbol).venue
            if frame.kind == TRADE:
                trades.setdefault(symbol, []).append(self._trade(symbol, frame.payload))
            elif frame.kind == DEPTH:
                moved.add(symbol)
            elif frame.kind == BOOK_TICKER:
                top_changed.add(symbol)
        sessions = [(s, c) for s, c in self._clients.items() if not s.closing]
        self._publish_books(sessions, moved, timestamp)
        for symbol, batch in trades.items():
            message = orjson.dumps({"channel": "trade", "type": "update", "data": batch})
            for session, client in sessions:
                if symbol in client.trade:
                    session.push(message)
        for symbol in self.tapes:
            if symbol not in trades and symbol not in top_changed:
                continue
            message = orjson.dumps({"channel": "ticker", "type": "update", "data": [self._ticker(symbol)]})
            for session, client in sessions:
                trigger = client.ticker.get(symbol)
                if (trigger == "trades" and symbol in trades) or (trigger == "bbo" and symbol in top_changed):
                    session.push(message)

    def _publish_books(
        self, sessions: list[tuple[Session, _Client]], moved: set[str], timestamp: str
    ) -> None:
        wanted = {(symbol, depth) for _, client in sessions for symbol, depth in client.book.items()}
        for key in [key for key in self._books if key not in wanted]:
            del self._books[key]
        dropped: set[str] = set()
        for (symbol, depth), book in self._books.items():
            if symbol not in moved:
                continue
            bids, asks = book.advance(self.book(symbol))
            if not bids and not asks:
                continue
            if symbol in self._drop:
                dropped.add(symbol)
                continue
            message = self._book_message(
                "update", symbol, bids=bids, asks=asks, book=book, timestamp=timestamp
            )
            for session, client in sessions:
                if client.book.get(symbol) == depth:
                    session.push(message)
        self._drop -= dropped

    def _book_message(
        self, kind: str, symbol: str, *, bids: list[Level], asks: list[Level], book: DepthBook, timestamp: str
    ) -> bytes:
        held_bids, held_asks = book.sides()
        checksum = book_checksum(held_asks, held_bids, self.price_places, self.qty_places)
        if symbol in self._corrupt:
            self._corrupt.discard(symbol)
            checksum ^= 0x5A5A5A5A
        data = {
            "symbol": symbol,
            "bids": [{"price": number(p), "qty": number(q)} for p, q in bids],
            "asks": [{"price": number(p), "qty": number(q)} for p, q in asks],
            "checksum": checksum,
            "timestamp": timestamp,
        }
        return orjson.dumps({"channel": "book", "type": kind, "data": [data]})

    # -- payloads -----------------------------------------------------------------------

    def _trade(self, symbol: str, trade: dict[str, Any]) -> dict[str, Any]:
        # Binance's ``m``: the buyer was the maker, so the taker sold. Kraken's ``side`` is the taker's.
        return {
            "symbol": symbol,
            "side": "sell" if trade["m"] else "buy",
            "price": number(Decimal(trade["p"])),
            "qty": number(Decimal(trade["q"])),
            "ord_type": "market",
            "trade_id": int(trade["t"]),
            "timestamp": rfc3339(int(trade["T"]) * 1_000_000, 6),
        }

    def _ticker(self, symbol: str) -> dict[str, Any]:
        tape = self.tapes[symbol]
        bid, bid_qty, ask, ask_qty = (Decimal(v) for v in self.tops[symbol])
        last = tape.last if tape.last is not None else bid
        vwap = tape.vwap
        return {
            "symbol": symbol,
            "bid": number(bid),
            "bid_qty": number(bid_qty),
            "ask": number(ask),
            "ask_qty": number(ask_qty),
            "last": number(last),
            "volume": number(tape.volume),
            "vwap": number(last if vwap is None else vwap.quantize(self.params.tick_size)),
            "low": number(last if tape.low is None else tape.low),
            "high": number(last if tape.high is None else tape.high),
            "change": number(tape.change),
            "change_pct": number(tape.change_pct),
            "timestamp": _now(),
        }

    def _instruments(self) -> dict[str, Any]:
        tick, lot = self.params.tick_size, self.params.lot_size
        assets = dict.fromkeys(asset for s in self.symbols for asset in (s.base, s.quote))
        return {
            "channel": "instrument",
            "type": "snapshot",
            "data": {
                "assets": [
                    {
                        "id": asset,
                        "status": "enabled",
                        "precision": 10,
                        "precision_display": 5,
                        "borrowable": False,
                        "collateral_value": number(Decimal(1)),
                        "margin_rate": number(Decimal(0)),
                    }
                    for asset in assets
                ],
                "pairs": [
                    {
                        "symbol": s.venue,
                        "base": s.base,
                        "quote": s.quote,
                        "status": "online",
                        "qty_precision": self.qty_places,
                        "qty_increment": number(lot),
                        "price_precision": self.price_places,
                        "cost_precision": 5,
                        "marginable": False,
                        "has_index": True,
                        "cost_min": number(Decimal("0.5")),
                        "tick_size": number(tick),
                        "price_increment": number(tick),
                        "qty_min": number(lot),
                    }
                    for s in self.symbols
                ],
            },
        }


def _now() -> str:
    return rfc3339(time.time_ns(), 6)


def _object(message: str | bytes) -> dict[str, Any] | None:
    try:
        request = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    return request if isinstance(request, dict) else None
