"""The pre-trade rules, one function each: they read the facts of a check and append rejections."""

from __future__ import annotations

from decimal import Decimal

from domain.identifiers import InstrumentId
from domain.intents import OrderIntent
from domain.orders import OrderType
from domain.portfolio import MissingMark, Portfolio
from domain.values import ROUNDED, ZERO, OrderSide, divide, exact_add, exact_sub, plain

from ._text import duration, percent
from .data_usability import MarketDataState
from .limits import RiskLimits
from .reasons import RiskReason, RiskRejection
from .throttle import OrderRateThrottle
from .trading_state import TradingState

_R = RiskReason


class Facts:
    """What one check computes once and every rule reads (worst-case positions, prices)."""

    __slots__ = (
        "after",
        "before",
        "book",
        "check_price",
        "held",
        "intent",
        "last_price",
        "open_count",
        "portfolio",
        "reduces",
        "same_side",
    )

    def __init__(
        self,
        intent: OrderIntent,
        portfolio: Portfolio,
        *,
        held: Decimal,
        same_side: Decimal,
        open_count: int,
        book: dict[InstrumentId, list[Decimal]],
        last_price: Decimal | None,
    ) -> None:
        self.intent = intent
        self.portfolio = portfolio
        self.held = held
        self.same_side = same_side
        self.open_count = open_count
        self.book = book
        self.last_price = last_price
        buy = intent.side is OrderSide.BUY
        # The worst-case position on the intent's side, without and with the intent.
        # Quantities add exactly (the operators would round to the 28-digit thread context).
        self.before = exact_add(held, same_side) if buy else exact_sub(held, same_side)
        quantity = intent.quantity
        self.after = exact_add(self.before, quantity) if buy else exact_sub(self.before, quantity)
        self.reduces = _reduces(self.before, self.after)
        kind = intent.order_type
        if kind is OrderType.MARKET:
            self.check_price = last_price
        elif kind.has_price:
            self.check_price = intent.price
        else:
            self.check_price = intent.stop_price

    def move(self) -> str:
        intent = self.intent
        return (
            f"{intent.side.name} {plain(intent.quantity)} would take the worst-case {intent.instrument_id}"
            f" position from {plain(self.before)} to {plain(self.after)}"
        )


def _reduces(before: Decimal, after: Decimal) -> bool:
    """True when ``after`` is closer to zero than ``before`` on the same side (or flat)."""
    if before > ZERO:
        return ZERO <= after < before
    if before < ZERO:
        return before < after <= ZERO
    return False


def trading_state_rule(facts: Facts, state: TradingState, out: list[RiskRejection]) -> None:
    """HALTED rejects all; REDUCE_ONLY, or a reduce-only intent, rejects what does not reduce."""
    intent = facts.intent
    if state is TradingState.HALTED:
        out.append(
            RiskRejection(reason=_R.TRADING_HALTED, message="trading is HALTED: no order may be placed")
        )
    elif not facts.reduces and (state is TradingState.REDUCE_ONLY or intent.reduce_only):
        why = "trading is REDUCE_ONLY" if state is TradingState.REDUCE_ONLY else "the intent is reduce-only"
        out.append(
            RiskRejection(
                reason=_R.REDUCE_ONLY,
                message=f"{why} but this {facts.move()}: only an order that reduces |position| may pass",
                value=facts.after,
                instrument_id=intent.instrument_id,
            )
        )


def quantity_rules(facts: Facts, limits: RiskLimits, out: list[RiskRejection]) -> None:
    """Max order quantity, and the worst-case position against the max position."""
    intent = facts.intent
    iid = intent.instrument_id
    quantity = intent.quantity
    max_quantity = limits.order_quantity_limit(iid)
    if max_quantity is not None and quantity > max_quantity:
        out.append(
            RiskRejection(
                reason=_R.MAX_ORDER_QUANTITY,
                message=f"order quantity {plain(quantity)} exceeds the max order quantity"
                f" {plain(max_quantity)} for {iid}",
                limit=max_quantity,
                value=quantity,
                instrument_id=iid,
            )
        )
    max_position = limits.position_limit(iid)
    if max_position is not None and facts.after.copy_abs() > max_position and not facts.reduces:
        out.append(
            RiskRejection(
                reason=_R.MAX_POSITION,
                message=f"this {facts.move()} (position {plain(facts.held)}, same-side open orders"
                f" {plain(facts.same_side)}), beyond the max position {plain(max_position)}",
                limit=max_position,
                value=facts.after.copy_abs(),
                instrument_id=iid,
            )
        )


def count_rules(
    facts: Facts,
    limits: RiskLimits,
    throttle: OrderRateThrottle | None,
    now_ns: int,
    out: list[RiskRejection],
) -> None:
    """Max open orders and the order-rate window."""
    max_open = limits.max_open_orders
    if max_open is not None and facts.open_count >= max_open:
        out.append(
            RiskRejection(
                reason=_R.MAX_OPEN_ORDERS,
                message=f"{facts.open_count + 1} open orders would exceed the max open orders {max_open}",
                limit=max_open,
                value=facts.open_count + 1,
            )
        )
    if throttle is not None and not throttle.allow(now_ns):
        window = duration(throttle.window_ns)
        count = throttle.count(now_ns) + 1
        retry = duration(throttle.retry_after_ns(now_ns))
        out.append(
            RiskRejection(
                reason=_R.RATE_LIMIT,
                message=f"{count} orders within {window} would exceed the rate limit of"
                f" {throttle.max_orders} per {window} (next slot in {retry})",
                limit=throttle.max_orders,
                value=count,
            )
        )


def feed_rules(data: MarketDataState | None, out: list[RiskRejection]) -> None:
    """FEED_DOWN while the instrument's feed is disconnected, BOOK_OUT_OF_SYNC while its book is:
    the last price then describes a market nobody can see any more."""
    if data is None:
        return
    if not data.connected:
        out.append(_data_rejection(data, _R.FEED_DOWN))
    if data.book_synced is False:
        out.append(_data_rejection(data, _R.BOOK_OUT_OF_SYNC))


def _data_rejection(data: MarketDataState, reason: RiskReason) -> RiskRejection:
    message = data.feed_down_message() if reason is _R.FEED_DOWN else data.book_message()
    return RiskRejection(
        reason=reason, message=f"{message}; no new order until it is back", instrument_id=data.instrument_id
    )


def market_data_rules(
    facts: Facts, limits: RiskLimits, last_price_ts: int | None, now_ns: int, out: list[RiskRejection]
) -> None:
    """NO_MARKET_DATA when a rule needs the last price and there is none; the staleness guard."""
    intent = facts.intent
    iid = intent.instrument_id
    max_age = limits.max_data_age_ns
    if facts.last_price is None:
        needs_value = limits.max_order_notional is not None or limits.max_gross_exposure is not None
        band = limits.price_band_fraction is not None and intent.price is not None
        if max_age is not None or band or (needs_value and facts.check_price is None):
            out.append(
                RiskRejection(
                    reason=_R.NO_MARKET_DATA,
                    message=f"no last trade price for {iid}:"
                    f" cannot check the {intent.order_type.value} order",
                    instrument_id=iid,
                )
            )
    elif max_age is not None:
        if last_price_ts is None:
            out.append(
                RiskRejection(
                    reason=_R.STALE_MARKET_DATA,
                    message=f"the age of the last {iid} trade is unknown (max data age {duration(max_age)})",
                    limit=max_age,
                    instrument_id=iid,
                )
            )
        elif now_ns - last_price_ts > max_age:
            age = now_ns - last_price_ts
            out.append(
                RiskRejection(
                    reason=_R.STALE_MARKET_DATA,
                    message=f"the last {iid} trade is {duration(age)} old, older than the max data"
                    f" age {duration(max_age)}",
                    limit=max_age,
                    value=age,
                    instrument_id=iid,
                )
            )


def value_rules(facts: Facts, limits: RiskLimits, out: list[RiskRejection]) -> None:
    """Max order notional and max gross exposure, in the valuation currency."""
    max_notional = limits.max_order_notional
    max_gross = limits.max_gross_exposure
    price = facts.check_price
    if (max_notional is None and max_gross is None) or price is None:
        return
    intent = facts.intent
    iid = intent.instrument_id
    portfolio = facts.portfolio
    currency = portfolio.valuation_currency
    quote = portfolio.instruments[iid].quote
    try:
        rate = portfolio.price_of(quote)
    except MissingMark:
        out.append(
            RiskRejection(
                reason=_R.NO_MARKET_DATA,
                message=f"no mark to value {quote} in {currency}: cannot check the {iid} order",
                instrument_id=iid,
            )
        )
        return
    quantity = intent.quantity
    if max_notional is not None:
        notional = ROUNDED.multiply(ROUNDED.multiply(quantity, price), rate)
        if notional > max_notional:
            out.append(
                RiskRejection(
                    reason=_R.MAX_ORDER_NOTIONAL,
                    message=f"order notional {plain(notional)} {currency} exceeds the max order notional"
                    f" {plain(max_notional)} {currency} for {iid}",
                    limit=max_notional,
                    value=notional,
                    instrument_id=iid,
                )
            )
    if max_gross is not None:
        last = facts.last_price
        unit = ROUNDED.multiply(price if last is None or price >= last else last, rate)
        before, after = own_exposure(facts.held, facts.book.get(iid), intent)
        own_before = ROUNDED.multiply(before, unit)
        own_after = ROUNDED.multiply(after, unit)
        rest = other_exposure(portfolio, facts.book, iid, out)
        if rest is None:
            return
        gross = ROUNDED.add(rest, own_after)
        if gross > max_gross and own_after > own_before:
            out.append(
                RiskRejection(
                    reason=_R.MAX_GROSS_EXPOSURE,
                    message=f"worst-case gross exposure {plain(gross)} {currency} would exceed the max"
                    f" gross exposure {plain(max_gross)} {currency} with this {intent.side.name}"
                    f" {plain(quantity)} {iid}",
                    limit=max_gross,
                    value=gross,
                    instrument_id=iid,
                )
            )


def own_exposure(held: Decimal, leaves: list[Decimal] | None, intent: OrderIntent) -> tuple[Decimal, Decimal]:
    """Worst-case |position| of the intent's instrument before and after adding the intent."""
    buys, sells = leaves if leaves is not None else (ZERO, ZERO)
    if intent.side is OrderSide.BUY:
        buys = exact_add(buys, intent.quantity)
    else:
        sells = exact_add(sells, intent.quantity)
    return worst_quantity(held, leaves), worst_quantity(held, [buys, sells])


def worst_quantity(held: Decimal, leaves: list[Decimal] | None) -> Decimal:
    """Largest |position| the working orders can reach: all buys fill, or all sells do."""
    if leaves is None:
        return held.copy_abs()
    return max(exact_add(held, leaves[0]).copy_abs(), exact_sub(held, leaves[1]).copy_abs())


def other_exposure(
    portfolio: Portfolio,
    book: dict[InstrumentId, list[Decimal]],
    skip: InstrumentId,
    out: list[RiskRejection],
) -> Decimal | None:
    """Worst-case exposure of every instrument but ``skip`` at its mark; None if one has no mark."""
    total = ZERO
    missing: list[str] = []
    positions = portfolio.positions
    for iid, position in positions.items():
        if iid != skip and (position.quantity or iid in book):
            total = _add_exposure(
                portfolio, iid, worst_quantity(position.quantity, book.get(iid)), total, missing
            )
    for iid, leaves in book.items():
        if iid != skip and iid not in positions:
            total = _add_exposure(portfolio, iid, worst_quantity(ZERO, leaves), total, missing)
    if missing:
        out.append(
            RiskRejection(
                reason=_R.NO_MARKET_DATA,
                message=f"no mark to value the exposure in {', '.join(sorted(missing))}:"
                " cannot check the max gross exposure",
            )
        )
        return None
    return total


def _add_exposure(
    portfolio: Portfolio, iid: InstrumentId, quantity: Decimal, total: Decimal, missing: list[str]
) -> Decimal:
    if not quantity:
        return total
    mark = portfolio.marks.get(iid)
    if mark is None:
        missing.append(str(iid))
        return total
    try:
        rate = portfolio.price_of(portfolio.instruments[iid].quote)
    except MissingMark:
        missing.append(str(iid))
        return total
    return ROUNDED.add(total, ROUNDED.multiply(ROUNDED.multiply(quantity, mark), rate))


def price_band_rule(facts: Facts, limits: RiskLimits, out: list[RiskRejection]) -> None:
    """A limit price at most ``price_band_fraction`` away from the last trade."""
    band = limits.price_band_fraction
    last = facts.last_price
    price = facts.intent.price
    if band is None or last is None or price is None:
        return
    deviation = ROUNDED.subtract(price, last).copy_abs()
    if deviation > ROUNDED.multiply(band, last):
        fraction = divide(deviation, last)
        iid = facts.intent.instrument_id
        out.append(
            RiskRejection(
                reason=_R.PRICE_BAND,
                message=f"limit price {plain(price)} is {percent(fraction)} from the last trade"
                f" {plain(last)} for {iid}, beyond the price band {percent(band)}",
                limit=band,
                value=fraction,
                instrument_id=iid,
            )
        )
