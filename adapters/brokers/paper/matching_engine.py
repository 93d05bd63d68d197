"""The paper venue's matching engine: orders arriving, taking liquidity, and resting orders filled.

The rules it applies are the paper venue's (``broker.py``); the arithmetic of each rule is in
``matching.py``. It changes orders only through ``ExecutionReports``, which reports each change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from adapters.brokers.paper.account import VenueAccount
from adapters.brokers.paper.config import PaperBrokerConfig
from adapters.brokers.paper.matching import (
    Allocation,
    RestingOrders,
    WorkingOrder,
    available_liquidity,
    queue_ahead,
    slipped_price,
    total_size,
)
from adapters.brokers.paper.orders import VenueOrders
from adapters.brokers.paper.reports import ExecutionReports
from application.messages import FeedStatusChanged
from domain.errors import BookOutOfSync, InvalidValue
from domain.identifiers import ClientOrderId, InstrumentId
from domain.instrument import Instrument
from domain.market_data import BookDelta, BookInvalidated, BookLevel, BookSnapshot, QuoteTick
from domain.order_book import OrderBook
from domain.orders import LiquiditySide, OrderType, TimeInForce
from domain.values import ZERO, OrderSide

STOPS_REFUSED = "paper broker has no native stop orders; the engine emulates them"
INSUFFICIENT_LIQUIDITY = "insufficient liquidity"
IOC_REMAINDER = "IOC remainder"
FOK_UNFILLABLE = "FOK: the full quantity was not available at or better than the limit"
FOK_MARKET_UNFILLABLE = "FOK: the full quantity was not available in the book"
POST_ONLY_WOULD_TAKE = "post-only order would take liquidity"


class MatchingEngine:
    """Matches arriving orders against the market as last seen, and resting orders against its moves.

    It keeps that market per instrument: the local book, the last quote, and (with
    ``last_trade_liquidity``) the last trade price. The broker's trade, bar and quote handlers
    update ``quotes`` and ``last_prices`` themselves and call ``fill_resting`` / ``match_quote``
    only when an instrument has resting orders; book events come here whole.

    Losing the market (a ``BookInvalidated``, a feed going down) forgets what it showed: the
    book is out of sync, the last quote (and last trade price) no longer stand in, and
    ``lost`` keeps why, for the refusal of a market order, until fresh data comes.
    """

    __slots__ = (
        "_account",
        "_config",
        "_instruments",
        "_last_trade",
        "_orders",
        "_reports",
        "_use_book",
        "books",
        "last_prices",
        "lost",
        "quotes",
    )

    def __init__(
        self,
        *,
        instruments: Mapping[InstrumentId, Instrument],
        config: PaperBrokerConfig,
        orders: VenueOrders,
        reports: ExecutionReports,
        account: VenueAccount | None = None,
    ) -> None:
        """With ``account`` an order its free balance cannot pay for is refused (``account.py``)."""
        self._account = account
        self._instruments = instruments
        self._config = config
        self._use_book = config.use_book_for_fills
        self._last_trade = config.last_trade_liquidity
        self._orders = orders
        self._reports = reports
        self.books: dict[InstrumentId, OrderBook] = {}
        self.quotes: dict[InstrumentId, QuoteTick] = {}
        self.last_prices: dict[InstrumentId, Decimal] = {}  # only with last_trade_liquidity
        self.lost: dict[InstrumentId, str] = {}
        """Why the market of an instrument was lost, until a quote or snapshot comes."""

    # -- arrivals -------------------------------------------------------------------------

    def arrive(self, order: WorkingOrder, ts: int) -> None:
        """A submit reaches the venue at ``ts``: refused, or accepted and matched at once."""
        order.ts_last = ts
        instrument = self._instruments.get(order.instrument_id)
        reason = self._refusal(order, instrument)
        if reason is not None or instrument is None:
            self._reports.rejected(order, reason or "", ts)
            return
        self._reports.accepted(order, ts)
        if order.order_type is OrderType.MARKET:
            self._execute_market(order, instrument, ts)
        else:
            self._execute_limit(order, instrument, ts)

    def arrive_cancel(self, client_order_id: ClientOrderId, ts: int) -> None:
        """A cancel reaches the venue at ``ts``: the order is canceled, or the cancel refused."""
        order = self._orders.working.get(client_order_id)
        if order is not None:
            self._reports.canceled(order, ts)
            return
        closed = self._orders.closed.get(client_order_id)
        reason = (
            f"unknown order {client_order_id}"
            if closed is None
            else f"order {client_order_id} is already {closed.status.value}"
        )
        self._reports.cancel_rejected(client_order_id, reason, ts)

    def _refusal(self, order: WorkingOrder, instrument: Instrument | None) -> str | None:
        """Why the venue refuses ``order`` on arrival, or None."""
        if instrument is None:
            return f"unknown instrument {order.instrument_id}"
        if order.order_type.has_stop:
            return STOPS_REFUSED
        if order.client_order_id in self._orders.working:
            return f"duplicate client order id {order.client_order_id}: an order with it is still open"
        try:
            instrument.check_quantity(order.quantity)
            if order.order_type is OrderType.LIMIT:
                instrument.check_price(order.limit)
                instrument.check_notional(order.limit, order.quantity)
        except InvalidValue as error:
            return str(error)
        if order.order_type is OrderType.MARKET and not self._has_market_data(order.instrument_id):
            lost = self.lost.get(order.instrument_id)
            if lost is not None:
                return f"no market data for {order.instrument_id} ({lost}; no quote or book since)"
            book = self.books.get(order.instrument_id)
            why = (
                "no order book or quote received"
                if book is None
                else f"book out of sync: {book.out_of_sync_reason}"
            )
            return f"no market data for {order.instrument_id} ({why}, no quote)"
        if order.post_only and self._liquidity(order, order.limit):
            return POST_ONLY_WOULD_TAKE
        if self._account is not None:
            takes = None
            if order.order_type is OrderType.MARKET:
                slippage = self._config.slippage_bps
                takes = [
                    (slipped_price(price, order.side, slippage, instrument), size)
                    for price, size in self._liquidity(order, None)
                ]
            return self._account.refusal(order, instrument, self._orders.working.values(), takes)
        return None

    # -- taking liquidity -----------------------------------------------------------------

    def _execute_market(self, order: WorkingOrder, instrument: Instrument, ts: int) -> None:
        levels = self._liquidity(order, None)
        if order.time_in_force is TimeInForce.FOK and total_size(levels) < order.leaves:
            self._reports.expired(order, FOK_MARKET_UNFILLABLE, ts)
            return
        self._take(order, instrument, levels, ts)
        if order.leaves:
            self._reports.expired(order, INSUFFICIENT_LIQUIDITY, ts)

    def _execute_limit(self, order: WorkingOrder, instrument: Instrument, ts: int) -> None:
        levels = self._liquidity(order, order.limit)
        if order.time_in_force is TimeInForce.FOK and total_size(levels) < order.leaves:
            self._reports.expired(order, FOK_UNFILLABLE, ts)
            return
        self._take(order, instrument, levels, ts)
        if not order.leaves:
            return
        if order.time_in_force is not TimeInForce.GTC:
            self._reports.expired(order, IOC_REMAINDER, ts)
            return
        book = self.books.get(order.instrument_id)
        usable = book if book is not None and book.synced else None
        order.queue_ahead = queue_ahead(order.side, order.limit, usable, self.quotes.get(order.instrument_id))
        self._orders.rest(order)

    def _take(self, order: WorkingOrder, instrument: Instrument, levels: list[BookLevel], ts: int) -> None:
        slippage = self._config.slippage_bps
        limit = order.limit if order.order_type is OrderType.LIMIT else None
        buy = order.side is OrderSide.BUY
        for price, size in levels:
            paid = slipped_price(price, order.side, slippage, instrument)
            if limit is not None and (paid > limit if buy else paid < limit):
                paid = limit  # slippage never takes a limit order past its limit
            self._reports.filled(order, size, paid, LiquiditySide.TAKER, ts)

    def _liquidity(self, order: WorkingOrder, limit: Decimal | None) -> list[BookLevel]:
        """What a taker ``order`` would get now (nothing without market data), best first."""
        book = self.books.get(order.instrument_id)
        usable = book if book is not None and book.synced else None
        quote = self.quotes.get(order.instrument_id)
        levels = available_liquidity(order.side, order.leaves, limit, usable, quote)
        if levels is None and self._last_trade:
            last = self.last_prices.get(order.instrument_id)
            if last is not None and (
                limit is None or (last <= limit if order.side is OrderSide.BUY else last >= limit)
            ):
                return [(last, order.leaves)]
        return levels or []

    def book_usable(self, instrument_id: InstrumentId) -> bool:
        """Whether the local book of ``instrument_id`` is synchronized (else quotes stand in)."""
        book = self.books.get(instrument_id)
        return book is not None and book.synced

    def _has_market_data(self, instrument_id: InstrumentId) -> bool:
        return (
            self.book_usable(instrument_id)
            or instrument_id in self.quotes
            or instrument_id in self.last_prices
        )

    # -- the book -------------------------------------------------------------------------

    def on_book_snapshot(self, snapshot: BookSnapshot) -> None:
        """(Re)synchronize the local book; levels newly crossing resting orders fill them (rule c)."""
        instrument_id = snapshot.instrument_id
        book = self.books.get(instrument_id)
        if book is None:
            book = self.books[instrument_id] = OrderBook(instrument_id)
        resting = self._orders.resting.get(instrument_id)
        buys, sells = self._gains(resting, book, snapshot.asks, snapshot.bids)
        try:
            book.apply_snapshot(snapshot)
        except (BookOutOfSync, InvalidValue):
            pass  # a crossed or malformed snapshot: the book stays unusable, quotes stand in
        else:
            self.lost.pop(instrument_id, None)
            if resting is not None:
                self._match_book(resting, book, buys, sells, snapshot.ts_event)

    def on_book_delta(self, delta: BookDelta) -> None:
        """Apply book changes that follow on (a gap waits for a snapshot); rule c."""
        book = self.books.get(delta.instrument_id)
        if book is None or not book.synced:
            return
        resting = self._orders.resting.get(delta.instrument_id)
        buys, sells = self._gains(resting, book, delta.asks, delta.bids)
        try:
            applied = book.apply_delta(delta)
        except (BookOutOfSync, InvalidValue):
            applied = False  # a gap, a crossing or a bad size: unusable until the next snapshot
        if applied and resting is not None:
            self._match_book(resting, book, buys, sells, delta.ts_event)

    def on_book_invalidated(self, event: BookInvalidated) -> None:
        """The feed lost the book: neither it nor the last quote is the market until fresh data."""
        self._lose(event.instrument_id, f"book invalidated: {event.reason}", forget_trades=False)

    def on_feed_status(self, event: FeedStatusChanged) -> None:
        """A feed went down: what it showed last is not the market any more (nothing to do on its
        return: its next quote, trade or snapshot is the market again)."""
        if event.connected:
            return
        why = f"feed {event.feed} disconnected" + (f": {event.reason}" if event.reason else "")
        for instrument_id in event.instruments:
            self._lose(instrument_id, why, forget_trades=True)

    def _lose(self, instrument_id: InstrumentId, why: str, *, forget_trades: bool) -> None:
        book = self.books.get(instrument_id)
        if book is not None and book.synced:
            book.invalidate(why)
        self.quotes.pop(instrument_id, None)
        if forget_trades:
            self.last_prices.pop(instrument_id, None)
        self.lost[instrument_id] = why

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
            self.fill_resting(allocations, ts)

    def match_quote(self, resting: RestingOrders, quote: QuoteTick, before: QuoteTick | None) -> None:
        """A new quote (no usable book): queues capped at the touch; a touch through our price fills."""
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
            self.fill_resting(allocations, quote.ts_event)

    def fill_resting(self, allocations: Sequence[Allocation], ts: int) -> None:
        """Fill each resting order its allocated quantity, as maker at its limit."""
        for order, quantity in allocations:
            self._reports.filled(order, quantity, order.limit, LiquiditySide.MAKER, ts)
