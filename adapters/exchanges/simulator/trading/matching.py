"""The matching engine: the account's orders against the public market the venue observes.

- A MARKET order walks the book as it is (the account's orders never move the public book);
  what the book cannot fill EXPIRES. A BUY needs free quote for the walk (or its
  quoteOrderQty), a SELL free base.
- A LIMIT order that crosses takes liquidity as taker at the book's prices; the rest rests
  (GTC), expires (IOC), or, FOK, nothing happens unless all of it can fill. LIMIT_MAKER that
  would take is rejected.
- A resting order fills as maker, at its own price, when a public trade prints at or through
  it (up to the trade's size, in price-time priority) or when the book crosses it (up to
  the size of the crossing levels).
- Stop orders (STOP_LOSS*, TAKE_PROFIT*) wait off the book until a public trade reaches the
  stop price, then act as MARKET or LIMIT. One whose stop the last price already reached is
  rejected. A BUY stop locks stop price x quantity; triggered as MARKET it may draw more
  free quote, and what it still cannot pay for expires.
- Every fill pays the commission (maker or taker rate, rounded half up to 8 decimals) in the
  asset received. Reports follow the venue: NEW, one TRADE per fill, CANCELED, EXPIRED,
  REJECTED (``i`` = -1: no order was made), each followed by an ``outboundAccountPosition``
  when balances moved.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from adapters.exchanges.simulator.market import BOOK_TICKER, DEPTH, TRADE, MarketFrame, MarketSource
from adapters.exchanges.simulator.trading.accounts import Account
from adapters.exchanges.simulator.trading.errors import (
    DUPLICATE_ORDER,
    STOP_WOULD_TRIGGER,
    WOULD_TAKE,
    VenueError,
    bad_symbol,
    cancel_rejected,
    filter_failure,
    order_rejected,
)
from adapters.exchanges.simulator.trading.filters import UNIT, SymbolFilters, check_precision
from adapters.exchanges.simulator.trading.ledger import OrderLedger
from adapters.exchanges.simulator.trading.order_params import OrderRequest
from adapters.exchanges.simulator.trading.orders import LIMIT_TYPES, Fill, VenueOrder
from adapters.exchanges.simulator.trading.prices import PriceTracker
from adapters.exchanges.simulator.trading.reports import account_position, execution_report
from adapters.exchanges.simulator.trading.walk import (
    Level,
    plan_walk,
    quote_ceiling,
    quote_of,
    total_qty,
    total_quote,
)

ZERO = Decimal(0)
_ID_ALPHABET = string.ascii_letters + string.digits

Publish = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """A tradable symbol: its assets and its filters."""

    symbol: str
    base_asset: str
    quote_asset: str
    filters: SymbolFilters


class MatchingEngine:
    """Places, fills, triggers and cancels the account's orders; publishes every report."""

    def __init__(
        self,
        *,
        market: MarketSource,
        specs: Mapping[str, SymbolSpec],
        account: Account,
        maker_commission: Decimal,
        taker_commission: Decimal,
        now_ms: Callable[[], int],
        publish: Publish,
        seed: int,
    ) -> None:
        self._market = market
        self.specs = dict(specs)
        self.account = account
        self.maker_commission = maker_commission
        self.taker_commission = taker_commission
        self._now = now_ms
        self._publish = publish
        self._random = random.Random(f"{seed}:trading")
        self.ledger = OrderLedger(tuple(self.specs))
        self.prices = PriceTracker(max(spec.filters.avg_price_mins for spec in self.specs.values()))
        self._next_order_id = {symbol: self._random.randint(1_000, 9_000_000) for symbol in self.specs}
        self._next_trade_id = {symbol: self._random.randint(1_000, 9_000_000) for symbol in self.specs}
        self._execution_id = self._random.randint(1_000, 9_000_000)

    # -- placing -----------------------------------------------------------------------

    def spec(self, symbol: str) -> SymbolSpec:
        spec = self.specs.get(symbol)
        if spec is None:
            raise bad_symbol()
        return spec

    def check_filters(self, request: OrderRequest) -> None:
        """Precision and the symbol's filters, in the venue's order (PRICE, LOT, MARKET_LOT, NOTIONAL)."""
        spec = self.spec(request.symbol)
        filters = spec.filters
        for value in (request.quantity, request.quote_order_qty, request.price, request.stop_price):
            if value is not None:
                check_precision(value)
        for price in (request.price, request.stop_price):
            if price is not None:
                filters.check_price(price)
        if request.quantity is not None:
            filters.check_quantity(request.quantity)
            if request.type == "MARKET":
                filters.check_market_quantity(request.quantity)
        if request.quote_order_qty is not None and request.quote_order_qty <= 0:
            raise filter_failure("NOTIONAL")
        notional, market = self._notional(request)
        if notional is not None:
            filters.check_notional(notional, market=market)

    def place(self, request: OrderRequest, *, external: bool = False) -> tuple[VenueOrder, list[Fill]]:
        """Accept ``request`` (and execute what it can now), or raise the venue's refusal."""
        spec = self.spec(request.symbol)
        self.check_filters(request)
        if request.client_order_id is not None and self.ledger.open_client_id(
            request.symbol, request.client_order_id
        ):
            raise order_rejected(DUPLICATE_ORDER)
        now = self._now()
        order = self._new_order(spec, request, now, external)
        book = self._market.book(request.symbol)
        if order.is_stop and self._stop_reached(order, self.prices.last(order.symbol, book)):
            self._reject(order, "STOP_PRICE_WOULD_TRIGGER_IMMEDIATELY", STOP_WOULD_TRIGGER)
        opposite = book.asks if order.side == "BUY" else book.bids
        if order.type == "LIMIT_MAKER" and self._crosses(order, opposite):
            self._reject(order, "WOULD_MATCH_IMMEDIATELY", WOULD_TAKE)
        plan: list[Level] = []
        if order.type == "MARKET":
            plan = self._market_plan(order, request)
            if not plan and opposite:
                raise filter_failure("LOT_SIZE")  # a quote amount too small to buy one step
            if request.quote_order_qty is not None:
                order.orig_qty = total_qty(plan)
        lock = self._lock_for(order, request, plan)
        try:
            self.account.lock(order.lock_asset, lock)
        except VenueError as error:
            self._reject(order, "INSUFFICIENT_BALANCES", error.msg)
        order.locked = lock
        spec_ids = self._next_order_id
        order.order_id = spec_ids[order.symbol]
        spec_ids[order.symbol] += 1
        self.ledger.add(order)
        self._report(order, "NEW")
        fills: list[Fill] = []
        if order.type == "MARKET":
            self._execute(order, plan, is_maker=False, fills=fills)
            self._expire_rest(order)
        elif order.type == "LIMIT":
            self._work_limit(order, fills)
        return order, fills

    def _new_order(self, spec: SymbolSpec, request: OrderRequest, now: int, external: bool) -> VenueOrder:
        stop = request.type in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
        return VenueOrder(
            symbol=spec.symbol,
            base_asset=spec.base_asset,
            quote_asset=spec.quote_asset,
            order_id=-1,
            client_order_id=request.client_order_id or self.new_client_id(),
            side=request.side,
            type=request.type,
            time_in_force=request.time_in_force or "GTC",
            price=request.price or ZERO,
            orig_qty=request.quantity or ZERO,
            orig_quote_qty=request.quote_order_qty or ZERO,
            stop_price=request.stop_price or ZERO,
            stp_mode=request.stp_mode or "EXPIRE_MAKER",
            created_ms=now,
            working_ms=-1 if stop else now,
            update_ms=now,
            is_working=request.type == "LIMIT_MAKER",
            external=external,
            strategy_id=request.strategy_id,
            strategy_type=request.strategy_type,
        )

    def _notional(self, request: OrderRequest) -> tuple[Decimal | None, bool]:
        if request.quote_order_qty is not None:
            return request.quote_order_qty, True
        quantity = request.quantity or ZERO
        if request.type in LIMIT_TYPES and request.price is not None:
            return request.price * quantity, False
        if request.type == "MARKET":
            spec = self.spec(request.symbol)
            book = self._market.book(request.symbol)
            average = self.prices.average(
                request.symbol, book, now_ms=self._now(), minutes=spec.filters.avg_price_mins
            )
            return (None if average is None else average * quantity), True
        return (request.stop_price or ZERO) * quantity, True

    def _market_plan(self, order: VenueOrder, request: OrderRequest) -> list[Level]:
        book = self._market.book(order.symbol)
        levels = book.asks if order.side == "BUY" else book.bids
        step = self.spec(order.symbol).filters.step_size
        if request.quote_order_qty is not None:
            return plan_walk(levels, side=order.side, step=step, max_quote=request.quote_order_qty)
        return plan_walk(levels, side=order.side, step=step, max_qty=order.orig_qty)

    def _lock_for(self, order: VenueOrder, request: OrderRequest, plan: list[Level]) -> Decimal:
        if order.side == "SELL":
            return total_qty(plan) if request.quote_order_qty is not None else order.orig_qty
        if order.type == "MARKET":
            return request.quote_order_qty if request.quote_order_qty is not None else total_quote(plan)
        price = order.price if order.type in LIMIT_TYPES else order.stop_price
        return quote_ceiling(price, order.orig_qty)

    def _reject(self, order: VenueOrder, reason: str, msg: str) -> None:
        order.status = "REJECTED"
        self._report(order, "REJECTED", reject_reason=reason)
        raise order_rejected(msg)

    # -- working an order ----------------------------------------------------------------

    def _work_limit(self, order: VenueOrder, fills: list[Fill]) -> None:
        """A LIMIT order (placed, or a triggered stop-limit): take what crosses, then rest or expire."""
        book = self._market.book(order.symbol)
        levels = book.asks if order.side == "BUY" else book.bids
        step = self.spec(order.symbol).filters.step_size
        plan = plan_walk(levels, side=order.side, step=step, max_qty=order.remaining, limit_price=order.price)
        if order.time_in_force == "FOK" and total_qty(plan) < order.remaining:
            plan = []
        self._execute(order, plan, is_maker=False, fills=fills)
        if order.is_open and order.time_in_force in ("IOC", "FOK"):
            self._expire_rest(order)
        elif order.is_open:
            order.is_working = True

    def _execute(
        self, order: VenueOrder, plan: Iterable[Level], *, is_maker: bool, fills: list[Fill]
    ) -> None:
        for price, qty in plan:
            fills.append(self._fill(order, price, qty, is_maker=is_maker))

    def _fill(self, order: VenueOrder, price: Decimal, qty: Decimal, *, is_maker: bool) -> Fill:
        account = self.account
        quote = quote_of(price, qty)
        rate = self.maker_commission if is_maker else self.taker_commission
        if order.side == "BUY":
            account.spend_locked(order.quote_asset, quote)
            order.locked -= quote
            commission = (qty * rate).quantize(UNIT, rounding=ROUND_HALF_UP)
            account.credit(order.base_asset, qty - commission)
            commission_asset = order.base_asset
        else:
            account.spend_locked(order.base_asset, qty)
            order.locked -= qty
            commission = (quote * rate).quantize(UNIT, rounding=ROUND_HALF_UP)
            account.credit(order.quote_asset, quote - commission)
            commission_asset = order.quote_asset
        now = self._now()
        trade_id = self._next_trade_id[order.symbol]
        self._next_trade_id[order.symbol] += 1
        fill = Fill(trade_id, price, qty, quote, commission, commission_asset, now, is_maker)
        order.executed_qty += qty
        order.cum_quote += quote
        order.update_ms = now
        order.fills.append(fill)
        order.status = "FILLED" if order.remaining <= 0 else "PARTIALLY_FILLED"
        if order.status == "FILLED":
            self._close(order)
        self.ledger.add_trade(order, fill)
        self._report(order, "TRADE", fill=fill)
        return fill

    def _expire_rest(self, order: VenueOrder) -> None:
        if order.is_open:
            order.status = "EXPIRED"
            order.update_ms = self._now()
            self._close(order)
            self._report(order, "EXPIRED")

    def _close(self, order: VenueOrder) -> None:
        """A final status: give back what the order still locks, free its client order id."""
        if order.locked:
            self.account.unlock(order.lock_asset, order.locked)
            order.locked = ZERO
        order.is_working = False
        self.ledger.closed(order)

    # -- canceling -----------------------------------------------------------------------

    def cancel(
        self,
        symbol: str,
        *,
        order_id: int | None,
        client_order_id: str | None,
        cancel_client_id: str | None = None,
        restriction: str | None = None,
    ) -> tuple[VenueOrder, str]:
        """Cancel an open order; -2011 when there is none such (or the restriction forbids it)."""
        self.spec(symbol)
        order = self.ledger.find(symbol, order_id, client_order_id)
        if order is None or not order.is_open:
            raise cancel_rejected()
        if restriction == "ONLY_NEW" and order.status != "NEW":
            raise cancel_rejected("Order was not canceled due to cancel restrictions.")
        if restriction == "ONLY_PARTIALLY_FILLED" and order.status != "PARTIALLY_FILLED":
            raise cancel_rejected("Order was not canceled due to cancel restrictions.")
        cancel_id = cancel_client_id or self.new_client_id()
        order.status = "CANCELED"
        order.update_ms = self._now()
        self._close(order)
        self._report(order, "CANCELED", client_order_id=cancel_id, orig_client_order_id=order.client_order_id)
        return order, cancel_id

    def cancel_all(self, symbol: str) -> list[tuple[VenueOrder, str]]:
        """Cancel every open order of ``symbol``; -2011 when there is none."""
        self.spec(symbol)
        orders = self.ledger.open_orders(symbol)
        if not orders:
            raise cancel_rejected()
        return [self.cancel(symbol, order_id=order.order_id, client_order_id=None) for order in orders]

    # -- the market ------------------------------------------------------------------------

    def observe(self, frames: Iterable[MarketFrame]) -> None:
        """The market stepped: trades fill resting orders and trigger stops, then books cross."""
        moved: list[str] = []
        for frame in frames:
            if frame.symbol not in self.specs:
                continue
            if frame.kind == TRADE:
                price, qty = Decimal(frame.payload["p"]), Decimal(frame.payload["q"])
                self.prices.observe(frame.symbol, price, qty, self._now())
                self._fill_on_trade(frame.symbol, price, qty)  # before the stops it triggers rest
                self._trigger_stops(frame.symbol, price)
            elif frame.kind in (DEPTH, BOOK_TICKER) and frame.symbol not in moved:
                moved.append(frame.symbol)
        for symbol in moved:
            self._fill_on_book(symbol)

    def _trigger_stops(self, symbol: str, price: Decimal) -> None:
        for order in self.ledger.open_orders(symbol):
            if order.is_stop and not order.triggered and self._stop_reached(order, price):
                self._trigger(order)

    def _trigger(self, order: VenueOrder) -> None:
        order.triggered = True
        order.working_ms = order.update_ms = self._now()
        if order.type in ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
            self._work_limit(order, [])
            return
        book = self._market.book(order.symbol)
        levels = book.asks if order.side == "BUY" else book.bids
        step = self.spec(order.symbol).filters.step_size
        plan = plan_walk(levels, side=order.side, step=step, max_qty=order.remaining)
        if order.side == "BUY":
            shortfall = total_quote(plan) - order.locked
            if shortfall > 0:
                extra = min(shortfall, self.account.free(order.quote_asset))
                self.account.lock(order.quote_asset, extra)
                order.locked += extra
                plan = plan_walk(
                    levels, side="BUY", step=step, max_qty=order.remaining, max_quote=order.locked
                )
        self._execute(order, plan, is_maker=False, fills=[])
        self._expire_rest(order)

    def _fill_on_trade(self, symbol: str, price: Decimal, qty: Decimal) -> None:
        buys, sells = self._resting(symbol)
        for orders in (buys, sells):
            available = qty
            for order in orders:
                if available <= 0 or not _at_or_through(order, price):
                    break
                take = min(order.remaining, available)
                self._fill(order, order.price, take, is_maker=True)
                available -= take

    def _fill_on_book(self, symbol: str) -> None:
        buys, sells = self._resting(symbol)
        if not buys and not sells:
            return
        book = self._market.book(symbol)
        for orders, levels in ((buys, book.asks), (sells, book.bids)):
            used = ZERO
            for order in orders:
                crossing = sum((size for price, size in levels if _at_or_through(order, price)), ZERO)
                take = min(order.remaining, crossing - used)
                if take <= 0:
                    break
                self._fill(order, order.price, take, is_maker=True)
                used += take

    def _resting(self, symbol: str) -> tuple[list[VenueOrder], list[VenueOrder]]:
        """Resting orders of ``symbol`` in priority order: (bids best first, asks best first)."""
        working = [order for order in self.ledger.open_orders(symbol) if order.is_working]
        buys = [order for order in working if order.side == "BUY"]
        sells = [order for order in working if order.side == "SELL"]
        buys.sort(key=lambda order: (-order.price, order.created_ms, order.order_id))
        sells.sort(key=lambda order: (order.price, order.created_ms, order.order_id))
        return buys, sells

    @staticmethod
    def _crosses(order: VenueOrder, levels: list[Level]) -> bool:
        """True when the best of ``levels`` (the opposite side) is at or through the order's price."""
        return bool(levels) and _at_or_through(order, levels[0][0])

    @staticmethod
    def _stop_reached(order: VenueOrder, price: Decimal | None) -> bool:
        if price is None:
            return False
        rising = order.type.startswith("STOP_LOSS") == (order.side == "BUY")
        return price >= order.stop_price if rising else price <= order.stop_price

    # -- reporting -------------------------------------------------------------------------

    def new_client_id(self) -> str:
        """A venue-made client order id (22 characters, like the venue's)."""
        return "".join(self._random.choice(_ID_ALPHABET) for _ in range(22))

    def _report(
        self,
        order: VenueOrder,
        execution_type: str,
        *,
        fill: Fill | None = None,
        reject_reason: str = "NONE",
        client_order_id: str | None = None,
        orig_client_order_id: str = "",
    ) -> None:
        self._execution_id += 1
        now = self._now()
        self._publish(
            execution_report(
                order,
                execution_type=execution_type,
                execution_id=self._execution_id,
                event_ms=now,
                fill=fill,
                reject_reason=reject_reason,
                client_order_id=client_order_id,
                orig_client_order_id=orig_client_order_id,
            )
        )
        self._position()

    def _position(self) -> None:
        changed = self.account.take_changed()
        if changed:
            now = self._now()
            account = self.account
            balances = [(asset, account.free(asset), account.locked(asset)) for asset in changed]
            self._publish(account_position(balances, event_ms=now, update_ms=now))


def _at_or_through(order: VenueOrder, price: Decimal) -> bool:
    """True when a counterparty at ``price`` reaches the order's limit (a BUY's price or better)."""
    return price <= order.price if order.side == "BUY" else price >= order.price
