"""The venue's REST side on aiohttp: ``/api/v3/...`` with form or query parameters.

Parameters come from the query string and, for POST / PUT / DELETE, an
``application/x-www-form-urlencoded`` body; the query wins when both name one. A SIGNED
request's signature is checked against the query string and the body exactly as received
(raw, never re-encoded), with the ``signature`` parameter taken out. Every answer carries
``X-MBX-USED-WEIGHT-1M``; a new order's also ``X-MBX-ORDER-COUNT-10S`` and ``-1D``; a 429 or
418 ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiohttp import web

from adapters.exchanges.simulator.trading.api import Endpoint, TradingApi
from adapters.exchanges.simulator.trading.auth import Authenticator
from adapters.exchanges.simulator.trading.errors import (
    TIMEOUT_UNKNOWN,
    UNEXPECTED_UNKNOWN,
    UNKNOWN_ERROR,
    VenueError,
)
from adapters.exchanges.simulator.trading.faults import TradingFaults
from adapters.exchanges.simulator.trading.limits import RateLimiter
from adapters.exchanges.simulator.trading.params import Params
from adapters.exchanges.simulator.trading.stats import Counters

_log = logging.getLogger(__name__)

_WITH_BODY = frozenset({"POST", "PUT", "DELETE"})
_CONTENT_TYPE = "application/json;charset=UTF-8"


def without_signature(raw: str) -> str:
    """``raw`` (a query string or form body as sent) with its ``signature=`` parameter taken out."""
    if "signature=" not in raw:
        return raw
    return "&".join(part for part in raw.split("&") if not part.startswith("signature="))


def unknown_outcome(status: int) -> VenueError:
    """The answer to an order placed whose outcome the client cannot know: -1007 or -1006."""
    if status in (408, 500):
        return VenueError(-1007, TIMEOUT_UNKNOWN, status=status)
    return VenueError(-1006, UNEXPECTED_UNKNOWN, status=status)


class RestApi:
    """Routes ``/api/v3/*`` to the endpoints, with rate limits, authentication and order faults."""

    def __init__(
        self,
        *,
        api: TradingApi,
        auth: Authenticator,
        limiter: RateLimiter,
        faults: TradingFaults,
        counters: Counters,
    ) -> None:
        self._api = api
        self._auth = auth
        self._limiter = limiter
        self._faults = faults
        self._counters = counters

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self._counters.requests += 1
        endpoint = self._api.rest_routes.get((request.method, request.path))
        if endpoint is None:
            known = any(path == request.path for _, path in self._api.rest_routes)
            status = 405 if known else 404
            message = f"Method {request.method} not allowed" if known else f"No such path {request.path}"
            return self._answer({"code": -1, "msg": message}, status)
        order_counts = endpoint.places_order
        try:
            result = await self._run(endpoint, request)
        except VenueError as error:
            return self._error(error, order_counts=order_counts)
        except ConnectionResetError:  # the client went away mid-request (killed): no one to answer
            _log.info("client left during %s %s", request.method, request.path)
            return web.Response(status=400)
        except Exception:  # a bug in the venue must not look like a client error
            _log.exception("venue REST handler failed on %s %s", request.method, request.path)
            return self._error(VenueError(-1000, UNKNOWN_ERROR, status=500), order_counts=False)
        if endpoint.places_order:
            lost, hold = self._faults.take_lost_response()
            if lost:
                self._counters.responses_lost += 1
                await self._lose(request, hold)
                return web.Response(status=204)
            failure = self._faults.take_failure()
            if failure is not None:
                self._counters.responses_failed += 1
                return self._error(unknown_outcome(failure), order_counts=True)
        return self._answer(result, 200, order_counts=order_counts)

    async def _run(self, endpoint: Endpoint, request: web.Request) -> Any:
        query = request.raw_path.partition("?")[2]
        body = ""
        if request.method in _WITH_BODY:
            try:
                body = (await request.read()).decode("utf-8")
            except UnicodeDecodeError:
                self._limiter.admit(1)
                raise VenueError(-1100, "Illegal characters found in a parameter.") from None
        try:
            params = Params.from_form(query, body)
        except VenueError:
            self._limiter.admit(1)
            raise
        self._limiter.admit(endpoint.weight(params))
        if endpoint.signed:
            self._auth.check_key(request.headers.get("X-MBX-APIKEY"))
            self._auth.check(params, without_signature(query) + without_signature(body))
        return endpoint.handler(params)

    async def _lose(self, request: web.Request, hold: float | None) -> None:
        """Never answer: hold the request ``hold`` seconds (if given), then drop the connection."""
        if hold:
            await asyncio.sleep(hold)  # the server's shutdown cancels it
        transport = request.transport
        if transport is not None:
            transport.abort()

    def _error(self, error: VenueError, *, order_counts: bool) -> web.Response:
        response = self._answer(error.body(), error.status, order_counts=order_counts)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    def _answer(self, body: Any, status: int, *, order_counts: bool = False) -> web.Response:
        response = web.Response(body=orjson.dumps(body), status=status, content_type=None)
        response.headers["Content-Type"] = _CONTENT_TYPE
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(self._limiter.used_weight())
        if order_counts:
            ten_seconds, day = self._limiter.order_counts()
            response.headers["X-MBX-ORDER-COUNT-10S"] = str(ten_seconds)
            response.headers["X-MBX-ORDER-COUNT-1D"] = str(day)
        return response
