"""PaperBroker: the ``Broker`` port simulated against the book, quotes and trades, in event time.

It reports like a venue (``application.messages``), so swapping it for a real broker is
configuration only. The rules, and the simplifications a user of its results should know:

Time. Only event time: a submit or cancel arrives at ``order.ts_last + latency_ns`` (the OMS
stamps ``ts_last`` with the engine clock when it submits or requests the cancel). With no
latency it is handled inside the call; otherwise when the first market event with
``ts_event >= arrival`` is seen (or ``advance_to``), against the market as it stood just
before that event. The wall clock is never read, so a replay gives the same reports.

Taking liquidity. A market order, or the marketable part of a limit order, walks the opposite
side of the local L2 book, one fill per level (taker fee, slippage). Without a usable book (none
yet, or a gap until the next snapshot) the last quote's touch stands in for it; with neither, a
market order is rejected, unless ``last_trade_liquidity`` is on (a backtest on trades or bars
only): then it fills in full at the last trade price.

What the book cannot fill of a market order expires ("insufficient
liquidity", as Binance does); an IOC remainder expires ("IOC remainder"); a FOK order fills in
full or expires untouched. Market orders are never resting orders, whatever their time in force.
The book is not depleted by paper fills: our orders have no market impact, so two taker orders
between two book updates both see the whole displayed book.

Bars (history of bars only). An order arriving during a bar meets the bar's open; a resting
buy limit above the bar's low fills at its limit (a sell: below the high), for at most the
bar's volume; then the bar's close is the last trade price.

Resting limit orders fill as maker, at their limit price, from:
(a) a trade through the price (buy: trade price below the limit): min(leaves, trade size);
(b) a trade at the price, once the queue ahead is consumed. Queue position is simplified: when the
    order rests, the size the book displays at its price on its side is "ahead" of it (zero
    when it improves the touch; unknown with no market data, or only a quote and the order behind
    the touch; an unknown queue fills only from trades through the price). Trades at the price
    consume the queue ahead first; a book or quote update showing less at that price lowers the
    queue to what is shown (cancellations are assumed to have been ahead of us); nothing else
    moves it;
(c) the book (or, without a book, the quote) moving through the price: liquidity that newly
    appears at crossing prices fills it — for each crossing level the growth over the size
    shown there before the update.
Double counting: a trade reaches our bids only when its aggressor was a seller (our asks: a
buyer), or unknown; and the book only fills from levels that grow. A trade's own book update
shrinks the level it consumed, so it never fills again, and a buyer lifting an ask that crosses
our bid (already counted by rule c) is not counted as a trade through our bid. The volume of one
trade, and the growth of one level, is shared among our orders in price-time priority and never
exceeded.

Fees are ``notional × bps / 10 000``, computed exactly, then rounded half-even to
``fee_decimals`` places (1E-12 by default); a negative maker fee is a rebate. Spot has no
``reduce_only``; it is ignored. Stop orders are refused: the engine emulates them.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from adapters.brokers.paper.config import PaperBrokerConfig
from adapters.brokers.paper.matching import (
    Allocation,
    RestingOrders,
    WorkingOrder,
    available_liquidity,
    fee_for,
    fee_quantum,
    queue_ahead,
    slipped_price,
    total_size,
)
from adapters.brokers.paper.venue_log import Record, VenueLog, VenueLogError, fill_of, order_of, record_of
from application.messages import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    VenueOrder,
)
from domain.errors import BookOutOfSync, DomainError, InvalidValue
from domain.identifiers import ClientOrderId, InstrumentId, TradeId, VenueOrderId
from domain.instrument import Instrument
from domain.market_data import Bar, BookDelta, BookInvalidated, BookLevel, BookSnapshot, QuoteTick, TradeTick
from domain.order_book import OrderBook
from domain.orders import Fill, LiquiditySide, Order, OrderStatus, OrderType, TimeInForce
from domain.values import EXACT, ZERO, AggressorSide, OrderSide, exact_mul

HISTORY = 10_000
"""Closed orders kept for ``get`` (reconciliation); the oldest are forgotten first."""

STOPS_REFUSED = "paper broker has no native stop orders; the engine emulates them"
INSUFFICIENT_LIQUIDITY = "insufficient liquidity"
IOC_REMAINDER = "IOC remainder"
FOK_UNFILLABLE = "FOK: the full quantity was not available at or better than the limit"
FOK_MARKET_UNFILLABLE = "FOK: the full quantity was not available in the book"


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperOrder(VenueOrder):
    """What the paper venue knows of an order (reconciliation); SUBMITTED until it arrives."""

    queue_ahead: Decimal | None = None

    @property
    def leaves_quantity(self) -> Decimal:
        return ZERO if self.status.is_terminal else EXACT.subtract(self.quantity, self.filled_quantity)

    @classmethod
    def of(cls, order: WorkingOrder) -> PaperOrder:
        return cls(
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
            instrument_id=order.instrument_id,
            side=order.side,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            price=order.price,
            quantity=order.quantity,
            filled_quantity=order.filled,
            status=order.status,
            strategy_id=order.strategy_id,
            fills=tuple(order.fills),
            reason=order.reason,
            ts_last=order.ts_last,
            queue_ahead=order.queue_ahead,
        )


class _CancelRequest:
    __slots__ = ("client_order_id",)

    def __init__(self, client_order_id: ClientOrderId) -> None:
        self.client_order_id = client_order_id


_Arrival = tuple[int, int, WorkingOrder | _CancelRequest]
"""(arrival ns, sequence, what arrives): a heap entry; the sequence keeps ties in call order."""


class PaperBroker:
    """A simulated venue behind the ``Broker`` port; see the module docstring for its rules.

    ``publish`` receives the reports (the bus's ``publish``). Reports are collected while the
    broker updates its state and handed to ``publish`` after, in order, so a handler that calls
    back into the broker (a cancel on a fill) always sees a consistent venue. Venue-style problems
    (unknown instrument, a price off the tick, a duplicate open client order id, no market data)
    become ``OrderRejected`` / ``CancelRejected``; only a programming error (not an ``Order``) raises.
    """

    name = "paper"

    __slots__ = (
        "_books",
        "_closed",
        "_config",
        "_fee_quantum",
        "_flushing",
        "_id_prefix",
        "_instruments",
        "_last_prices",
        "_last_trade",
        "_latency",
        "_log",
        "_open",
        "_outbox",
        "_pending",
        "_publish",
        "_quotes",
        "_resting",
        "_sequence",
        "_trades",
        "_unlogged",
        "_use_book",
        "_use_trades",
        "_venue_ids",
    )

    def __init__(
        self,
        *,
        publish: Callable[[object], None],
        instruments: Mapping[InstrumentId, Instrument],
        config: PaperBrokerConfig,
        id_prefix: str = "PAPER",
        log: VenueLog | None = None,
    ) -> None:
        """``id_prefix`` starts the venue's order and trade ids; a run that keeps its orders
        across restarts gives each process its own, so ids never repeat in the store.

        With ``log`` the venue keeps its state on disk: it replays the log now (raises
        VenueLogError for a file that is not one) and writes every report to it before
        publishing it."""
        if not isinstance(config, PaperBrokerConfig):
            raise TypeError(f"config must be a PaperBrokerConfig, was {type(config).__name__}")
        self._publish = publish
        self._instruments = instruments
        self._config = config
        self._latency = config.latency_ns
        self._use_trades = config.use_trades_for_fills
        self._use_book = config.use_book_for_fills
        self._fee_quantum = fee_quantum(config.fee_decimals)
        self._books: dict[InstrumentId, OrderBook] = {}
        self._quotes: dict[InstrumentId, QuoteTick] = {}
        self._resting: dict[InstrumentId, RestingOrders] = {}  # only instruments with resting orders
        self._open: dict[ClientOrderId, WorkingOrder] = {}
        self._closed: OrderedDict[ClientOrderId, WorkingOrder] = OrderedDict()
        self._pending: list[_Arrival] = []
        self._outbox: deque[object] = deque()
        self._flushing = False
        self._sequence = 0
        self._venue_ids = 0
        self._trades = 0
        self._id_prefix = id_prefix
        self._last_prices: dict[InstrumentId, Decimal] = {}  # only with last_trade_liquidity
        self._last_trade = config.last_trade_liquidity
        self._log = log
        self._unlogged: list[Record] = []  # reports made, not yet in the log (written before publishing)
        if log is not None:
            self._restore(log)

    @property
    def config(self) -> PaperBrokerConfig:
        return self._config

    # -- the Broker port ------------------------------------------------------------------

    def submit(self, order: Order) -> None:
        """Send ``order``; it arrives after the configured latency (see the module docstring)."""
        if not isinstance(order, Order):
            raise TypeError(f"submit takes an Order, was {type(order).__name__}")
        working = WorkingOrder(order, self._next_sequence())
        self._schedule(order.ts_last, working)

    def cancel(self, order: Order) -> None:
        """Ask to cancel ``order``; after the latency it is canceled or the cancel is rejected."""
        if not isinstance(order, Order):
            raise TypeError(f"cancel takes an Order, was {type(order).__name__}")
        self._schedule(order.ts_last, _CancelRequest(order.client_order_id))

    # -- queries (reconciliation) ---------------------------------------------------------

    def open_orders(self, instrument_id: InstrumentId | None = None) -> list[PaperOrder]:
        """Orders working at the paper venue (arrived and not closed), oldest first."""
        return [
            PaperOrder.of(order)
            for order in self._open.values()
            if instrument_id is None or order.instrument_id == instrument_id
        ]

    def query_open_orders(self) -> list[PaperOrder]:
        """The ``ReconcilableBroker`` query: every order working at the venue, oldest first."""
        return self.open_orders()

    def query_order(self, client_order_id: ClientOrderId) -> PaperOrder | None:
        """The ``ReconcilableBroker`` query: one order as the venue has it, or None."""
        return self.get(client_order_id)

    def get(self, client_order_id: str) -> PaperOrder | None:
        """The venue's view of one order: working, still in flight, or recently closed."""
        order = self._open.get(ClientOrderId(client_order_id))
        if order is None:
            in_flight = [
                item
                for _, _, item in sorted(self._pending)
                if isinstance(item, WorkingOrder) and item.client_order_id == client_order_id
            ]
            order = in_flight[0] if in_flight else self._closed.get(ClientOrderId(client_order_id))
        return None if order is None else PaperOrder.of(order)

    def pending_arrivals(self) -> int:
        """Submits and cancels still travelling to the venue (latency not yet elapsed)."""
        return len(self._pending)

    def advance_to(self, ts_ns: int) -> None:
        """Let everything due by ``ts_ns`` arrive (a timer, or the end of a backtest)."""
        if self._pending and self._pending[0][0] <= ts_ns:
            self._release(ts_ns)
        if self._outbox:
            self._flush()

    # -- market data (subscribed on the bus by the composition root) -----------------------

    def on_trade(self, tick: TradeTick) -> None:
        """A public trade: may fill resting orders (rules a and b). The per-tick hot path."""
        pending = self._pending
        if pending and pending[0][0] <= tick.ts_event:
            self._release(tick.ts_event)
        if self._last_trade:
            self._last_prices[tick.instrument_id] = tick.price
        resting = self._resting.get(tick.instrument_id)
        if resting is not None and self._use_trades:
            allocations = resting.allocate_trade(tick.price, tick.size, tick.aggressor)
            if allocations:
                self._fill_resting(allocations, tick.ts_event)
        if self._outbox:
            self._flush()

    def on_bar(self, bar: Bar) -> None:
        """A bar (history of bars only): what arrives during it meets its open; resting limits
        its range reached fill at their limit, within its volume; its close is the last price."""
        instrument_id = bar.instrument_id
        last_trade = self._last_trade
        if last_trade:
            self._last_prices[instrument_id] = bar.open
        pending = self._pending
        if pending and pending[0][0] <= bar.ts_event:
            self._release(bar.ts_event)
        resting = self._resting.get(instrument_id)
        if resting is not None and self._use_trades:
            allocations = list(resting.allocate_trade(bar.low, bar.volume, AggressorSide.SELLER))
            allocations += resting.allocate_trade(bar.high, bar.volume, AggressorSide.BUYER)
            if allocations:
                self._fill_resting(allocations, bar.ts_event)
        if last_trade:
            self._last_prices[instrument_id] = bar.close
        if self._outbox:
            self._flush()

    def on_quote(self, quote: QuoteTick) -> None:
        """Best bid/ask: kept as the fallback of a missing book; fills resting orders without one."""
        pending = self._pending
        if pending and pending[0][0] <= quote.ts_event:
            self._release(quote.ts_event)
        instrument_id = quote.instrument_id
        before = self._quotes.get(instrument_id)
        self._quotes[instrument_id] = quote
        resting = self._resting.get(instrument_id)
        if resting is not None and not self._book_usable(instrument_id):
            self._match_quote(resting, quote, before)
        if self._outbox:
            self._flush()

    def on_book_snapshot(self, snapshot: BookSnapshot) -> None:
        """A full book: (re)synchronizes the local book; newly crossing levels fill (rule c)."""
        pending = self._pending
        if pending and pending[0][0] <= snapshot.ts_event:
            self._release(snapshot.ts_event)
        instrument_id = snapshot.instrument_id
        book = self._books.get(instrument_id)
        if book is None:
            book = self._books[instrument_id] = OrderBook(instrument_id)
        resting = self._resting.get(instrument_id)
        buys, sells = self._gains(resting, book, snapshot.asks, snapshot.bids)
        try:
            book.apply_snapshot(snapshot)
        except (BookOutOfSync, InvalidValue):
            pass  # a crossed or malformed snapshot: the book stays unusable, quotes stand in
        else:
            if resting is not None:
                self._match_book(resting, book, buys, sells, snapshot.ts_event)
        if self._outbox:
            self._flush()

    def on_book_invalidated(self, event: BookInvalidated) -> None:
        """The feed lost the book: stop filling against it (quotes stand in) until a snapshot."""
        book = self._books.get(event.instrument_id)
        if book is not None:
            book.invalidate(event.reason)

    def on_book_delta(self, delta: BookDelta) -> None:
        """Book changes: applied when they follow on (a gap waits for a snapshot); rule c."""
        pending = self._pending
        if pending and pending[0][0] <= delta.ts_event:
            self._release(delta.ts_event)
        book = self._books.get(delta.instrument_id)
        if book is not None and book.synced:
            resting = self._resting.get(delta.instrument_id)
            buys, sells = self._gains(resting, book, delta.asks, delta.bids)
            try:
                applied = book.apply_delta(delta)
            except (BookOutOfSync, InvalidValue):
                applied = False  # a gap, a crossing or a bad size: unusable until the next snapshot
            if applied and resting is not None:
                self._match_book(resting, book, buys, sells, delta.ts_event)
        if self._outbox:
            self._flush()

    # -- arrivals -------------------------------------------------------------------------

    def _schedule(self, ts_sent: int, item: WorkingOrder | _CancelRequest) -> None:
        arrival = ts_sent + self._latency
        if self._latency:
            heapq.heappush(self._pending, (arrival, self._next_sequence(), item))
        elif isinstance(item, WorkingOrder):
            self._arrive(item, arrival)
        else:
            self._arrive_cancel(item, arrival)
        if self._outbox:
            self._flush()

    def _release(self, until: int) -> None:
        pending = self._pending
        while pending and pending[0][0] <= until:
            arrival, _, item = heapq.heappop(pending)
            if isinstance(item, WorkingOrder):
                self._arrive(item, arrival)
            else:
                self._arrive_cancel(item, arrival)

    def _arrive(self, order: WorkingOrder, ts: int) -> None:
        order.ts_last = ts
        instrument = self._instruments.get(order.instrument_id)
        reason = self._refusal(order, instrument)
        if reason is not None or instrument is None:
            order.status = OrderStatus.REJECTED
            order.reason = reason or ""
            self._remember(order)
            self._emit(
                OrderRejected(client_order_id=order.client_order_id, reason=order.reason, ts_event=ts), order
            )
            return
        self._venue_ids += 1
        order.venue_order_id = VenueOrderId(f"{self._id_prefix}-{self._venue_ids}")
        order.status = OrderStatus.ACCEPTED
        self._open[order.client_order_id] = order
        self._emit(
            OrderAccepted(
                client_order_id=order.client_order_id, venue_order_id=order.venue_order_id, ts_event=ts
            ),
            order,
        )
        if order.order_type is OrderType.MARKET:
            self._execute_market(order, instrument, ts)
        else:
            self._execute_limit(order, instrument, ts)

    def _refusal(self, order: WorkingOrder, instrument: Instrument | None) -> str | None:
        """Why the venue refuses ``order`` on arrival, or None."""
        if instrument is None:
            return f"unknown instrument {order.instrument_id}"
        if order.order_type.has_stop:
            return STOPS_REFUSED
        if order.client_order_id in self._open:
            return f"duplicate client order id {order.client_order_id}: an order with it is still open"
        try:
            instrument.check_quantity(order.quantity)
            if order.order_type is OrderType.LIMIT:
                instrument.check_price(order.limit)
                instrument.check_notional(order.limit, order.quantity)
        except InvalidValue as error:
            return str(error)
        if order.order_type is OrderType.MARKET and not self._has_market_data(order.instrument_id):
            book = self._books.get(order.instrument_id)
            why = (
                "no order book or quote received"
                if book is None
                else f"book out of sync: {book.out_of_sync_reason}"
            )
            return f"no market data for {order.instrument_id} ({why}, no quote)"
        return None

    def _arrive_cancel(self, request: _CancelRequest, ts: int) -> None:
        client_order_id = request.client_order_id
        order = self._open.get(client_order_id)
        if order is None:
            closed = self._closed.get(client_order_id)
            reason = (
                f"unknown order {client_order_id}"
                if closed is None
                else f"order {client_order_id} is already {closed.status.value}"
            )
            self._emit(CancelRejected(client_order_id=client_order_id, reason=reason, ts_event=ts))
            return
        order.status = OrderStatus.CANCELED
        order.ts_last = ts
        order.reason = "canceled on request"
        self._close(order)
        self._emit(OrderCanceled(client_order_id=client_order_id, reason=order.reason, ts_event=ts), order)

    # -- taking liquidity -----------------------------------------------------------------

    def _execute_market(self, order: WorkingOrder, instrument: Instrument, ts: int) -> None:
        levels = self._liquidity(order, None)
        if order.time_in_force is TimeInForce.FOK and total_size(levels) < order.leaves:
            self._expire(order, FOK_MARKET_UNFILLABLE, ts)
            return
        self._take(order, instrument, levels, ts)
        if order.leaves:
            self._expire(order, INSUFFICIENT_LIQUIDITY, ts)

    def _execute_limit(self, order: WorkingOrder, instrument: Instrument, ts: int) -> None:
        levels = self._liquidity(order, order.limit)
        if order.time_in_force is TimeInForce.FOK and total_size(levels) < order.leaves:
            self._expire(order, FOK_UNFILLABLE, ts)
            return
        self._take(order, instrument, levels, ts)
        if not order.leaves:
            return
        if order.time_in_force is not TimeInForce.GTC:
            self._expire(order, IOC_REMAINDER, ts)
            return
        book = self._books.get(order.instrument_id)
        usable = book if book is not None and book.synced else None
        order.queue_ahead = queue_ahead(
            order.side, order.limit, usable, self._quotes.get(order.instrument_id)
        )
        resting = self._resting.get(order.instrument_id)
        if resting is None:
            resting = self._resting[order.instrument_id] = RestingOrders()
        resting.add(order)

    def _take(self, order: WorkingOrder, instrument: Instrument, levels: list[BookLevel], ts: int) -> None:
        slippage = self._config.slippage_bps
        limit = order.limit if order.order_type is OrderType.LIMIT else None
        buy = order.side is OrderSide.BUY
        for price, size in levels:
            paid = slipped_price(price, order.side, slippage, instrument)
            if limit is not None and (paid > limit if buy else paid < limit):
                paid = limit  # slippage never takes a limit order past its limit
            self._fill(order, size, paid, LiquiditySide.TAKER, ts)

    # -- resting orders -------------------------------------------------------------------

    def _gains(
        self,
        resting: RestingOrders | None,
        book: OrderBook,
        asks: tuple[BookLevel, ...],
        bids: tuple[BookLevel, ...],
    ) -> tuple[list[BookLevel], list[BookLevel]]:
        """Crossing growth an update brings (for our buys, for our sells), read before applying it."""
        if resting is None or not self._use_book:
            return [], []
        return (
            resting.crossing_gains(OrderSide.BUY, asks, book.ask_size_at),
            resting.crossing_gains(OrderSide.SELL, bids, book.bid_size_at),
        )

    def _match_book(
        self,
        resting: RestingOrders,
        book: OrderBook,
        buys: list[BookLevel],
        sells: list[BookLevel],
        ts: int,
    ) -> None:
        resting.cap_queues(book.bid_size_at, book.ask_size_at)
        allocations = resting.allocate_gains(OrderSide.BUY, buys) if buys else []
        if sells:
            allocations += resting.allocate_gains(OrderSide.SELL, sells)
        if allocations:
            self._fill_resting(allocations, ts)

    def _match_quote(self, resting: RestingOrders, quote: QuoteTick, before: QuoteTick | None) -> None:
        resting.cap_queues_from_quote(quote)
        if not self._use_book:
            return
        allocations: list[Allocation] = []
        if resting.bids:
            shown = before.ask_size if before is not None and before.ask_price == quote.ask_price else ZERO
            gains = resting.crossing_gains(
                OrderSide.BUY, ((quote.ask_price, quote.ask_size),), lambda _: shown
            )
            allocations += resting.allocate_gains(OrderSide.BUY, gains)
        if resting.asks:
            shown = before.bid_size if before is not None and before.bid_price == quote.bid_price else ZERO
            gains = resting.crossing_gains(
                OrderSide.SELL, ((quote.bid_price, quote.bid_size),), lambda _: shown
            )
            allocations += resting.allocate_gains(OrderSide.SELL, gains)
        if allocations:
            self._fill_resting(allocations, quote.ts_event)

    def _fill_resting(self, allocations: Sequence[Allocation], ts: int) -> None:
        for order, quantity in allocations:
            self._fill(order, quantity, order.limit, LiquiditySide.MAKER, ts)

    # -- reports --------------------------------------------------------------------------

    def _fill(
        self, order: WorkingOrder, quantity: Decimal, price: Decimal, liquidity: LiquiditySide, ts: int
    ) -> None:
        order.take(quantity)
        order.ts_last = ts
        config = self._config
        bps = config.maker_fee_bps if liquidity is LiquiditySide.MAKER else config.taker_fee_bps
        self._trades += 1
        fill = Fill(
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
            trade_id=TradeId(f"{self._id_prefix}-T{self._trades}"),
            side=order.side,
            quantity=quantity,
            price=price,
            fee=fee_for(exact_mul(quantity, price), bps, self._fee_quantum),
            liquidity=liquidity,
            strategy_id=order.strategy_id,
            ts_event=ts,
        )
        order.fills.append(fill)
        if order.leaves:
            order.status = OrderStatus.PARTIALLY_FILLED
        else:
            order.status = OrderStatus.FILLED
            self._close(order)
        self._emit(OrderFilled(fill=fill), order)

    def _expire(self, order: WorkingOrder, reason: str, ts: int) -> None:
        order.status = OrderStatus.EXPIRED
        order.ts_last = ts
        order.reason = reason
        self._close(order)
        self._emit(OrderExpired(client_order_id=order.client_order_id, reason=reason, ts_event=ts), order)

    def _close(self, order: WorkingOrder) -> None:
        if self._open.get(order.client_order_id) is order:
            del self._open[order.client_order_id]
        resting = self._resting.get(order.instrument_id)
        if resting is not None:
            resting.remove(order)
            if not resting:
                del self._resting[order.instrument_id]
        self._remember(order)

    def _remember(self, order: WorkingOrder) -> None:
        closed = self._closed
        closed[order.client_order_id] = order
        closed.move_to_end(order.client_order_id)
        if len(closed) > HISTORY:
            closed.popitem(last=False)

    def _emit(self, report: object, order: WorkingOrder | None = None) -> None:
        """Queue ``report``; a state change (``order`` given) is also queued for the log."""
        self._outbox.append(report)
        if self._log is not None and order is not None:
            self._unlogged.append(record_of(report, order))

    def _flush(self) -> None:
        """Hand collected reports to ``publish`` in order; re-entrant calls add to the same queue.

        What the venue did is in its log before anyone hears of it."""
        if self._flushing:
            return
        self._flushing = True
        try:
            outbox = self._outbox
            unlogged = self._unlogged
            while outbox:
                if unlogged:
                    self._log.append(unlogged)  # type: ignore[union-attr]  # set whenever unlogged is
                    unlogged.clear()
                self._publish(outbox.popleft())
        finally:
            self._flushing = False

    # -- the venue's memory (venue_log.py) ----------------------------------------------

    def _restore(self, log: VenueLog) -> None:
        """Replay the log: orders working at the venue are working again (a resting limit
        rests, behind whatever is displayed when the market returns: its queue position is
        lost); the rest of a market order cut by the crash expires. Then compact the log."""
        records = log.load()
        for number, record in enumerate(records, start=2):
            try:
                self._replay(record)
            except (KeyError, TypeError, ValueError, AttributeError, DomainError) as error:
                raise VenueLogError(
                    f"paper venue log {log.path} line {number} ({record.get('e')!r}) is malformed: {error!r}"
                ) from None
        cut = [order for order in self._open.values() if order.order_type is not OrderType.LIMIT]
        for order in cut:
            order.status = OrderStatus.EXPIRED
            order.reason = "the rest of this market order was lost when the paper venue restarted"
            self._close(order)
            expired = OrderExpired(
                client_order_id=order.client_order_id, reason=order.reason, ts_event=order.ts_last
            )
            records.append(record_of(expired, order))
        for order in self._open.values():
            resting = self._resting.get(order.instrument_id)
            if resting is None:
                resting = self._resting[order.instrument_id] = RestingOrders()
            resting.add(order)
        kept = set(self._open) | set(self._closed)
        counters: Record = {"e": "ids", "id": "", "venue": self._venue_ids, "trades": self._trades}
        log.rewrite([counters, *(record for record in records if record["id"] in kept)])

    def _replay(self, record: Record) -> None:
        kind = record["e"]
        if kind == "ids":  # the counters as they stood at the last compaction
            self._venue_ids = max(self._venue_ids, int(record["venue"]))
            self._trades = max(self._trades, int(record["trades"]))
            return
        client_order_id = ClientOrderId(record["id"])
        if kind in ("accepted", "rejected"):
            order = WorkingOrder(order_of(record), self._next_sequence())
            order.ts_last = record["ts"]
            if kind == "rejected":
                order.status = OrderStatus.REJECTED
                order.reason = record["reason"]
                self._remember(order)
                return
            order.venue_order_id = VenueOrderId(record["venue_id"])
            self._venue_ids += 1  # ids continue after the restart: none is ever given twice
            order.status = OrderStatus.ACCEPTED
            self._open[client_order_id] = order
            return
        order = self._open[client_order_id]
        order.ts_last = record["ts"]
        if kind == "filled":
            fill = fill_of(record, order)
            self._trades += 1
            order.take(fill.quantity)
            order.fills.append(fill)
            if order.leaves:
                order.status = OrderStatus.PARTIALLY_FILLED
                return
            order.status = OrderStatus.FILLED
        elif kind in ("canceled", "expired"):
            order.status = OrderStatus.CANCELED if kind == "canceled" else OrderStatus.EXPIRED
            order.reason = record["reason"]
        else:
            raise ValueError(f"unknown record kind {kind!r}")
        del self._open[client_order_id]
        self._remember(order)

    # -- small helpers --------------------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def _liquidity(self, order: WorkingOrder, limit: Decimal | None) -> list[BookLevel]:
        """What a taker ``order`` would get now (nothing without market data), best first."""
        book = self._books.get(order.instrument_id)
        usable = book if book is not None and book.synced else None
        quote = self._quotes.get(order.instrument_id)
        levels = available_liquidity(order.side, order.leaves, limit, usable, quote)
        if levels is None and self._last_trade:
            last = self._last_prices.get(order.instrument_id)
            if last is not None and (
                limit is None or (last <= limit if order.side is OrderSide.BUY else last >= limit)
            ):
                return [(last, order.leaves)]
        return levels or []

    def _book_usable(self, instrument_id: InstrumentId) -> bool:
        book = self._books.get(instrument_id)
        return book is not None and book.synced

    def _has_market_data(self, instrument_id: InstrumentId) -> bool:
        return (
            self._book_usable(instrument_id)
            or instrument_id in self._quotes
            or instrument_id in self._last_prices
        )
