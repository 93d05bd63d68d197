"""The simulator's REST side: ``GET /api/v3/depth`` with the venue's errors and request weights.

As on Binance, a depth request costs weight by its ``limit`` (5 up to 100 levels, 25 up to
500, 50 up to 1000, 250 beyond) out of ``weight_per_minute`` over a sliding minute; over
the limit the answer is HTTP 429 with ``Retry-After``; a depth served says the weight used
so far in ``X-MBX-USED-WEIGHT-1M``.
"""

from __future__ import annotations

import time
from collections import deque
from http import HTTPStatus

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Response

from adapters.exchanges.simulator.market import MarketSource

MAX_DEPTH_LIMIT = 5000


class DepthEndpoint:
    """Answers depth requests from ``market``'s books, within the request-weight limit."""

    def __init__(self, market: MarketSource, *, weight_per_minute: int) -> None:
        self._market = market
        self._weight_limit = weight_per_minute
        self._weights: deque[tuple[float, int]] = deque()  # (monotonic time, weight) of the last minute

    def respond(self, connection: ServerConnection, params: dict[str, list[str]]) -> Response:
        """The answer to ``GET /api/v3/depth`` with these query ``params``."""
        symbol = params.get("symbol", [""])[0]
        if not symbol:
            body = {
                "code": -1102,
                "msg": "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            }
            return json_response(connection, HTTPStatus.BAD_REQUEST, body)
        if symbol not in self._market.symbols:
            return json_response(
                connection, HTTPStatus.BAD_REQUEST, {"code": -1121, "msg": "Invalid symbol."}
            )
        text = params.get("limit", ["100"])[0]
        if not text.isdigit() or not 1 <= int(text) <= MAX_DEPTH_LIMIT:
            body = {"code": -1100, "msg": f"Illegal characters found in parameter 'limit'; was {text!r}."}
            return json_response(connection, HTTPStatus.BAD_REQUEST, body)
        limit = int(text)
        weight = 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
        now = time.monotonic()
        weights = self._weights
        while weights and weights[0][0] <= now - 60:
            weights.popleft()
        used = sum(w for _, w in weights)
        if used + weight > self._weight_limit:
            retry_after = max(1, int(weights[0][0] + 60 - now) + 1)
            body = {"code": -1003, "msg": "Too much request weight used; please use WebSocket Streams."}
            response = json_response(connection, HTTPStatus.TOO_MANY_REQUESTS, body)
            response.headers["Retry-After"] = str(retry_after)
            return response
        weights.append((now, weight))
        response = json_response(connection, HTTPStatus.OK, self._market.snapshot(symbol, limit))
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(used + weight)
        return response


def json_response(connection: ServerConnection, status: HTTPStatus, body: object) -> Response:
    """An HTTP answer with ``body`` as JSON, typed as the venue types it."""
    response = connection.respond(status, orjson.dumps(body).decode())
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json;charset=UTF-8"
    return response
