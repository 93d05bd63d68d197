"""The balance rule of a spot account: an order must be payable from the free balance.

A spot venue refuses a sell beyond the free base and a buy beyond the free quote; refusing it
here first keeps the order from the venue. Free is the balance minus what working orders hold:
a sell its leaves of base, a buy its leaves × its price (limit, else ``last_price``) of quote.
Stop orders the engine holds lock nothing until they trigger, and fees are left to the venue,
which has the last word (so an order short only of its fee may still be refused there).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from domain.intents import OrderIntent
from domain.orders import Order, OrderType
from domain.portfolio import Portfolio
from domain.values import ZERO, OrderSide, exact_add, exact_mul, exact_sub, plain

from .reasons import RiskReason, RiskRejection


def balance_rule(
    intent: OrderIntent,
    portfolio: Portfolio,
    open_orders: Iterable[Order],
    last_price: Decimal | None,
    rejections: list[RiskRejection],
) -> None:
    """Append INSUFFICIENT_BALANCE when the free balance cannot pay for ``intent``.

    A buy whose price is unknown (a market order with no last trade) is left to the rules that
    need a price."""
    instrument = portfolio.instruments[intent.instrument_id]
    buy = intent.side is OrderSide.BUY
    asset = instrument.quote if buy else instrument.base
    if buy:
        price = _price_of(intent.order_type, intent.price, intent.stop_price, last_price)
        if price is None:
            return
        needed = exact_mul(intent.quantity, price)
    else:
        needed = intent.quantity
    free = exact_sub(portfolio.account.balance(asset), locked(asset, portfolio, open_orders, last_price))
    if needed <= free:
        return
    verb = "buying" if buy else "selling"
    rejections.append(
        RiskRejection(
            reason=RiskReason.INSUFFICIENT_BALANCE,
            message=(
                f"{verb} {plain(intent.quantity)} {instrument.base} needs {plain(needed)} {asset},"
                f" only {plain(free)} {asset} is free (a spot account spends only what it holds)"
            ),
            limit=free,
            value=needed,
            instrument_id=intent.instrument_id,
        )
    )


def locked(
    asset: str, portfolio: Portfolio, open_orders: Iterable[Order], last_price: Decimal | None
) -> Decimal:
    """What the working orders hold of ``asset``: sells their leaves of base, buys of quote."""
    held = ZERO
    instruments = portfolio.instruments
    for order in open_orders:
        if order.status.is_terminal or order.order_type.has_stop:
            continue
        instrument = instruments.get(order.instrument_id)
        if instrument is None:
            continue
        leaves = exact_sub(order.quantity, order.filled_quantity)
        if order.side is OrderSide.SELL:
            if instrument.base == asset:
                held = exact_add(held, leaves)
        elif instrument.quote == asset:
            price = order.price if order.price is not None else last_price
            if price is not None:
                held = exact_add(held, exact_mul(leaves, price))
    return held


def _price_of(
    kind: OrderType, price: Decimal | None, stop: Decimal | None, last_price: Decimal | None
) -> Decimal | None:
    if kind.has_price and price is not None:
        return price
    if kind.has_stop and stop is not None:
        return stop
    return last_price
