"""Test support for the trading venue: a scripted market, a fake clock, raw REST and WebSocket API clients.

The clients are deliberately raw: they build and sign requests by the venue's rules with
``adapters.brokers.binance.signing`` and hand back what the venue answered, so each test
sees the wire exactly.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from adapters.brokers.binance.signing import Signer, encode_params, signer_for, ws_payload
from adapters.exchanges.simulator.market import BOOK_TICKER, DEPTH, TRADE, BookView, MarketFrame
from adapters.exchanges.simulator.trading import SymbolFilters, TradingVenue, VenueLimits

T = TypeVar("T")

API_KEY = "tradeplaneTestKey0123456789"
API_SECRET = "tradeplane-test-secret-9f8e7d6c5b4a"
START_MS = 1_800_000_000_000
TEST_TIMEOUT = 20.0


def run(scenario: Callable[[], Awaitable[T]], timeout: float = TEST_TIMEOUT) -> T:
    """Run an async test body on a fresh loop, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), timeout)

    return asyncio.run(bounded())


class FakeClock:
    """A venue clock in ms that moves only when a test moves it."""

    def __init__(self, now_ms: int = START_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


Level = tuple[str, str]


class ScriptedMarket:
    """A ``MarketSource`` whose book and trades a test sets: each ``step`` publishes what was queued."""

    def __init__(self, books: Mapping[str, tuple[Iterable[Level], Iterable[Level]]]) -> None:
        self.symbols = tuple(books)
        self._books: dict[str, BookView] = {}
        self._queued: list[MarketFrame] = []
        self._update_id = itertools.count(1000)
        self._trade_id = itertools.count(500)
        for symbol, (bids, asks) in books.items():
            self.set_book(symbol, bids, asks, publish=False)

    @property
    def finished(self) -> bool:
        return False

    def set_book(
        self, symbol: str, bids: Iterable[Level], asks: Iterable[Level], *, publish: bool = True
    ) -> None:
        """Replace ``symbol``'s book ((price, size) best first); the next step publishes the change."""
        view = BookView(
            next(self._update_id),
            [(Decimal(p), Decimal(q)) for p, q in bids],
            [(Decimal(p), Decimal(q)) for p, q in asks],
        )
        self._books[symbol] = view
        if publish:
            self._queued.append(MarketFrame(symbol, DEPTH, {"e": "depthUpdate", "s": symbol}))
            self._queued.append(MarketFrame(symbol, BOOK_TICKER, {"s": symbol}))

    def print_trade(self, symbol: str, price: str, qty: str) -> None:
        """A public trade at ``price`` for ``qty``, published at the next step."""
        payload = {"e": "trade", "s": symbol, "t": next(self._trade_id), "p": price, "q": qty, "m": False}
        self._queued.append(MarketFrame(symbol, TRADE, payload))

    def step(self, now_ms: int) -> list[MarketFrame]:
        frames, self._queued = self._queued, []
        return frames

    def snapshot(self, symbol: str, limit: int) -> dict[str, Any]:
        view = self._books[symbol]
        return {
            "lastUpdateId": view.last_update_id,
            "bids": [[str(p), str(q)] for p, q in view.bids[:limit]],
            "asks": [[str(p), str(q)] for p, q in view.asks[:limit]],
        }

    def skip_next_depth(self, symbol: str | None = None) -> None:
        return None

    def book(self, symbol: str) -> BookView:
        return self._books[symbol]


def scripted_market() -> ScriptedMarket:
    """BTCUSDT around 30000 (asks 30000.10 / 30000.20 / 30000.50) and ETHUSDT around 2000."""
    return ScriptedMarket(
        {
            "BTCUSDT": (
                [("29999.90", "0.500"), ("29999.80", "1.000"), ("29999.00", "2.000")],
                [("30000.10", "0.400"), ("30000.20", "0.600"), ("30000.50", "1.000")],
            ),
            "ETHUSDT": (
                [("1999.90", "5.000"), ("1999.80", "10.000")],
                [("2000.10", "4.000"), ("2000.20", "8.000")],
            ),
        }
    )


DEFAULT_BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("2"), "ETH": Decimal("10")}


def make_venue(
    market: Any | None = None,
    *,
    clock: FakeClock | None = None,
    balances: Mapping[str, Decimal] | None = None,
    limits: VenueLimits | None = None,
    filters: Mapping[str, SymbolFilters] | None = None,
    api_secret: str = API_SECRET,
    api_key: str = API_KEY,
    maker_commission: Decimal = Decimal("0.001"),
) -> TradingVenue:
    market = market if market is not None else scripted_market()
    return TradingVenue(
        market,
        api_key=api_key,
        api_secret=api_secret,
        balances=DEFAULT_BALANCES if balances is None else balances,
        filters=filters if filters is not None else {symbol: SymbolFilters() for symbol in market.symbols},
        limits=limits,
        maker_commission=maker_commission,
        clock=clock if clock is not None else FakeClock(),
        ping_interval=None,
    )


@asynccontextmanager
async def serving(venue: TradingVenue) -> AsyncIterator[TradingVenue]:
    """``venue`` started on a free loopback port, stopped afterwards whatever happens."""
    await venue.start("127.0.0.1", 0)
    try:
        yield venue
    finally:
        await venue.stop()


# -- REST ---------------------------------------------------------------------------------------


class RestClient:
    """Signed and unsigned REST requests, built by the venue's rules."""

    def __init__(self, venue: TradingVenue, *, api_key: str = API_KEY, secret: str = API_SECRET) -> None:
        self._venue = venue
        self.api_key = api_key
        self.signer: Signer = signer_for(secret)
        self.http = httpx.AsyncClient(base_url=venue.rest_url, timeout=5.0)

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.http.aclose()

    async def public(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        query = encode_params((params or {}).items())
        return await self.http.request(method, f"{path}?{query}" if query else path)

    async def signed(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        *,
        in_body: bool = False,
        timestamp: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """``params`` plus ``timestamp`` (the venue's clock unless given), signed, sent with the key."""
        stamped = {**params, "timestamp": self._venue.now_ms() if timestamp is None else timestamp}
        payload = encode_params(stamped.items())
        signed = f"{payload}&{encode_params([('signature', self.signer.sign(payload))])}"
        sent_headers = {"X-MBX-APIKEY": self.api_key, **(headers or {})}
        if in_body:
            sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
            return await self.http.request(method, path, content=signed, headers=sent_headers)
        return await self.http.request(method, f"{path}?{signed}", headers=sent_headers)

    async def order(self, **params: Any) -> httpx.Response:
        return await self.signed("POST", "/api/v3/order", params)


def error_of(response: httpx.Response) -> tuple[int, int]:
    """(HTTP status, venue code) of an error answer."""
    return response.status_code, int(response.json()["code"])


# -- WebSocket API ------------------------------------------------------------------------------


class WsApiClient:
    """One WebSocket API session: requests matched to responses by id; events kept in order."""

    def __init__(self, venue: TradingVenue, connection: ClientConnection, secret: str = API_SECRET) -> None:
        self._venue = venue
        self.connection = connection
        self.signer: Signer = signer_for(secret)
        self.events: list[dict[str, Any]] = []
        self._responses: dict[Any, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    @asynccontextmanager
    async def open(cls, venue: TradingVenue, secret: str = API_SECRET) -> AsyncIterator[WsApiClient]:
        async with connect(venue.ws_api_url, open_timeout=5, close_timeout=1) as connection:
            client = cls(venue, connection, secret)
            try:
                yield client
            finally:
                client._reader.cancel()

    async def _read(self) -> None:
        async for raw in self.connection:
            message = orjson.loads(raw)
            if "subscriptionId" in message and "event" in message:
                self.events.append(message)
            else:
                self._responses[message.get("id")] = message
            self._arrived.set()

    async def send_raw(self, text: str | bytes) -> None:
        await self.connection.send(text)

    async def response(self, request_id: Any, timeout: float = 5.0) -> dict[str, Any]:
        async def arrived() -> dict[str, Any]:
            while request_id not in self._responses:
                self._arrived.clear()
                await self._arrived.wait()
            return self._responses.pop(request_id)

        return await asyncio.wait_for(arrived(), timeout)

    async def request(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        request_id = f"r{next(self._ids)}"
        body: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            body["params"] = dict(params)
        await self.connection.send(orjson.dumps(body).decode())
        return await self.response(request_id)

    def sign(self, params: Mapping[str, Any], *, api_key: str = API_KEY) -> dict[str, Any]:
        stamped = {**params, "apiKey": api_key, "timestamp": self._venue.now_ms()}
        return {**stamped, "signature": self.signer.sign(ws_payload(stamped))}

    async def signed(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self.request(method, self.sign(params or {}))

    async def subscribe(self) -> int:
        answer = await self.signed("userDataStream.subscribe.signature")
        assert answer["status"] == 200, answer
        return int(answer["result"]["subscriptionId"])

    async def wait_events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The first ``count`` events (waiting for them to arrive)."""

        async def arrived() -> list[dict[str, Any]]:
            while len(self.events) < count:
                self._arrived.clear()
                await self._arrived.wait()
            return self.events[:count]

        return await asyncio.wait_for(arrived(), timeout)


def reports(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The executionReport events among ``events`` (unwrapped)."""
    return [event["event"] for event in events if event["event"]["e"] == "executionReport"]


async def settle(seconds: float = 0.05) -> None:
    """Let queued user data events go out."""
    await asyncio.sleep(seconds)
