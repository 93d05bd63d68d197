"""The paper venue's own account: the balances it holds for the trader, and what orders may spend.

A spot venue refuses an order the free balance cannot pay for (Binance: -2010, insufficient
balance), and locks what a resting order needs until it fills or is canceled. The paper venue
does the same from its own books, never the engine's portfolio: it starts from the starting
balances and moves them with its own fills (a buy adds base and pays quote plus the fee, a
sell the reverse; paper fees are paid in quote).

What an order needs, on arrival, from the free balance (total minus what resting orders lock):

- a sell: its quantity of base;
- a buy limit: price × quantity plus the fee at the higher of the maker and taker rates of
  the instrument's venue (a marketable buy fills at its limit or better, so this is never short);
- a buy market: what the fills it is about to get will cost, fee included (the venue knows
  them: the book walked, the quote's touch or the last trade price, slippage applied).

A resting sell locks its leaves of base; a resting buy its leaves × limit plus that fee.

Margin (``account = "margin"``), a deliberately simple rule: a sell may borrow the base asset
it does not hold, as long as the short it leaves (counting resting sells as filled) is worth
at most the account's equity × ``max_leverage``, both valued at the order's price; the equity
counts the instrument's base and quote balances only. Buys are never paid with borrowed quote;
there is no interest and no liquidation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from adapters.brokers.paper.config import PaperBrokerConfig
from adapters.brokers.paper.matching import WorkingOrder
from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from domain.market_data import BookLevel
from domain.orders import Fill, OrderType
from domain.values import EXACT, ZERO, OrderSide, exact_add, exact_mul, exact_sub, to_decimal

INSUFFICIENT_BALANCE = "insufficient balance"
_BPS = Decimal(10_000)


class VenueAccount:
    """Balances per asset as the venue holds them; ``refusal`` says why an order cannot be paid for.

    ``totals`` is the account's balance of every asset it has held (it may go negative only in
    the base asset of a margin account: borrowed).
    """

    __slots__ = ("_config", "_fee_rates", "_instruments", "_leverage", "_margin", "totals")

    def __init__(
        self,
        balances: Mapping[str, object],
        config: PaperBrokerConfig,
        instruments: Mapping[InstrumentId, Instrument],
    ) -> None:
        """Raises InvalidValue naming the asset of a malformed or negative starting balance."""
        self._instruments = instruments
        self.totals: dict[str, Decimal] = {}
        for asset, amount in balances.items():
            value = to_decimal(amount, f"balance of {asset}")
            if value < ZERO:
                raise ValueError(f"starting balance of {asset} must not be negative (was {amount})")
            self.totals[asset] = value
        self._margin = config.margin
        self._leverage = config.max_leverage
        self._config = config
        self._fee_rates: dict[str, Decimal] = {}

    def _fee_rate(self, instrument_id: InstrumentId) -> Decimal:
        """1 + the worst (highest) of the maker and taker rates of the instrument's venue."""
        venue = instrument_id.venue
        rate = self._fee_rates.get(venue)
        if rate is None:
            fees = self._config.fees_for(venue)
            worst = max(fees.maker_fee_bps, fees.taker_fee_bps, ZERO)
            rate = self._fee_rates[venue] = EXACT.add(Decimal(1), EXACT.divide(worst, _BPS))
        return rate

    def balance(self, asset: str) -> Decimal:
        return self.totals.get(asset, ZERO)

    def apply_fill(self, fill: Fill) -> None:
        """Move base and quote for one of the venue's fills (the fee is paid in quote)."""
        instrument = self._instruments[fill.instrument_id]
        notional = exact_mul(fill.quantity, fill.price)
        base, quote = instrument.base, instrument.quote
        if fill.side is OrderSide.BUY:
            self.totals[base] = exact_add(self.balance(base), fill.quantity)
            self.totals[quote] = exact_sub(self.balance(quote), exact_add(notional, fill.fee))
        else:
            self.totals[base] = exact_sub(self.balance(base), fill.quantity)
            self.totals[quote] = exact_sub(exact_add(self.balance(quote), notional), fill.fee)

    def locked(self, asset: str, working: Iterable[WorkingOrder]) -> Decimal:
        """What the resting orders among ``working`` hold of ``asset`` until they fill or cancel."""
        held = ZERO
        for order in working:
            instrument = self._instruments.get(order.instrument_id)
            if instrument is None or order.order_type is not OrderType.LIMIT or not order.leaves:
                continue
            if order.side is OrderSide.SELL and instrument.base == asset:
                held = exact_add(held, order.leaves)
            elif order.side is OrderSide.BUY and instrument.quote == asset:
                held = exact_add(held, self._buy_cost(order.leaves, order.limit, order.instrument_id))
            # (an order locks nothing of an asset it neither sells nor pays with)
        return held

    def refusal(
        self,
        order: WorkingOrder,
        instrument: Instrument,
        working: Iterable[WorkingOrder],
        takes: list[BookLevel] | None,
    ) -> str | None:
        """Why the free balance cannot pay for ``order``, or None.

        ``takes`` are the fills a market order is about to get (price paid, quantity); None
        for a limit order, which is charged at its limit."""
        orders = list(working)
        if order.side is OrderSide.BUY:
            asset = instrument.quote
            if takes is None:
                needed = self._buy_cost(order.leaves, order.limit, instrument.id)
            else:
                spent = ZERO
                for price, size in takes:
                    spent = exact_add(spent, exact_mul(price, size))
                needed = EXACT.multiply(spent, self._fee_rate(instrument.id))
            free = exact_sub(self.balance(asset), self.locked(asset, orders))
            if needed > free:
                return (
                    f"{INSUFFICIENT_BALANCE}: buying {order.quantity} {instrument.base} needs up to"
                    f" {_show(needed)} {asset}, {_show(free)} {asset} is free"
                )
            return None
        base = instrument.base
        free = exact_sub(self.balance(base), self.locked(base, orders))
        if order.leaves <= free:
            return None
        if not self._margin:
            return (
                f"{INSUFFICIENT_BALANCE}: selling {order.quantity} {base} needs {order.leaves} {base},"
                f" {_show(free)} {base} is free (a spot account cannot sell short)"
            )
        if takes is None:
            price = order.limit
        elif takes:
            price = takes[-1][0]  # the worst price it sells at
        else:
            return None  # nothing to take: the order expires unfilled, borrowing nothing
        short = exact_mul(exact_sub(order.leaves, free), price)
        equity = exact_add(self.balance(instrument.quote), exact_mul(self.balance(base), price))
        allowed = EXACT.multiply(equity, self._leverage)
        if short > allowed:
            return (
                f"{INSUFFICIENT_BALANCE}: a short of {_show(short)} {instrument.quote} in {base} exceeds"
                f" the margin allowed, equity {_show(equity)} × leverage {self._leverage} = {_show(allowed)}"
            )
        return None

    def _buy_cost(self, quantity: Decimal, price: Decimal, instrument_id: InstrumentId) -> Decimal:
        return EXACT.multiply(exact_mul(quantity, price), self._fee_rate(instrument_id))


def _show(amount: Decimal) -> str:
    """``amount`` without trailing zeros or an exponent, for a reason a person reads."""
    return f"{amount.normalize():f}" if amount else "0"
