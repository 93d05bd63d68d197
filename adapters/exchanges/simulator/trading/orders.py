"""An order on the simulated venue, its fills, and the JSON shapes the venue answers with.

The shapes are the venue's: ``ACK`` / ``RESULT`` / ``FULL`` for a new order (with the
misspelled ``cummulativeQuoteQty``), the query shape of ``GET /api/v3/order``, the cancel
shape, and a ``myTrades`` row. Every number leaves as an 8-decimal string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.exchanges.simulator.trading.filters import fmt

ZERO = Decimal(0)

LIMIT_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
ORDER_TYPES = (
    "LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT",
)  # fmt: skip
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})
STP_MODES = ("NONE", "EXPIRE_MAKER", "EXPIRE_TAKER", "EXPIRE_BOTH", "DECREMENT")


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order against the market."""

    trade_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_maker: bool

    def response(self) -> dict[str, Any]:
        """A ``fills`` entry of a FULL new-order response."""
        return {
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "commission": fmt(self.commission),
            "commissionAsset": self.commission_asset,
            "tradeId": self.trade_id,
        }


@dataclass(slots=True, kw_only=True)
class VenueOrder:
    """An order as the venue keeps it; mutated only by the matching engine."""

    symbol: str
    base_asset: str
    quote_asset: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    stop_price: Decimal
    stp_mode: str
    created_ms: int
    working_ms: int
    """When it started working: its creation, or -1 until a stop order triggers."""
    update_ms: int
    is_working: bool
    """On the book (a resting limit order); False for market and untriggered stop orders."""
    external: bool = False
    strategy_id: int | None = None
    strategy_type: int | None = None
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    locked: Decimal = ZERO
    """What the order still locks of ``lock_asset`` (quote for a BUY, base for a SELL)."""
    triggered: bool = False
    fills: list[Fill] = field(default_factory=list)

    @property
    def lock_asset(self) -> str:
        return self.quote_asset if self.side == "BUY" else self.base_asset

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_stop(self) -> bool:
        return self.type in STOP_TYPES

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    # -- JSON shapes ---------------------------------------------------------------------

    def ack(self, transact_ms: int) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "transactTime": transact_ms,
        }

    def result(self, transact_ms: int) -> dict[str, Any]:
        body = self.ack(transact_ms) | self._state()
        body["workingTime"] = self.working_ms
        body["selfTradePreventionMode"] = self.stp_mode
        body.update(self._conditional())
        return body

    def _state(self) -> dict[str, Any]:
        """What a new-order RESULT and a cancel answer both say of the order, in the venue's order."""
        return {
            "price": fmt(self.price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty),
            "origQuoteOrderQty": fmt(self.orig_quote_qty),
            "cummulativeQuoteQty": fmt(self.cum_quote),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
        }

    def full(self, transact_ms: int, fills: list[Fill]) -> dict[str, Any]:
        body = self.result(transact_ms)
        body["fills"] = [fill.response() for fill in fills]
        return body

    def query(self) -> dict[str, Any]:
        """The shape of ``GET /api/v3/order`` (and of each row of openOrders / allOrders)."""
        body: dict[str, Any] = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty),
            "cummulativeQuoteQty": fmt(self.cum_quote),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt(self.stop_price),
            "icebergQty": fmt(ZERO),
            "time": self.created_ms,
            "updateTime": self.update_ms,
            "isWorking": self.is_working,
            "workingTime": self.working_ms,
            "origQuoteOrderQty": fmt(self.orig_quote_qty),
            "selfTradePreventionMode": self.stp_mode,
        }
        if self.strategy_id is not None:
            body["strategyId"] = self.strategy_id
        if self.strategy_type is not None:
            body["strategyType"] = self.strategy_type
        return body

    def canceled(self, cancel_client_id: str, transact_ms: int) -> dict[str, Any]:
        """The answer to ``DELETE /api/v3/order``: ``clientOrderId`` is the cancel's own id."""
        body: dict[str, Any] = {
            "symbol": self.symbol,
            "origClientOrderId": self.client_order_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": cancel_client_id,
            "transactTime": transact_ms,
        }
        body.update(self._state())
        body["selfTradePreventionMode"] = self.stp_mode
        body.update(self._conditional())
        return body

    def trade_row(self, fill: Fill) -> dict[str, Any]:
        """One ``GET /api/v3/myTrades`` row for ``fill`` of this order."""
        return {
            "symbol": self.symbol,
            "id": fill.trade_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": fmt(fill.price),
            "qty": fmt(fill.qty),
            "quoteQty": fmt(fill.quote_qty),
            "commission": fmt(fill.commission),
            "commissionAsset": fill.commission_asset,
            "time": fill.time,
            "isBuyer": self.side == "BUY",
            "isMaker": fill.is_maker,
            "isBestMatch": True,
        }

    def _conditional(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.is_stop:
            extra["stopPrice"] = fmt(self.stop_price)
        if self.strategy_id is not None:
            extra["strategyId"] = self.strategy_id
        if self.strategy_type is not None:
            extra["strategyType"] = self.strategy_type
        return extra
