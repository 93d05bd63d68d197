"""Order intents: what sizing, stops and strategies ask for, before risk and the OMS."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidValue
from domain.identifiers import InstrumentId, StrategyId
from domain.orders import OrderType, TimeInForce
from domain.values import OrderSide, positive


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderIntent:
    """A request to trade, not yet an order: risk checks it, the OMS turns it into one.

    Raises InvalidValue for a non-positive quantity or price, or a missing price/stop.
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
    reason: str = ""
    ts_event: int

    def __post_init__(self) -> None:
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

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is OrderSide.BUY else -self.quantity
