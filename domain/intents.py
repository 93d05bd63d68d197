"""Order intents: what sizing, stops and strategies ask for, before risk and the OMS."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidValue
from domain.identifiers import InstrumentId, StrategyId
from domain.orders import Order, OrderType, TimeInForce
from domain.values import OrderSide, positive


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderIntent:
    """A request to trade, not yet an order: risk checks it, the OMS turns it into one.

    ``post_only`` (LIMIT orders only) asks the venue to refuse the order rather than let it take
    liquidity. Raises InvalidValue for a non-positive quantity or price, a missing price/stop, a
    side, type or time in force that is not the enum, post_only on another type, or a bad timestamp.
    """

    strategy_id: StrategyId
    instrument_id: InstrumentId
    side: OrderSide
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    post_only: bool = False
    reason: str = ""
    ts_event: int

    def __post_init__(self) -> None:
        # The same checks as Order: a side given as "BUY" would silently sign the quantity negative.
        if not isinstance(self.side, OrderSide):
            raise InvalidValue("side", self.side, "must be BUY or SELL")
        if not isinstance(self.order_type, OrderType):
            raise InvalidValue("order_type", self.order_type, "must be an OrderType")
        if not isinstance(self.time_in_force, TimeInForce):
            raise InvalidValue("time_in_force", self.time_in_force, "must be GTC, IOC or FOK")
        if type(self.ts_event) is not int or self.ts_event < 0:
            raise InvalidValue("ts_event", self.ts_event, "must be a non-negative integer of nanoseconds")
        object.__setattr__(self, "quantity", positive(self.quantity, "quantity"))
        if self.order_type.has_price:
            object.__setattr__(self, "price", positive(self.price, "price"))
        elif self.price is not None:
            raise InvalidValue("price", self.price, f"must not be set on a {self.order_type.value} order")
        if self.order_type.has_stop:
            object.__setattr__(self, "stop_price", positive(self.stop_price, "stop_price"))
        elif self.stop_price is not None:
            raise InvalidValue(
                "stop_price", self.stop_price, f"must not be set on a {self.order_type.value} order"
            )
        if not isinstance(self.post_only, bool):
            raise InvalidValue("post_only", self.post_only, "must be true or false")
        if self.post_only and self.order_type is not OrderType.LIMIT:
            raise InvalidValue(
                "post_only", self.post_only, f"is only for a LIMIT order, not {self.order_type.value}"
            )

    def to_order(self, client_order_id: str, ts_init: int) -> Order:
        """The order for this intent: its terms were checked here, so only the client order id
        and ``ts_init`` are checked again (the OMS builds every order this way)."""
        return Order.with_checked_terms(
            client_order_id=client_order_id,
            instrument_id=self.instrument_id,
            side=self.side,
            order_type=self.order_type,
            quantity=self.quantity,
            price=self.price,
            stop_price=self.stop_price,
            time_in_force=self.time_in_force,
            strategy_id=self.strategy_id,
            reduce_only=self.reduce_only,
            post_only=self.post_only,
            ts_init=ts_init,
        )

    @property
    def signed_quantity(self) -> Decimal:
        # copy_negate, not unary minus: minus rounds to the 28-digit thread context.
        return self.quantity if self.side is OrderSide.BUY else self.quantity.copy_negate()
