"""Pre-trade risk: every rule an order intent must pass before it becomes an order."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.intents import OrderIntent
from domain.orders import Order
from domain.portfolio import Portfolio
from domain.values import ZERO, OrderSide, exact_add, exact_sub

from .balances import balance_rule
from .data_usability import MarketDataState
from .limits import RiskLimits
from .reasons import APPROVED, RiskDecision, RiskRejection
from .rules import (
    Facts,
    count_rules,
    feed_rules,
    market_data_rules,
    price_band_rule,
    quantity_rules,
    trading_state_rule,
    value_rules,
)
from .throttle import OrderRateThrottle
from .trading_state import TradingState


class PreTradeRisk:
    """Checks an OrderIntent against RiskLimits and returns a RiskDecision listing every failure.

    Rules (each skipped when its limit is None):

    - trading state: HALTED rejects everything; REDUCE_ONLY (and an intent flagged
      ``reduce_only``) rejects what does not reduce the worst-case |position|;
    - max order quantity (per-instrument override first) and max order notional;
    - max position: the worst-case position on the intent's side (position + same-side
      leaves of the working orders + the intent) must stay within the limit;
    - max gross exposure: the sum over instruments of the worst-case |position| (all buys
      fill, or all sells do) times its price must stay within the limit;
    - price band: a limit price at most ``price_band_fraction`` away from the last trade;
    - order rate, max open orders, stale market data;
    - free balance (``spot_account``): a sell needs the free base, a buy the free quote
      (``balances.py``): INSUFFICIENT_BALANCE;
    - usable market data (given ``data``): FEED_DOWN while the instrument's feed is
      disconnected, BOOK_OUT_OF_SYNC while its book is, whatever the last price says.

    The position and exposure rules never block an intent that makes their measure no
    worse (so a position over a lowered limit can still be cut). Prices: a market order
    is valued at ``last_price``, a limit or stop-limit at its limit price, a stop-market at
    its stop price; for exposure, the intent's instrument is valued at the higher of that
    price and ``last_price`` and every other instrument at its portfolio mark. A rule that
    needs a price it does not have rejects with NO_MARKET_DATA. Amounts are converted to the
    valuation currency through ``portfolio.price_of(quote)``.

    Throttle: ``check`` records the order in the rate window when (and only when) it
    approves, so a rejected intent never uses the budget; pass ``record=False`` for a
    what-if check and call ``record_submission`` yourself if the order is then sent.
    """

    __slots__ = ("_limits", "_throttle")

    def __init__(self, limits: RiskLimits) -> None:
        if not isinstance(limits, RiskLimits):
            raise InvalidValue("limits", limits, "must be a RiskLimits")
        self._limits = limits
        self._throttle = _throttle_for(limits, None)

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @property
    def throttle(self) -> OrderRateThrottle | None:
        return self._throttle

    def update_limits(self, limits: RiskLimits) -> None:
        """Use ``limits`` from the next check on; the orders already in the rate window stay.

        Raises InvalidValue for something that is not RiskLimits.
        """
        if not isinstance(limits, RiskLimits):
            raise InvalidValue("limits", limits, "must be a RiskLimits")
        self._limits = limits
        self._throttle = _throttle_for(limits, self._throttle)

    def record_submission(self, now_ns: int) -> None:
        """Count an order sent at ``now_ns`` in the rate window (after a ``record=False`` check)."""
        if self._throttle is not None:
            self._throttle.record(now_ns)

    def check(
        self,
        intent: OrderIntent,
        *,
        portfolio: Portfolio,
        open_orders: Sequence[Order],
        last_price: Decimal | None,
        last_price_ts: int | None,
        now_ns: int,
        trading_state: TradingState,
        data: MarketDataState | None = None,
        spot_account: bool = False,
        record: bool = True,
    ) -> RiskDecision:
        """Apply every rule to ``intent``; approved when no rule fails.

        ``open_orders`` are the working orders: every non-terminal order counts, including
        one created but not yet sent. ``last_price`` and ``last_price_ts`` describe the last
        trade of the intent's instrument; ``data`` the state of its market data (None: the
        feed and book are not checked). With ``spot_account`` the portfolio's balances, less
        what the working orders lock, must pay for the intent. The portfolio is only read. Raises
        UnknownInstrument for an instrument the portfolio does not know, and InvalidValue
        for a malformed ``now_ns``, ``last_price``, ``last_price_ts`` or ``trading_state``
        or for ``now_ns`` going backwards (with a rate limit set).
        """
        if isinstance(now_ns, bool) or not isinstance(now_ns, int) or now_ns < 0:
            raise InvalidValue("now_ns", now_ns, "must be a non-negative integer of nanoseconds")
        if not isinstance(trading_state, TradingState):
            raise InvalidValue("trading_state", trading_state, "must be a TradingState")
        if data is not None and (
            not isinstance(data, MarketDataState) or data.instrument_id != intent.instrument_id
        ):
            raise InvalidValue("data", data, f"must be the MarketDataState of {intent.instrument_id} or None")
        if last_price is not None and (
            type(last_price) is not Decimal or not last_price.is_finite() or last_price <= ZERO
        ):
            raise InvalidValue("last_price", last_price, "must be a positive, finite Decimal or None")
        if last_price_ts is not None and (
            isinstance(last_price_ts, bool) or not isinstance(last_price_ts, int)
        ):
            raise InvalidValue("last_price_ts", last_price_ts, "must be an integer of nanoseconds or None")
        limits = self._limits
        iid = intent.instrument_id
        portfolio.instruments[iid]  # raises UnknownInstrument
        side = intent.side
        want_book = limits.max_gross_exposure is not None
        # One pass over the working orders: count, same-side leaves, leaves per instrument.
        open_count = 0
        same_side = ZERO
        book: dict[InstrumentId, list[Decimal]] = {}
        for order in open_orders:
            if order.status.is_terminal:
                continue
            open_count += 1
            leaves = exact_sub(order.quantity, order.filled_quantity)
            if order.side is side and order.instrument_id == iid:
                same_side = exact_add(same_side, leaves)
            if want_book:
                entry = book.get(order.instrument_id)
                if entry is None:
                    entry = book[order.instrument_id] = [ZERO, ZERO]
                slot = 0 if order.side is OrderSide.BUY else 1
                entry[slot] = exact_add(entry[slot], leaves)
        position = portfolio.positions.get(iid)
        facts = Facts(
            intent,
            portfolio,
            held=position.quantity if position is not None else ZERO,
            same_side=same_side,
            open_count=open_count,
            book=book,
            last_price=last_price,
        )
        rejections: list[RiskRejection] = []
        trading_state_rule(facts, trading_state, rejections)
        quantity_rules(facts, limits, rejections)
        count_rules(facts, limits, self._throttle, now_ns, rejections)
        feed_rules(data, rejections)
        market_data_rules(facts, limits, last_price_ts, now_ns, rejections)
        value_rules(facts, limits, rejections)
        price_band_rule(facts, limits, rejections)
        if spot_account:
            balance_rule(intent, portfolio, open_orders, last_price, rejections)
        if rejections:
            return RiskDecision(tuple(rejections))
        if record and self._throttle is not None:
            self._throttle.record(now_ns)
        return APPROVED


def _throttle_for(limits: RiskLimits, old: OrderRateThrottle | None) -> OrderRateThrottle | None:
    if limits.max_orders_per_window is None or limits.window_ns is None:
        return None
    if old is not None and (old.max_orders, old.window_ns) == (
        limits.max_orders_per_window,
        limits.window_ns,
    ):
        return old
    history = old.history if old is not None else ()
    return OrderRateThrottle(limits.max_orders_per_window, limits.window_ns, history=history)
