"""Shared by the execution tests: sides and statuses by short name, limit intents, a market at a price."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from domain.identifiers import InstrumentId
from domain.intents import OrderIntent
from domain.orders import OrderStatus, OrderType, TimeInForce
from domain.values import OrderSide
from tests.builders import make_intent
from tests.unit.application.harness import BTC, Harness

BUY = OrderSide.BUY
SELL = OrderSide.SELL
S = OrderStatus
SEC = 1_000_000_000

Make = Callable[..., Harness]
"""The ``make`` fixture: ``make(**options)`` builds a harness (see ``harness.build``)."""


def limit(
    side: OrderSide = BUY,
    quantity: str = "1",
    price: str = "100",
    *,
    instrument_id: InstrumentId = BTC,
    time_in_force: TimeInForce = TimeInForce.GTC,
) -> OrderIntent:
    """A limit intent: by default a buy of 1 BTCUSDT at 100, good till canceled."""
    return make_intent(
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        price=price,
        instrument_id=instrument_id,
        time_in_force=time_in_force,
    )


def at(h: Harness, price: str, spread: str = "0.01", size: str = "10") -> None:
    """The market trades at ``price`` with a quote ``spread`` either side of it."""
    p, d = Decimal(price), Decimal(spread)
    h.quote(str(p - d), str(p + d), size)
    h.trade(price)
