"""The venue's endpoints, shared by REST and the WebSocket API: weight, security, handler.

Each handler reads its parameters (``Params``), calls ``finish()`` before acting (so an
unknown parameter refuses the request before anything changes), and returns the JSON body.
Weights are the venue's: time and ping 1, exchangeInfo 20, order placement and cancels 1,
order query 4, openOrders 6 with a symbol and 80 without, allOrders / myTrades / account /
commission 20 (myTrades 5 with an orderId).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.exchanges.simulator.trading.errors import (
    VenueError,
    bad_symbol,
    illegal,
    invalid_value,
    one_of_mandatory,
)
from adapters.exchanges.simulator.trading.filters import fmt
from adapters.exchanges.simulator.trading.limits import RateLimiter
from adapters.exchanges.simulator.trading.matching import MatchingEngine
from adapters.exchanges.simulator.trading.order_params import OrderRequest, client_id, parse_order
from adapters.exchanges.simulator.trading.orders import ORDER_TYPES, STP_MODES, Fill, VenueOrder
from adapters.exchanges.simulator.trading.params import Params
from adapters.exchanges.simulator.trading.stats import Counters

Handler = Callable[[Params], Any]
MAX_LIMIT = 1000
DEFAULT_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation of the venue."""

    weight: Callable[[Params], int]
    signed: bool
    handler: Handler
    places_order: bool = False


def _fixed(weight: int) -> Callable[[Params], int]:
    return lambda _params: weight


class TradingApi:
    """The handlers, bound to the engine, the limiter and the venue's clock."""

    def __init__(
        self,
        *,
        engine: MatchingEngine,
        limiter: RateLimiter,
        counters: Counters,
        now_ms: Callable[[], int],
        uid: int,
    ) -> None:
        self._engine = engine
        self._limiter = limiter
        self._counters = counters
        self._now = now_ms
        self._uid = uid
        ping = Endpoint(_fixed(1), False, self.ping)
        server_time = Endpoint(_fixed(1), False, self.server_time)
        info = Endpoint(_fixed(20), False, self.exchange_info)
        place = Endpoint(_fixed(1), True, self.new_order, places_order=True)
        test = Endpoint(_fixed(1), True, self.test_order)
        cancel = Endpoint(_fixed(1), True, self.cancel_order)
        cancel_all = Endpoint(_fixed(1), True, self.cancel_open_orders)
        status = Endpoint(_fixed(4), True, self.query_order)
        open_orders = Endpoint(lambda p: 6 if "symbol" in p else 80, True, self.open_orders)
        all_orders = Endpoint(_fixed(20), True, self.all_orders)
        trades = Endpoint(lambda p: 5 if "orderId" in p else 20, True, self.my_trades)
        account = Endpoint(_fixed(20), True, self.account)
        commission = Endpoint(_fixed(20), True, self.commission)
        self.rest_routes: dict[tuple[str, str], Endpoint] = {
            ("GET", "/api/v3/ping"): ping,
            ("GET", "/api/v3/time"): server_time,
            ("GET", "/api/v3/exchangeInfo"): info,
            ("POST", "/api/v3/order"): place,
            ("POST", "/api/v3/order/test"): test,
            ("DELETE", "/api/v3/order"): cancel,
            ("GET", "/api/v3/order"): status,
            ("DELETE", "/api/v3/openOrders"): cancel_all,
            ("GET", "/api/v3/openOrders"): open_orders,
            ("GET", "/api/v3/allOrders"): all_orders,
            ("GET", "/api/v3/myTrades"): trades,
            ("GET", "/api/v3/account"): account,
            ("GET", "/api/v3/account/commission"): commission,
        }
        self.ws_methods: dict[str, Endpoint] = {
            "ping": ping,
            "time": server_time,
            "exchangeInfo": info,
            "order.place": place,
            "order.test": test,
            "order.cancel": cancel,
            "order.status": status,
            "openOrders.cancelAll": cancel_all,
            "openOrders.status": open_orders,
            "allOrders": all_orders,
            "myTrades": trades,
            "account.status": account,
            "account.commission": commission,
        }

    # -- general -----------------------------------------------------------------------

    def ping(self, params: Params) -> dict[str, Any]:
        params.finish()
        return {}

    def server_time(self, params: Params) -> dict[str, Any]:
        params.finish()
        return {"serverTime": self._now()}

    def exchange_info(self, params: Params) -> dict[str, Any]:
        symbol = params.text("symbol")
        listed = params.text("symbols", max_length=4096)
        permissions = params.text("permissions", max_length=200)
        params.boolean("showPermissionSets")
        status = params.choice("symbolStatus", ("TRADING", "HALT", "BREAK"), invalid_value("symbolStatus"))
        params.finish()
        specs = self._engine.specs
        if symbol is not None and listed is not None:
            raise VenueError(-1128, "Combination of optional parameters invalid.")
        names = list(specs)
        if symbol is not None:
            names = [symbol]
        elif listed is not None:
            names = _symbol_list(listed)
        if any(name not in specs for name in names):
            raise bad_symbol()
        if status not in (None, "TRADING") or (permissions is not None and "SPOT" not in permissions):
            names = []  # every symbol here trades, on spot only
        return {
            "timezone": "UTC",
            "serverTime": self._now(),
            "rateLimits": self._limiter.limits.rate_limits(),
            "exchangeFilters": [],
            "symbols": [self._symbol_info(name) for name in names],
        }

    def _symbol_info(self, symbol: str) -> dict[str, Any]:
        spec = self._engine.specs[symbol]
        return {
            "symbol": symbol,
            "status": "TRADING",
            "baseAsset": spec.base_asset,
            "baseAssetPrecision": 8,
            "quoteAsset": spec.quote_asset,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": list(ORDER_TYPES),
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "amendAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": spec.filters.exchange_info(),
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": list(STP_MODES),
        }

    # -- orders --------------------------------------------------------------------------

    def new_order(self, params: Params) -> dict[str, Any]:
        request = parse_order(params, self._engine.specs)
        params.finish()
        return self.place(request)

    def place(self, request: OrderRequest) -> dict[str, Any]:
        """Place ``request``, counted against the order limits; the response body."""
        order, fills = self.place_order(request, external=False)
        return _placed(order, fills, request.response_type, self._now())

    def place_order(self, request: OrderRequest, *, external: bool) -> tuple[VenueOrder, list[Fill]]:
        """Place ``request`` (an ``external`` one is not counted against the order limits)."""
        try:
            self._engine.check_filters(request)
            if not external:
                self._limiter.admit_order()
            order, fills = self._engine.place(request, external=external)
        except VenueError:
            self._counters.orders_rejected += 1
            raise
        self._counters.orders_placed += 1
        return order, fills

    def test_order(self, params: Params) -> dict[str, Any]:
        request = parse_order(params, self._engine.specs)
        rates = params.boolean("computeCommissionRates")
        params.finish()
        self._engine.check_filters(request)
        if not rates:
            return {}
        engine = self._engine
        return {
            "standardCommissionForOrder": {
                "maker": fmt(engine.maker_commission),
                "taker": fmt(engine.taker_commission),
            },
            "taxCommissionForOrder": {"maker": fmt(Decimal(0)), "taker": fmt(Decimal(0))},
            "discount": _discount(),
        }

    def cancel_order(self, params: Params) -> dict[str, Any]:
        symbol = self._symbol(params)
        order_id, orig_id = _order_reference(params)
        cancel_id = client_id(params, "newClientOrderId")
        restriction = params.choice(
            "cancelRestrictions",
            ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"),
            VenueError(-1145, "Invalid cancelRestrictions"),
        )
        params.finish()
        order, cancel_id = self._engine.cancel(
            symbol,
            order_id=order_id,
            client_order_id=orig_id,
            cancel_client_id=cancel_id,
            restriction=restriction,
        )
        return order.canceled(cancel_id, self._now())

    def cancel_open_orders(self, params: Params) -> list[dict[str, Any]]:
        symbol = self._symbol(params)
        params.finish()
        now = self._now()
        return [order.canceled(cancel_id, now) for order, cancel_id in self._engine.cancel_all(symbol)]

    def query_order(self, params: Params) -> dict[str, Any]:
        symbol = self._symbol(params)
        order_id, orig_id = _order_reference(params)
        params.finish()
        return self._engine.ledger.get(symbol, order_id, orig_id).query()

    def open_orders(self, params: Params) -> list[dict[str, Any]]:
        symbol = params.text("symbol")
        params.finish()
        if symbol is not None and symbol not in self._engine.specs:
            raise bad_symbol()
        return [order.query() for order in self._engine.ledger.open_orders(symbol)]

    def all_orders(self, params: Params) -> list[dict[str, Any]]:
        symbol = self._symbol(params)
        from_id = params.integer("orderId")
        start, end = params.integer("startTime"), params.integer("endTime")
        limit = _limit(params)
        params.finish()
        orders = self._engine.ledger.all_orders(
            symbol, from_order_id=from_id, start_ms=start, end_ms=end, limit=limit
        )
        return [order.query() for order in orders]

    def my_trades(self, params: Params) -> list[dict[str, Any]]:
        symbol = self._symbol(params)
        order_id, from_id = params.integer("orderId"), params.integer("fromId")
        start, end = params.integer("startTime"), params.integer("endTime")
        limit = _limit(params)
        params.finish()
        trades = self._engine.ledger.my_trades(
            symbol, order_id=order_id, from_id=from_id, start_ms=start, end_ms=end, limit=limit
        )
        return [trade.order.trade_row(trade.fill) for trade in trades]

    # -- account -------------------------------------------------------------------------

    def account(self, params: Params) -> dict[str, Any]:
        omit_zero = params.boolean("omitZeroBalances") or False
        params.finish()
        engine = self._engine
        maker, taker = engine.maker_commission, engine.taker_commission
        balances = [
            {"asset": asset, "free": fmt(free), "locked": fmt(locked)}
            for asset, (free, locked) in engine.account.snapshot().items()
            if not omit_zero or free or locked
        ]
        return {
            "makerCommission": int(maker * 10_000),
            "takerCommission": int(taker * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": fmt(maker),
                "taker": fmt(taker),
                "buyer": fmt(Decimal(0)),
                "seller": fmt(Decimal(0)),
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self._now(),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": self._uid,
        }

    def commission(self, params: Params) -> dict[str, Any]:
        symbol = self._symbol(params)
        params.finish()
        engine = self._engine
        zero = fmt(Decimal(0))
        return {
            "symbol": symbol,
            "standardCommission": {
                "maker": fmt(engine.maker_commission),
                "taker": fmt(engine.taker_commission),
                "buyer": zero,
                "seller": zero,
            },
            "taxCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
            "discount": _discount(),
        }

    def _symbol(self, params: Params) -> str:
        symbol = params.text("symbol", required=True) or ""
        if symbol not in self._engine.specs:
            raise bad_symbol()
        return symbol


def _placed(order: VenueOrder, fills: list[Fill], response_type: str, now: int) -> dict[str, Any]:
    if response_type == "ACK":
        return order.ack(now)
    if response_type == "RESULT":
        return order.result(now)
    return order.full(now, fills)


def _order_reference(params: Params) -> tuple[int | None, str | None]:
    order_id = params.integer("orderId")
    orig_id = client_id(params, "origClientOrderId")
    if order_id is None and orig_id is None:
        raise one_of_mandatory("origClientOrderId", "orderId")
    return order_id, orig_id


def _limit(params: Params) -> int:
    limit = params.integer("limit")
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise illegal("limit", f"1 - {MAX_LIMIT}")
    return limit


def _symbol_list(text: str) -> list[str]:
    try:
        names = json.loads(text)
    except ValueError:
        raise invalid_value("symbols") from None
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise invalid_value("symbols")
    if len(set(names)) != len(names):
        raise VenueError(-1151, "Symbol is present multiple times in the list.")
    return names


def _discount() -> dict[str, Any]:
    return {
        "enabledForAccount": False,
        "enabledForSymbol": False,
        "discountAsset": "BNB",
        "discount": fmt(Decimal("0.75")),
    }
