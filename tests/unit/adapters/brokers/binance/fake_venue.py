"""A scripted Binance venue for the broker's unit tests: exact misbehaviour on demand.

REST is served through ``httpx.MockTransport`` (the same handler for the blocking and the async
client); the WebSocket API is a real ``websockets`` server on 127.0.0.1. Every signed request
is verified with the account's secret, so a wrong signature fails loudly. The venue keeps
orders and trades; ``script`` queues answers (or exceptions) that replace the next normal one
for an endpoint, and ``place_silently`` lets a test make orders exist that the broker never
heard about (a lost answer, a missed event).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
from websockets.asyncio.server import Server, ServerConnection, serve

from adapters.brokers.binance.signing import HmacSigner, ws_payload
from tests.unit.adapters.brokers.binance.payloads import API_KEY, SECRET, exchange_info, symbol_info

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def error(status: int, code: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": message}, headers=headers)


@dataclass
class FakeVenue:
    """See the module docstring. The venue's clock is the wall clock plus ``skew_ms``."""

    skew_ms: int = 0
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    script: dict[tuple[str, str], deque[Answer]] = field(default_factory=lambda: defaultdict(deque))
    sockets: set[ServerConnection] = field(default_factory=set)
    subscriptions: dict[ServerConnection, int] = field(default_factory=dict)
    subscribe_answers: deque[dict[str, Any]] = field(default_factory=deque)
    ws_requests: list[dict[str, Any]] = field(default_factory=list)
    used_weight: int = 0
    uid: int = 4242
    can_trade: bool = True
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7))
    _trade_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _executions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _sending: set[asyncio.Task[None]] = field(default_factory=set)
    _server: Server | None = None
    ws_url: str = ""

    @property
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.skew_ms

    # -- lifecycle -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeVenue]:
        self._server = await serve(self._session, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1] if self._server.sockets else 0
        self.ws_url = f"ws://127.0.0.1:{port}/ws-api/v3"
        try:
            yield self
        finally:
            self._server.close()
            await self._server.wait_closed()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- what a test does --------------------------------------------------------------------

    def next(self, method: str, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``method path`` with ``answers``, in order."""
        self.script[(method, path)].extend(answers)

    def asked(self, method: str, path: str) -> list[dict[str, str]]:
        return [params for m, p, params in self.requests if (m, p) == (method, path)]

    def place_silently(
        self, coid: str, *, quantity: str = "1", price: str = "100", status: str = "NEW"
    ) -> dict[str, Any]:
        """An order the venue has, that nobody was told about."""
        order = self._new_order({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                 "quantity": quantity, "price": price, "newClientOrderId": coid})  # fmt: skip
        order["status"] = status
        return order

    def fill(self, coid: str, quantity: str, *, price: str = "100", announce: bool = True) -> dict[str, Any]:
        """Execute ``quantity`` of ``coid`` as maker; the event goes out unless not ``announce``."""
        order = self.orders[coid]
        executed = Decimal(order["executedQty"]) + Decimal(quantity)
        order["executedQty"] = str(executed)
        order["status"] = "FILLED" if executed >= Decimal(order["origQty"]) else "PARTIALLY_FILLED"
        trade = {
            "symbol": order["symbol"], "id": next(self._trade_ids), "orderId": order["orderId"],
            "orderListId": -1, "price": price, "qty": quantity, "quoteQty": "0",
            "commission": "0.001", "commissionAsset": "BNB", "time": self.now_ms,
            "isBuyer": order["side"] == "BUY", "isMaker": True, "isBestMatch": True,
        }  # fmt: skip
        self.trades.append(trade)
        if announce:
            self.push(self.report(order, "TRADE", trade=trade))
        return trade

    def report(
        self, order: dict[str, Any], execution: str, *, trade: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {
            "e": "executionReport", "E": self.now_ms, "s": order["symbol"], "c": order["clientOrderId"],
            "S": order["side"], "o": order["type"], "f": order["timeInForce"], "q": order["origQty"],
            "p": order["price"], "P": "0", "C": "", "x": execution, "X": order["status"], "r": "NONE",
            "i": order["orderId"], "l": trade["qty"] if trade else "0", "z": order["executedQty"],
            "L": trade["price"] if trade else "0", "n": trade["commission"] if trade else "0",
            "N": trade["commissionAsset"] if trade else None, "T": self.now_ms,
            "t": trade["id"] if trade else -1, "I": next(self._executions),
            "w": True, "m": True, "O": self.now_ms, "Z": "0",
        }  # fmt: skip

    def push(self, event: dict[str, Any]) -> None:
        """Send ``event`` to every subscription (from the event loop; none outside it)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for socket, subscription in list(self.subscriptions.items()):
            text = orjson.dumps({"subscriptionId": subscription, "event": event}).decode()
            task = loop.create_task(_send(socket, text))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def drop_streams(self) -> None:
        for socket in list(self.sockets):
            socket.transport.abort()
        self.subscriptions.clear()

    # -- REST --------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        query = request.url.query.decode()
        body = request.content.decode()
        params = dict(parse_qsl(query)) | dict(parse_qsl(body))
        self.requests.append((method, path, params))
        scripted = self.script.get((method, path))
        if scripted:
            answer = scripted.popleft()
            if isinstance(answer, Exception):
                if getattr(answer, "after_execution", False):
                    self._route(method, path, params)
                raise answer
            return answer(request) if callable(answer) else answer
        if "signature" in params:
            problem = self._check_signed(request, query, body, params)
            if problem is not None:
                return problem
        return self._route(method, path, params)

    def _check_signed(
        self, request: httpx.Request, query: str, body: str, params: dict[str, str]
    ) -> httpx.Response | None:
        if request.headers.get("X-MBX-APIKEY") != API_KEY:
            return error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        signed_query = "&".join(p for p in query.split("&") if not p.startswith("signature="))
        signed_body = "&".join(p for p in body.split("&") if not p.startswith("signature="))
        if not HmacSigner(SECRET).verify(signed_query + signed_body, params["signature"]):
            return error(400, -1022, "Signature for this request is not valid.")
        timestamp = int(params["timestamp"])
        now = self.now_ms
        if timestamp >= now + 1000 or now - timestamp > int(params.get("recvWindow", "5000")):
            return error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return None

    def _route(self, method: str, path: str, params: dict[str, str]) -> httpx.Response:
        self.used_weight += 1
        headers = {"X-MBX-USED-WEIGHT-1M": str(self.used_weight)}
        if (method, path) == ("GET", "/api/v3/time"):
            return httpx.Response(200, json={"serverTime": self.now_ms}, headers=headers)
        if (method, path) == ("GET", "/api/v3/exchangeInfo"):
            names = orjson.loads(params.get("symbols", "[]"))
            symbols = [
                symbol_info(n, n.removesuffix("USDT"), "USDT") for n in names if n in ("BTCUSDT", "ETHUSDT")
            ]
            return httpx.Response(200, json=exchange_info(*symbols), headers=headers)
        if (method, path) == ("GET", "/api/v3/account"):
            account = {"uid": self.uid, "accountType": "SPOT", "canTrade": self.can_trade,
                       "balances": [{"asset": "BTC", "free": "1.5", "locked": "0.5"},
                                    {"asset": "USDT", "free": "1000", "locked": "0"},
                                    {"asset": "XRP", "free": "0", "locked": "0"}]}  # fmt: skip
            return httpx.Response(200, json=account, headers=headers)
        if (method, path) == ("GET", "/api/v3/account/commission"):
            rates = {"symbol": params["symbol"], "standardCommission": {"maker": "0.001", "taker": "0.002"}}
            return httpx.Response(200, json=rates, headers=headers)
        if (method, path) == ("POST", "/api/v3/order"):
            if params["newClientOrderId"] in self.orders:
                return error(400, -2010, "Duplicate order sent.")
            order = self._new_order(params)
            self.push(self.report(order, "NEW"))
            return httpx.Response(
                200, json=order | {"fills": []}, headers=headers | {"X-MBX-ORDER-COUNT-10S": "1"}
            )
        if (method, path) == ("GET", "/api/v3/order"):
            found = self.orders.get(params["origClientOrderId"])
            if found is None or found["symbol"] != params["symbol"]:
                return error(400, -2013, "Order does not exist.")
            return httpx.Response(200, json=found, headers=headers)
        if (method, path) == ("DELETE", "/api/v3/order"):
            canceled = self.orders.get(params["origClientOrderId"])
            if canceled is None or canceled["status"] not in ("NEW", "PARTIALLY_FILLED"):
                return error(400, -2011, "Unknown order sent.")
            canceled["status"] = "CANCELED"
            self.push(self.report(canceled, "CANCELED"))
            answer = canceled | {"origClientOrderId": canceled["clientOrderId"]}
            return httpx.Response(200, json=answer, headers=headers)
        if (method, path) == ("GET", "/api/v3/myTrades"):
            trades = [t for t in self.trades if t["symbol"] == params["symbol"]]
            if "orderId" in params:
                trades = [t for t in trades if str(t["orderId"]) == params["orderId"]]
            if "fromId" in params:
                trades = [t for t in trades if t["id"] >= int(params["fromId"])]
            return httpx.Response(200, json=trades, headers=headers)
        if (method, path) == ("GET", "/api/v3/openOrders"):
            working = [o for o in self.orders.values() if o["symbol"] == params["symbol"]
                       and o["status"] in ("NEW", "PARTIALLY_FILLED")]  # fmt: skip
            return httpx.Response(200, json=working, headers=headers)
        return error(404, -1000, f"no route {method} {path}")

    def _new_order(self, params: dict[str, str]) -> dict[str, Any]:
        order = {
            "symbol": params["symbol"], "orderId": next(self._ids), "orderListId": -1,
            "clientOrderId": params["newClientOrderId"], "transactTime": self.now_ms,
            "price": params.get("price", "0"), "origQty": params["quantity"], "executedQty": "0",
            "cummulativeQuoteQty": "0", "status": "NEW", "timeInForce": params.get("timeInForce", "GTC"),
            "type": params["type"], "side": params["side"], "stopPrice": params.get("stopPrice", "0"),
            "time": self.now_ms, "updateTime": self.now_ms,
        }  # fmt: skip
        self.orders[params["newClientOrderId"]] = order
        return order

    # -- the WebSocket API ---------------------------------------------------------------------

    async def _session(self, socket: ServerConnection) -> None:
        self.sockets.add(socket)
        try:
            async for raw in socket:
                request = orjson.loads(raw)
                answer = self._ws_answer(socket, request)
                await socket.send(orjson.dumps(answer).decode())
        except Exception:  # a dropped connection ends the session
            pass
        finally:
            self.sockets.discard(socket)
            self.subscriptions.pop(socket, None)

    def _ws_answer(self, socket: ServerConnection, request: dict[str, Any]) -> dict[str, Any]:
        params = request.get("params", {})
        self.ws_requests.append(params)
        if self.subscribe_answers:
            return {"id": request["id"]} | self.subscribe_answers.popleft()
        if request.get("method") != "userDataStream.subscribe.signature":
            return {"id": request["id"], "status": 400, "error": {"code": -1100, "msg": "unknown method"}}
        if params.get("apiKey") != API_KEY:
            return {"id": request["id"], "status": 401, "error": {"code": -2015, "msg": "Invalid API-key"}}
        if not HmacSigner(SECRET).verify(ws_payload(params), params.get("signature", "")):
            return {
                "id": request["id"],
                "status": 400,
                "error": {"code": -1022, "msg": "Signature not valid"},
            }
        subscription = len(self.subscriptions)
        self.subscriptions[socket] = subscription
        return {"id": request["id"], "status": 200, "result": {"subscriptionId": subscription}}


async def _send(socket: ServerConnection, text: str) -> None:
    with contextlib.suppress(Exception):
        await socket.send(text)


class LostAfterExecution(httpx.ReadTimeout):
    """The request was executed by the venue, then its answer was lost."""

    after_execution = True

    def __init__(self) -> None:
        super().__init__("timed out")
