"""The venue's WebSocket API at ``/ws-api/v3``: JSON requests, JSON responses, the user data stream.

A request is ``{"id": ..., "method": ..., "params": {...}}`` in a text frame; the answer is
``{"id", "status": 200, "result", "rateLimits"}`` or ``{"id", "status", "error": {"code",
"msg"}, "rateLimits"}`` (429 and 418 add ``error.data.retryAfter``, a time in ms). Signed
methods carry ``apiKey``, ``timestamp`` and ``signature`` in ``params``, signed over the
other params sorted by name. Besides the REST endpoints' methods there are
``userDataStream.subscribe.signature``, ``userDataStream.unsubscribe`` and
``session.status``. Whatever a client sends (not JSON, binary frames, huge or odd values)
gets an error answer, never a crash; a frame over ``max_message`` bytes closes that session
(1009). The server pings every ``ping_interval`` seconds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from adapters.brokers.binance.signing import ws_payload
from adapters.exchanges.simulator.trading.api import Endpoint, TradingApi
from adapters.exchanges.simulator.trading.auth import Authenticator
from adapters.exchanges.simulator.trading.errors import UNKNOWN_ERROR, VenueError, invalid_value
from adapters.exchanges.simulator.trading.faults import TradingFaults
from adapters.exchanges.simulator.trading.limits import RateLimiter
from adapters.exchanges.simulator.trading.params import Params
from adapters.exchanges.simulator.trading.reports import stream_terminated
from adapters.exchanges.simulator.trading.rest import unknown_outcome
from adapters.exchanges.simulator.trading.stats import Counters
from adapters.exchanges.simulator.trading.user_stream import UserStreams

_log = logging.getLogger(__name__)

PATH = "/ws-api/v3"
MAX_ID_LENGTH = 64
CONNECT_WEIGHT = 2


def _invalid_request(msg: str = "Invalid JSON Request") -> VenueError:
    return VenueError(-1135, msg)


class WsApiSession:
    """One WebSocket API connection."""

    def __init__(self, socket: web.WebSocketResponse, request: web.Request, connected_ms: int) -> None:
        self.socket = socket
        self.request = request
        self.connected_ms = connected_ms

    @property
    def closed(self) -> bool:
        return self.socket.closed

    async def send_text(self, text: str) -> None:
        await self.socket.send_str(text)

    def abort(self) -> None:
        """Cut the connection at the TCP level, no close frame."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class WsApi:
    """Serves WebSocket API sessions; the user data stream sends through them."""

    def __init__(
        self,
        *,
        api: TradingApi,
        auth: Authenticator,
        limiter: RateLimiter,
        faults: TradingFaults,
        streams: UserStreams,
        counters: Counters,
        now_ms: Callable[[], int],
        ping_interval: float | None,
        max_message: int = 65_536,
    ) -> None:
        self._api = api
        self._auth = auth
        self._limiter = limiter
        self._faults = faults
        self._streams = streams
        self._counters = counters
        self._now = now_ms
        self._ping_interval = ping_interval
        self._max_message = max_message
        self.sessions: set[WsApiSession] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            self._limiter.admit(CONNECT_WEIGHT)
        except VenueError as error:
            response = web.json_response(error.body(), status=error.status)
            response.headers["X-MBX-USED-WEIGHT-1M"] = str(self._limiter.used_weight())
            if error.retry_after is not None:
                response.headers["Retry-After"] = str(error.retry_after)
            return response
        socket = web.WebSocketResponse(
            heartbeat=self._ping_interval, max_msg_size=self._max_message, compress=False
        )
        await socket.prepare(request)
        session = WsApiSession(socket, request, self._now())
        self.sessions.add(session)
        self._counters.ws_connections_opened += 1
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    answer = await self._answer(session, message.data)
                elif message.type == WSMsgType.BINARY:
                    answer = self._failure(None, _invalid_request("Binary frames are not supported."), False)
                else:  # an error frame: the connection is done
                    break
                if answer is not None and not socket.closed:
                    await socket.send_str(answer)
        except (ConnectionError, RuntimeError) as exc:
            _log.debug("WebSocket API session ended: %s", exc)
        finally:
            self.sessions.discard(session)
            self._streams.forget(session)
        return socket

    def drop_all(self, *, fault: bool = True) -> int:
        """Cut every session now, without a close frame; returns how many (counted when a ``fault``)."""
        sessions = list(self.sessions)
        for session in sessions:
            self._streams.forget(session)
            session.abort()
        if fault:
            self._counters.user_streams_dropped += len(sessions)
        return len(sessions)

    async def close_all(self) -> None:
        for session in list(self.sessions):
            await session.socket.close(code=1001, message=b"server shutdown")

    # -- one request -------------------------------------------------------------------

    async def _answer(self, session: WsApiSession, text: str) -> str | None:
        """The response to one text frame (None: it is not answered, a lost-response fault)."""
        self._counters.requests += 1
        request_id: Any = None
        endpoint: Endpoint | None = None
        try:
            message = _parse(text)
            request_id = _request_id(message)
            method, raw_params = _method_and_params(message)
            endpoint = self._api.ws_methods.get(method)
            if endpoint is not None:
                result = self._call(endpoint, raw_params)
            else:
                result = self._session_method(session, method, raw_params)
        except VenueError as error:
            return self._failure(request_id, error, endpoint is not None and endpoint.places_order)
        except Exception:  # a bug in the venue must not end the session
            _log.exception("venue WebSocket API request failed")
            return self._failure(request_id, VenueError(-1000, UNKNOWN_ERROR, status=500), False)
        places_order = endpoint is not None and endpoint.places_order
        if places_order:
            lost, _ = self._faults.take_lost_response()
            if lost:
                self._counters.responses_lost += 1
                return None
            failure = self._faults.take_failure()
            if failure is not None:
                self._counters.responses_failed += 1
                return self._failure(request_id, unknown_outcome(failure), True)
        body = {
            "id": request_id,
            "status": 200,
            "result": result,
            "rateLimits": self._limiter.usage(orders=places_order),
        }
        return orjson.dumps(body).decode()

    def _call(self, endpoint: Endpoint, raw_params: dict[str, Any]) -> Any:
        params = Params.from_json(raw_params)
        self._limiter.admit(endpoint.weight(params))
        if endpoint.signed:
            self._authenticate(params, raw_params)
        return endpoint.handler(params)

    def _authenticate(self, params: Params, raw_params: dict[str, Any]) -> None:
        self._auth.check_key(params.text("apiKey", max_length=512))
        self._auth.check(params, ws_payload(raw_params))

    def _session_method(self, session: WsApiSession, method: str, raw_params: dict[str, Any]) -> Any:
        if method == "userDataStream.subscribe.signature":
            params = Params.from_json(raw_params)
            self._limiter.admit(2)
            self._authenticate(params, raw_params)
            params.finish()
            return {"subscriptionId": self._streams.subscribe(session)}
        if method == "userDataStream.unsubscribe":
            params = Params.from_json(raw_params)
            self._limiter.admit(2)
            subscription_id = params.integer("subscriptionId")
            params.finish()
            ended = self._streams.unsubscribe(session, subscription_id)
            if subscription_id is not None and not ended:
                raise invalid_value("subscriptionId")
            for ended_id in ended:
                self._streams.send_direct(session, ended_id, stream_terminated(self._now()))
            return {}
        if method == "session.status":
            params = Params.from_json(raw_params)
            self._limiter.admit(2)
            params.finish()
            return {
                "apiKey": None,
                "authorizedSince": None,
                "connectedSince": session.connected_ms,
                "returnRateLimits": True,
                "serverTime": self._now(),
                "userDataStream": bool(self._streams.subscriptions(session)),
            }
        self._limiter.admit(1)
        raise VenueError(-1020, "This operation is not supported.")

    def _failure(self, request_id: Any, error: VenueError, places_order: bool) -> str:
        body: dict[str, Any] = {"code": error.code, "msg": error.msg}
        if error.retry_after is not None:
            body["data"] = {"serverTime": self._now(), "retryAfter": self._now() + error.retry_after * 1000}
        return orjson.dumps(
            {
                "id": request_id,
                "status": error.status,
                "error": body,
                "rateLimits": self._limiter.usage(orders=places_order),
            }
        ).decode()


def _parse(text: str) -> dict[str, Any]:
    """The request object of a text frame; -1135 when it is not one."""
    try:
        message = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise _invalid_request() from None
    if not isinstance(message, dict):
        raise _invalid_request()
    return message


def _request_id(message: dict[str, Any]) -> Any:
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int | None):
        raise _invalid_request("Invalid 'id' in JSON request; expected a string, an integer or null.")
    if isinstance(request_id, str) and len(request_id) > MAX_ID_LENGTH:
        raise _invalid_request(f"Invalid 'id' in JSON request; longer than {MAX_ID_LENGTH} characters.")
    return request_id


def _method_and_params(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    method = message.get("method")
    if not isinstance(method, str) or not method:
        raise VenueError(-1102, "Mandatory parameter 'method' was not sent, was empty/null, or malformed.")
    params = message.get("params", {})
    if not isinstance(params, dict):
        raise _invalid_request("Invalid 'params' in JSON request; expected an object.")
    if set(message) - {"id", "method", "params"}:
        raise _invalid_request("Invalid JSON Request: unknown field(s).")
    return method, params
