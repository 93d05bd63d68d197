"""``CoinbaseSimulator``: the simulated market in Coinbase Advanced Trade's market-data dialect.

WebSocket on any path: a client must ``subscribe`` within ``subscribe_deadline`` seconds, one
channel per message (``level2``, ``market_trades``, ``ticker``, ``heartbeats``), and send at
most ``max_incoming_per_second`` messages in any second, or it is told why and cut. Every
message but an error comes in the venue's envelope (``channel``, ``client_id``, ``timestamp``,
``sequence_num`` counting per connection across all channels, ``events``). REST
``GET /api/v3/brokerage/market/products/{product_id}`` on the same port. Prices and sizes are
decimal strings at the market's tick and lot.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from adapters.exchanges.simulator.dialect_server import (
    POLICY_VIOLATION,
    DialectServer,
    Session,
    check_probability,
    rfc3339,
)
from adapters.exchanges.simulator.market import DEPTH, TRADE, MarketFrame, MarketParams, MarketSource
from adapters.exchanges.simulator.rest import json_response
from adapters.exchanges.simulator.venue_symbols import fixed, parse_venue_symbols

__all__ = ["CHANNELS", "CoinbaseSimulator"]

CHANNELS = ("level2", "market_trades", "ticker", "heartbeats")
_PRODUCT_CHANNELS = ("level2", "market_trades", "ticker")
_PRODUCT_PATH = "/api/v3/brokerage/market/products/"
_EPOCH = "1970-01-01T00:00:00Z"


class _Client:
    """A connection's Coinbase state: subscriptions, sequence numbers, heartbeat counter."""

    __slots__ = ("heartbeat_counter", "next_heartbeat", "sequence", "skip", "subscribed", "subscriptions")

    def __init__(self) -> None:
        self.subscriptions: dict[str, set[str]] = {}
        self.sequence = 0
        self.skip = False
        self.subscribed = False
        self.heartbeat_counter = 0
        self.next_heartbeat = 0.0


class CoinbaseSimulator(DialectServer):
    """Serves ``products`` (``BTC-USD``...) the way Coinbase does; ``await start()`` returns the port.

    ``BTC-USD`` walks exactly like the Binance dialect's ``BTCUSDT`` with the same seed. With
    ``market`` (a ``RecordedMarket`` of Binance-style frames), ``BTC-USD`` replays its
    ``BTCUSDT`` frames instead: trades as ``market_trades``, depth diffs as ``level2`` updates.
    """

    def __init__(
        self,
        products: Sequence[str] = ("BTC-USD", "ETH-USD"),
        *,
        seed: int = 7,
        rate: float = 50.0,
        heartbeat_interval: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        subscribe_deadline: float = 5.0,
        max_incoming_per_second: int = 8,
        p_skip_sequence: float = 0.0,
        p_drop: float = 0.0,
        p_garbage: float = 0.0,
        p_silence: float = 0.0,
        silence_seconds: float = 2.0,
        fault_seed: int | None = None,
        params: MarketParams | None = None,
        market: MarketSource | None = None,
    ) -> None:
        check_probability("p_skip_sequence", p_skip_sequence)
        if subscribe_deadline <= 0:
            raise ValueError(f"subscribe_deadline must be positive, was {subscribe_deadline}")
        super().__init__(
            parse_venue_symbols(products, "-"),
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
        self.subscribe_deadline = subscribe_deadline
        self._p_skip_sequence = p_skip_sequence
        self._clients: dict[Session, _Client] = {}

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def subscriptions(self) -> list[dict[str, list[str]]]:
        """Each connected client's channels and their products (sorted), in connection order."""
        clients = sorted(self._clients.items(), key=lambda item: item[0].number)
        return [
            {channel: sorted(products) for channel, products in sorted(client.subscriptions.items())}
            for _, client in clients
        ]

    def skip_sequence(self) -> None:
        """The next message on every open connection skips one ``sequence_num``."""
        for client in self._clients.values():
            client.skip = True

    # -- connections --------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.partition("?")[0]
        if not path.startswith(_PRODUCT_PATH):
            return None
        product = path[len(_PRODUCT_PATH) :]
        if not self.knows(product):
            body = {
                "error": "NOT_FOUND",
                "error_details": "ProductID is invalid",
                "message": "ProductID is invalid",
            }
            return json_response(connection, HTTPStatus.NOT_FOUND, body)
        return json_response(connection, HTTPStatus.OK, self.product(product))

    def product(self, product_id: str) -> dict[str, Any]:
        """The REST product body of ``product_id`` (increments from the market's tick and lot)."""
        symbol = self.venue_symbol(product_id)
        tape = self.tapes[product_id]
        price = tape.last if tape.last is not None else Decimal(self.tops[product_id][0])
        lot = fixed(self.params.lot_size, self.qty_places)
        return {
            "product_id": product_id,
            "price": self._price(price),
            "base_increment": lot,
            "quote_increment": fixed(self.params.tick_size, self.price_places),
            "base_min_size": lot,
            "base_max_size": "3400",
            "quote_min_size": "1",
            "quote_max_size": "150000000",
            "base_currency_id": symbol.base,
            "quote_currency_id": symbol.quote,
            "base_display_symbol": symbol.base,
            "quote_display_symbol": symbol.quote,
            "status": "online",
            "trading_disabled": False,
            "is_disabled": False,
            "cancel_only": False,
            "limit_only": False,
            "post_only": False,
            "product_type": "SPOT",
            "volume_24h": self._size(tape.volume),
        }

    def _on_open(self, session: Session) -> None:
        client = self._clients[session] = _Client()
        loop = asyncio.get_running_loop()

        def deadline() -> None:
            if not client.subscribed and not session.closing:
                self._error(session, f"no subscribe received within {self.subscribe_deadline:g}s")
                self.close_later(session, POLICY_VIOLATION, "subscribe deadline")

        session.timers.append(loop.call_later(self.subscribe_deadline, deadline))

    def _on_close(self, session: Session) -> None:
        self._clients.pop(session, None)

    def _on_rate_exceeded(self, session: Session, message: str | bytes) -> bytes:
        limit = self._max_incoming
        return orjson.dumps(
            {"type": "error", "message": f"rate limit exceeded: more than {limit} messages per second"}
        )

    def _on_message(self, session: Session, message: str | bytes) -> None:
        client = self._clients.get(session)
        if client is None:
            return None
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            return self._error(session, "message is not valid JSON")
        if not isinstance(request, dict):
            return self._error(session, "message must be a JSON object")
        kind = request.get("type")
        if kind not in ("subscribe", "unsubscribe"):
            return self._error(session, f"unknown message type {kind!r} (expected subscribe or unsubscribe)")
        if "channels" in request:
            return self._error(session, "use 'channel' (one channel per message), not 'channels'")
        channel = request.get("channel")
        if channel not in CHANNELS:
            if channel is None:
                return self._error(session, f"{kind} needs a 'channel'")
            return self._error(session, f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
        products = request.get("product_ids")
        if products is not None and (
            not isinstance(products, list) or not all(isinstance(p, str) for p in products)
        ):
            return self._error(session, "product_ids must be a list of product ids")
        unknown = [p for p in products or [] if not self.knows(p)]
        if unknown:
            return self._error(session, f"Failed to subscribe: unknown product id(s) {unknown}")
        if kind == "subscribe":
            if channel in _PRODUCT_CHANNELS and not products:
                return self._error(session, f"channel {channel!r} needs product_ids")
            self._subscribe(session, client, channel, products or [])
        else:
            self._unsubscribe(session, client, channel, products)
        return None

    def _subscribe(self, session: Session, client: _Client, channel: str, products: list[str]) -> None:
        client.subscribed = True
        subscribed = client.subscriptions.setdefault(channel, set())
        subscribed.update(products)
        self._send_subscriptions(session, client)
        if channel == "heartbeats":
            client.next_heartbeat = time.monotonic()
        elif channel == "level2":
            for product in dict.fromkeys(products):
                self._envelope(session, client, "l2_data", [self._l2_snapshot(product)])
        elif channel == "market_trades":
            trades = [self._trade(p, t) for p in dict.fromkeys(products) for t in self.tapes[p].recent]
            self._envelope(session, client, "market_trades", [{"type": "snapshot", "trades": trades[::-1]}])
        elif channel == "ticker":
            tickers = [self._ticker(p) for p in dict.fromkeys(products)]
            self._envelope(session, client, "ticker", [{"type": "snapshot", "tickers": tickers}])

    def _unsubscribe(
        self, session: Session, client: _Client, channel: str, products: list[str] | None
    ) -> None:
        if products is None:
            client.subscriptions.pop(channel, None)
        else:
            subscribed = client.subscriptions.get(channel, set())
            subscribed.difference_update(products)
            if not subscribed:
                client.subscriptions.pop(channel, None)
        self._send_subscriptions(session, client)

    def _send_subscriptions(self, session: Session, client: _Client) -> None:
        current = {channel: sorted(products) for channel, products in client.subscriptions.items()}
        self._envelope(session, client, "subscriptions", [{"subscriptions": current}])

    # -- publishing ---------------------------------------------------------------------

    def _publish(self, frames: list[MarketFrame], now_ms: int) -> None:
        if not self._clients:
            return
        event_time = rfc3339(now_ms * 1_000_000, 6)
        trades: dict[str, list[dict[str, Any]]] = {}
        updates: dict[str, dict[str, Any]] = {}
        for frame in frames:
            product = self.internal_to_venue(frame.symbol).venue
            if frame.kind == TRADE:
                trades.setdefault(product, []).append(self._trade(product, frame.payload))
            elif frame.kind == DEPTH:
                updates[product] = self._l2_update(product, frame.payload, event_time)
        tickers = {product: self._ticker(product) for product in trades}
        for session, client in list(self._clients.items()):
            if session.closing:
                continue
            subs = client.subscriptions
            wanted = subs.get("market_trades", ())
            batch = [t for product, ts in trades.items() if product in wanted for t in ts]
            if batch:
                self._envelope(session, client, "market_trades", [{"type": "update", "trades": batch}])
            for product in subs.get("level2", ()):
                if product in updates:
                    self._envelope(session, client, "l2_data", [updates[product]])
            wanted = subs.get("ticker", ())
            ticked = [ticker for product, ticker in tickers.items() if product in wanted]
            if ticked:
                self._envelope(session, client, "ticker", [{"type": "update", "tickers": ticked}])
        if self._p_skip_sequence and self.faults.random() < self._p_skip_sequence:
            self.skip_sequence()

    def _heartbeat(self, session: Session, now: float) -> None:
        client = self._clients.get(session)
        if client is None or "heartbeats" not in client.subscriptions or now < client.next_heartbeat:
            return
        client.next_heartbeat = max(client.next_heartbeat + self.heartbeat_interval, now)
        client.heartbeat_counter += 1
        ns = time.time_ns()
        current = rfc3339(ns, 9)[:-1].replace("T", " ") + " +0000 UTC"
        event = {"current_time": current, "heartbeat_counter": client.heartbeat_counter}
        self._envelope(session, client, "heartbeats", [event], ns)

    def _envelope(
        self,
        session: Session,
        client: _Client,
        channel: str,
        events: list[dict[str, Any]],
        ns: int | None = None,
    ) -> None:
        client.sequence += 2 if client.skip else 1
        client.skip = False
        message = {
            "channel": channel,
            "client_id": "",
            "timestamp": rfc3339(time.time_ns() if ns is None else ns, 9),
            "sequence_num": client.sequence - 1,
            "events": events,
        }
        session.push(orjson.dumps(message))

    def _error(self, session: Session, message: str) -> None:
        session.push(orjson.dumps({"type": "error", "message": message}))

    def _garbage(self) -> list[bytes]:
        product = self.symbols[0].venue
        return [
            b"this is not json",
            b"[1, 2, 3]",
            b'{"channel":"l2_data","client_id":"","events":"garbage"}',
            b'{"channel":"no_such_channel","client_id":"","events":[]}',
            f'{{"channel":"l2_data","client_id":"","events":[{{"type":"update","product_id":"{product}",'
            f'"updates":[{{"side":"bid","event_time":"x","price_level":"NaN","new_quantity":"1"}}]}}]}}'.encode(),
            b'{"type":"mystery"}',
        ]

    def _random_faults(self, draw: random.Random) -> None:
        return None

    # -- payloads -----------------------------------------------------------------------

    def _price(self, value: Decimal) -> str:
        return fixed(value, self.price_places)

    def _size(self, value: Decimal) -> str:
        return fixed(value, self.qty_places)

    def _l2_snapshot(self, product: str) -> dict[str, Any]:
        view = self.book(product)
        updates = [self._level("bid", price, qty, _EPOCH) for price, qty in view.bids]
        updates += [self._level("offer", price, qty, _EPOCH) for price, qty in view.asks]
        return {"type": "snapshot", "product_id": product, "updates": updates}

    def _l2_update(self, product: str, depth: dict[str, Any], event_time: str) -> dict[str, Any]:
        updates = [self._level("bid", Decimal(p), Decimal(q), event_time) for p, q in depth["b"]]
        updates += [self._level("offer", Decimal(p), Decimal(q), event_time) for p, q in depth["a"]]
        return {"type": "update", "product_id": product, "updates": updates}

    def _level(self, side: str, price: Decimal, qty: Decimal, event_time: str) -> dict[str, str]:
        new_quantity = self._size(qty) if qty else "0"
        return {
            "side": side,
            "event_time": event_time,
            "price_level": self._price(price),
            "new_quantity": new_quantity,
        }

    def _trade(self, product: str, trade: dict[str, Any]) -> dict[str, str]:
        # Binance's ``m``: the buyer was the maker. Coinbase's ``side`` is the maker's side.
        return {
            "trade_id": str(trade["t"]),
            "product_id": product,
            "price": self._price(Decimal(trade["p"])),
            "size": self._size(Decimal(trade["q"])),
            "side": "BUY" if trade["m"] else "SELL",
            "time": rfc3339(int(trade["T"]) * 1_000_000, 6),
        }

    def _ticker(self, product: str) -> dict[str, str]:
        tape = self.tapes[product]
        bid, bid_qty, ask, ask_qty = (Decimal(v) for v in self.tops[product])
        last = tape.last if tape.last is not None else bid
        low = tape.low if tape.low is not None else last
        high = tape.high if tape.high is not None else last
        return {
            "type": "ticker",
            "product_id": product,
            "price": self._price(last),
            "volume_24_h": self._size(tape.volume),
            "low_24_h": self._price(low),
            "high_24_h": self._price(high),
            "low_52_w": self._price(low),
            "high_52_w": self._price(high),
            "price_percent_chg_24_h": str(tape.change_pct),
            "best_bid": self._price(bid),
            "best_bid_quantity": self._size(bid_qty),
            "best_ask": self._price(ask),
            "best_ask_quantity": self._size(ask_qty),
        }
