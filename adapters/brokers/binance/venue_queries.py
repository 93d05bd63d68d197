"""Reading orders and trades back from the venue: blocking before the event loop, async in it.

An order is asked by our client order id on its symbol (``GET /api/v3/order``); "no such
order" (``-2013``) is an answer, None, not an error. Its fills are its trades
(``GET /api/v3/myTrades`` with its ``orderId``). What reconciliation reads is a
``VenueOrder`` with those fills; ``VenueSnapshot`` holds a set of such answers read in the loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from adapters.brokers.binance.errors import BinanceBrokerError, MalformedPayload, Outcome, VenueError
from adapters.brokers.binance.order_params import (
    VENUE,
    VenueOrderState,
    fill_of_trade,
    parse_order,
    venue_order,
)
from adapters.brokers.binance.rest import AsyncRestClient, SyncRestClient
from application.messages import VenueOrder
from application.ports import Clock
from domain.identifiers import ClientOrderId, InstrumentId
from domain.orders import Fill, Order
from domain.values import ZERO

ORDER_WEIGHT = 4
"""``GET /api/v3/order``."""
TRADES_WEIGHT = 20
"""``GET /api/v3/myTrades`` by symbol."""
ORDER_TRADES_WEIGHT = 5
"""``GET /api/v3/myTrades`` with an ``orderId``."""
OPEN_ORDERS_WEIGHT = 6
TRADES_PAGE = 1000


class VenueQueries:
    """Orders and trades as the venue has them, for the symbols of ``symbols``.

    ``rest`` is the async client while connected (None before). ``wait`` says whether a
    query waits out a rate limit or raises RateLimitBlocked (reconciliation would rather skip
    a round than hold the question for a minute).
    """

    def __init__(self, sync: SyncRestClient, symbols: Mapping[str, InstrumentId], clock: Clock) -> None:
        self._sync = sync
        self._symbols = symbols
        self._clock = clock
        self.rest: AsyncRestClient | None = None

    @property
    def symbols(self) -> list[str]:
        return sorted(self._symbols)

    # -- blocking -------------------------------------------------------------------------

    def view_sync(self, coid: ClientOrderId, symbols: Sequence[str]) -> VenueOrder | None:
        for symbol in symbols:
            try:
                body = self._sync.request(
                    "GET", "/api/v3/order", _by_id(symbol, coid), signed=True, weight=ORDER_WEIGHT
                )
            except VenueError as error:
                if error.outcome is Outcome.NO_SUCH_ORDER:
                    continue
                raise
            state = parse_order(body, client_order_id=coid)
            return self.view_of(state, self._fills_sync(state))
        return None

    def open_orders_sync(self) -> list[VenueOrder]:
        views = []
        for symbol in self.symbols:
            body = self._sync.request(
                "GET", "/api/v3/openOrders", [("symbol", symbol)], signed=True, weight=OPEN_ORDERS_WEIGHT
            )
            for entry in as_list(body, "openOrders"):
                state = parse_order(entry)
                views.append(self.view_of(state, self._fills_sync(state)))
        views.sort(key=lambda view: view.ts_last)
        return views

    def _fills_sync(self, state: VenueOrderState) -> tuple[Fill, ...]:
        if state.executed <= ZERO:
            return ()
        trades = self._sync.request(
            "GET", "/api/v3/myTrades", _of_order(state), signed=True, weight=ORDER_TRADES_WEIGHT
        )
        return self.fills_of(state, trades)

    # -- in the loop ------------------------------------------------------------------------

    async def order(self, symbol: str, coid: ClientOrderId, *, wait: bool = True) -> VenueOrderState | None:
        """The order as the venue has it; None for "no such order"."""
        try:
            body = await self._rest.request(
                "GET", "/api/v3/order", _by_id(symbol, coid), signed=True, weight=ORDER_WEIGHT, wait=wait
            )
        except VenueError as error:
            if error.outcome is Outcome.NO_SUCH_ORDER:
                return None
            raise
        return parse_order(body, client_order_id=coid)

    async def view(self, coid: ClientOrderId, symbols: Sequence[str]) -> VenueOrder | None:
        """For reconciliation: the order with its fills (never waits out a rate limit)."""
        for symbol in symbols:
            state = await self.order(symbol, coid, wait=False)
            if state is not None:
                return self.view_of(state, await self._fills(state))
        return None

    async def open_orders(self) -> list[VenueOrder]:
        """For reconciliation: every working order of the symbols, oldest first."""
        views = []
        for symbol in self.symbols:
            body = await self._rest.request(
                "GET",
                "/api/v3/openOrders",
                [("symbol", symbol)],
                signed=True,
                weight=OPEN_ORDERS_WEIGHT,
                wait=False,
            )
            for entry in as_list(body, "openOrders"):
                state = parse_order(entry)
                views.append(self.view_of(state, await self._fills(state)))
        views.sort(key=lambda view: view.ts_last)
        return views

    async def order_trades(self, symbol: str, order_id: str) -> list[Any]:
        body = await self._rest.request(
            "GET",
            "/api/v3/myTrades",
            [("symbol", symbol), ("orderId", order_id)],
            signed=True,
            weight=ORDER_TRADES_WEIGHT,
        )
        return as_list(body, "myTrades")

    async def trades_from(self, symbol: str, from_id: int) -> list[Any]:
        """One page of the account's trades of ``symbol`` from trade id ``from_id`` on."""
        body = await self._rest.request(
            "GET",
            "/api/v3/myTrades",
            [("symbol", symbol), ("fromId", from_id), ("limit", TRADES_PAGE)],
            signed=True,
            weight=TRADES_WEIGHT,
        )
        return as_list(body, "myTrades")

    async def _fills(self, state: VenueOrderState) -> tuple[Fill, ...]:
        if state.executed <= ZERO:
            return ()
        body = await self._rest.request(
            "GET", "/api/v3/myTrades", _of_order(state), signed=True, weight=ORDER_TRADES_WEIGHT, wait=False
        )
        return self.fills_of(state, body)

    @property
    def _rest(self) -> AsyncRestClient:
        if self.rest is None:
            raise BinanceBrokerError("the broker is not connected")
        return self.rest

    # -- shaping ----------------------------------------------------------------------------

    def instrument_of(self, symbol: str) -> InstrumentId:
        return self._symbols.get(symbol) or InstrumentId.of(symbol, VENUE)

    def fills_of(self, state: VenueOrderState, trades: Any) -> tuple[Fill, ...]:
        """The trades of ``state``'s order among ``trades``, as its fills, in trade order."""
        instrument_id = self.instrument_of(state.symbol)
        mine = [
            t
            for t in as_list(trades, "myTrades")
            if isinstance(t, dict) and str(t.get("orderId")) == state.order_id
        ]
        mine.sort(key=lambda t: t["id"] if type(t.get("id")) is int else 0)
        now = self._clock.now_ns()
        return tuple(
            fill_of_trade(
                t, client_order_id=state.client_order_id, instrument_id=instrument_id, fallback_ns=now
            )
            for t in mine
        )

    def view_of(self, state: VenueOrderState, fills: tuple[Fill, ...]) -> VenueOrder:
        return venue_order(
            state, fills, instrument_id=self.instrument_of(state.symbol), fallback_ns=self._clock.now_ns()
        )


class OrderRouter(Protocol):
    """Where a snapshot sends what reconciliation asks it to (the broker)."""

    name: str

    def submit(self, order: Order) -> None: ...

    def cancel(self, order: Order) -> None: ...


class VenueSnapshot:
    """The venue's answers at one moment, read by ``application.reconciliation``; a cancel it
    sends again goes through the broker."""

    supports_stop_orders = True
    spot_account = True

    def __init__(
        self,
        router: OrderRouter,
        answers: Mapping[ClientOrderId, VenueOrder | None],
        open_orders: Sequence[VenueOrder],
    ) -> None:
        self.name = router.name
        self._router = router
        self._answers = dict(answers)
        self._open = list(open_orders)

    def submit(self, order: Order) -> None:
        self._router.submit(order)

    def cancel(self, order: Order) -> None:
        self._router.cancel(order)

    def query_order(self, client_order_id: ClientOrderId) -> VenueOrder | None:
        if client_order_id not in self._answers:
            raise BinanceBrokerError(f"{client_order_id} was not asked about")
        return self._answers[client_order_id]

    def query_open_orders(self) -> list[VenueOrder]:
        return list(self._open)


def as_list(body: Any, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise MalformedPayload(f"{what} must be a list", body)
    return body


def _by_id(symbol: str, coid: str) -> list[tuple[str, object]]:
    return [("symbol", symbol), ("origClientOrderId", coid)]


def _of_order(state: VenueOrderState) -> list[tuple[str, object]]:
    return [("symbol", state.symbol), ("orderId", state.order_id)]
