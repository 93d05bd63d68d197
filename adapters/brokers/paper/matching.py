"""Matching rules of the paper broker: fees, slippage, and what a trade or the book gives resting orders.

Nothing here publishes or reads a clock: the broker asks, then reports what these answer.
See ``broker.py`` for the rules these helpers implement and the simplifications they make.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, Overflow

from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId
from domain.instrument import Instrument
from domain.market_data import BookLevel, QuoteTick
from domain.order_book import OrderBook
from domain.orders import Fill, Order, OrderStatus, OrderType, TimeInForce
from domain.values import EXACT, ZERO, AggressorSide, OrderSide

_FEES = Context(prec=80, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Overflow])
"""Rounds the one division of a fee (by 10 000) to its quantum; wide enough never to lose digits."""
_ONE = Decimal(1)
_BUYER = AggressorSide.BUYER  # bound once: enum class attribute lookups cost ~70 ns on CPython 3.11
_SELLER = AggressorSide.SELLER

Allocation = tuple["WorkingOrder", Decimal]
"""A resting order and the quantity it fills."""


def fee_quantum(decimals: int) -> Decimal:
    """The smallest fee step for ``decimals`` places: 12 -> Decimal('1E-12')."""
    return _ONE.scaleb(-decimals)


def fee_for(notional: Decimal, bps: Decimal, quantum: Decimal) -> Decimal:
    """``notional × bps / 10 000``, exact, then rounded half-even to ``quantum`` (once)."""
    fee = EXACT.multiply(notional, bps).scaleb(-4, EXACT).quantize(quantum, context=_FEES)
    return fee if fee else fee.copy_abs()  # no "-0E-12" from a rebate rounded to nothing


def slipped_price(price: Decimal, side: OrderSide, bps: Decimal, instrument: Instrument) -> Decimal:
    """``price`` made ``bps`` worse for a taker on ``side``, rounded to the tick against the trader.

    A buy pays more (rounded up), a sell receives less (rounded down, never below one tick).
    Zero slippage returns the displayed price untouched.
    """
    if not bps:
        return price
    move = EXACT.multiply(price, bps).scaleb(-4, EXACT)
    if side is OrderSide.BUY:
        return instrument.round_price_up(EXACT.add(price, move))
    worse = instrument.round_price_down(EXACT.subtract(price, move))
    return worse if worse > ZERO else instrument.price_tick


def level_taken(
    leaves: Decimal, queue_ahead: Decimal | None, at_price: bool, volume: Decimal
) -> tuple[Decimal, Decimal | None]:
    """(quantity filled, queue ahead after) for a resting order a trade's ``volume`` reached.

    A trade through the price fills the order first (it was ahead of every displayed order at the
    trade price). A trade at the price consumes the queue ahead first; an unknown queue (None)
    never fills from trades at the price, only from trades through it.
    """
    if not at_price:
        return min(leaves, volume), queue_ahead
    if queue_ahead is None:
        return ZERO, None
    if queue_ahead >= volume:
        return ZERO, EXACT.subtract(queue_ahead, volume)
    return min(leaves, EXACT.subtract(volume, queue_ahead)), ZERO


class WorkingOrder:
    """The paper venue's own record of an order; the OMS's ``Order`` is never touched."""

    __slots__ = (
        "client_order_id",
        "filled",
        "fills",
        "instrument_id",
        "leaves",
        "limit",
        "order_type",
        "post_only",
        "quantity",
        "queue_ahead",
        "reason",
        "sequence",
        "side",
        "status",
        "strategy_id",
        "time_in_force",
        "ts_last",
        "venue_order_id",
    )

    def __init__(self, order: Order, sequence: int) -> None:
        self.client_order_id: ClientOrderId = order.client_order_id
        self.instrument_id: InstrumentId = order.instrument_id
        self.side: OrderSide = order.side
        self.order_type: OrderType = (
            order.effective_type
        )  # a triggered engine-side stop works as market or limit
        self.time_in_force: TimeInForce = order.time_in_force
        self.strategy_id: StrategyId | None = order.strategy_id
        self.quantity: Decimal = order.quantity
        self.limit: Decimal = order.price if order.price is not None else ZERO  # ZERO: no limit
        self.post_only: bool = order.post_only  # refused on arrival rather than take liquidity
        self.filled: Decimal = ZERO
        self.leaves: Decimal = order.quantity
        self.sequence = sequence  # time priority among our own orders at one price
        self.venue_order_id: VenueOrderId | None = None
        self.status = OrderStatus.SUBMITTED
        self.queue_ahead: Decimal | None = None  # displayed size ahead at our price; None: unknown
        self.ts_last = order.ts_last
        self.fills: list[Fill] = []  # what the venue executed of it (reconciliation)
        self.reason = ""  # why it closed, when it did

    @property
    def price(self) -> Decimal | None:
        return self.limit if self.order_type is OrderType.LIMIT else None

    def take(self, quantity: Decimal) -> None:
        """Book an execution of ``quantity`` (the caller never passes more than ``leaves``)."""
        self.filled = EXACT.add(self.filled, quantity)
        self.leaves = EXACT.subtract(self.leaves, quantity)


def _reach(
    orders: list[WorkingOrder], price: Decimal, volume: Decimal, allocations: list[Allocation], buy: bool
) -> Decimal:
    """Give ``volume`` traded at ``price`` to the orders it reaches; returns what is left."""
    for order in orders:
        limit = order.limit
        if (limit < price) if buy else (limit > price):
            break  # priority order: every later order is further from the trade
        taken, order.queue_ahead = level_taken(order.leaves, order.queue_ahead, limit == price, volume)
        if taken:
            allocations.append((order, taken))
            volume = EXACT.subtract(volume, taken)
            if not volume:
                break
    return volume


def _bid_priority(order: WorkingOrder) -> tuple[Decimal, int]:
    return order.limit.copy_negate(), order.sequence


def _ask_priority(order: WorkingOrder) -> tuple[Decimal, int]:
    return order.limit, order.sequence


class RestingOrders:
    """One instrument's resting limit orders, each side in price-then-time priority (best first)."""

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: list[WorkingOrder] = []  # highest limit first
        self.asks: list[WorkingOrder] = []  # lowest limit first

    def __bool__(self) -> bool:
        return bool(self.bids) or bool(self.asks)

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)

    def add(self, order: WorkingOrder) -> None:
        if order.side is OrderSide.BUY:
            insort(self.bids, order, key=_bid_priority)
        else:
            insort(self.asks, order, key=_ask_priority)

    def remove(self, order: WorkingOrder) -> None:
        orders = self.bids if order.side is OrderSide.BUY else self.asks
        if order in orders:
            orders.remove(order)

    # -- trades ---------------------------------------------------------------------------

    def allocate_trade(self, price: Decimal, size: Decimal, aggressor: AggressorSide) -> Sequence[Allocation]:
        """Share a public trade's volume among the orders it reached, best priority first.

        A seller (or unknown) aggressor reaches our bids at or above the trade price, a buyer
        (or unknown) one our asks at or below it. The trade's size is a budget: all our fills
        from one trade never exceed it. Updates queue positions in place. On the per-tick path:
        a trade that reaches no order costs two comparisons.
        """
        bids, asks = self.bids, self.asks
        to_bids = bids and aggressor is not _BUYER and bids[0].limit >= price
        to_asks = asks and aggressor is not _SELLER and asks[0].limit <= price
        if not to_bids and not to_asks:
            return ()
        allocations: list[Allocation] = []
        volume = size
        if to_bids:
            volume = _reach(bids, price, volume, allocations, True)
        if to_asks and volume:
            _reach(asks, price, volume, allocations, False)
        return allocations

    # -- the book or quote moving through our prices --------------------------------------

    def crossing_gains(
        self, side: OrderSide, levels: Iterable[BookLevel], size_before: Callable[[Decimal], Decimal]
    ) -> list[BookLevel]:
        """Liquidity newly shown at prices that cross our ``side`` orders, best price first.

        ``levels`` are the opposite side's new (price, size) levels (a delta, a snapshot or a
        quote's touch); ``size_before`` gives the size the same price showed before the update.
        Only growth counts: a level that shrinks or stays the same gives nothing, so liquidity
        is used once and a trade's own book update (which shrinks a level) never fills again.
        """
        orders = self.bids if side is OrderSide.BUY else self.asks
        if not orders:
            return []
        reach = orders[0].limit
        latest: dict[Decimal, Decimal] = {}
        for price, size in levels:
            if (price <= reach) if side is OrderSide.BUY else (price >= reach):
                latest[price] = size  # a repeated price in one update: its last size holds
        gains = []
        for price, size in latest.items():
            grown = EXACT.subtract(size, size_before(price))
            if grown > ZERO:
                gains.append((price, grown))
        gains.sort(reverse=side is OrderSide.SELL)  # asks cheapest first for our bids, and back
        return gains

    def allocate_gains(self, side: OrderSide, gains: list[BookLevel]) -> list[Allocation]:
        """Fill our ``side`` orders from ``gains`` (see ``crossing_gains``), best priority first."""
        orders = self.bids if side is OrderSide.BUY else self.asks
        allocations: list[Allocation] = []
        given: dict[int, Decimal] = {}
        for price, shown in gains:
            available = shown
            for order in orders:
                limit = order.limit
                if (limit < price) if side is OrderSide.BUY else (limit > price):
                    break
                room = EXACT.subtract(order.leaves, given.get(order.sequence, ZERO))
                if not room:
                    continue
                taken = min(room, available)
                given[order.sequence] = EXACT.add(given.get(order.sequence, ZERO), taken)
                allocations.append((order, taken))
                available = EXACT.subtract(available, taken)
                if not available:
                    break
        return allocations

    # -- queue positions ------------------------------------------------------------------

    def cap_queues(
        self, bid_size_at: Callable[[Decimal], Decimal], ask_size_at: Callable[[Decimal], Decimal]
    ) -> None:
        """No more can be ahead of us than the book displays at our price (cancels ahead of us)."""
        for orders, size_at in ((self.bids, bid_size_at), (self.asks, ask_size_at)):
            for order in orders:
                shown = size_at(order.limit)
                ahead = order.queue_ahead
                order.queue_ahead = shown if ahead is None or shown < ahead else ahead

    def cap_queues_from_quote(self, quote: QuoteTick) -> None:
        """As ``cap_queues``, from the touch only: levels behind the touch stay as they were."""
        for order in self.bids:
            order.queue_ahead = queue_from_touch(order.limit, OrderSide.BUY, quote, order.queue_ahead)
        for order in self.asks:
            order.queue_ahead = queue_from_touch(order.limit, OrderSide.SELL, quote, order.queue_ahead)


def available_liquidity(
    side: OrderSide, quantity: Decimal, limit: Decimal | None, book: OrderBook | None, quote: QuoteTick | None
) -> list[BookLevel] | None:
    """The (price, size) a taker ``side`` order gets now, best first; None without market data.

    ``book`` is the usable (synced) book or None; without one the quote's touch stands in.
    """
    if book is not None:
        return book.walk(side, quantity, limit)
    if quote is None:
        return None
    if side is OrderSide.BUY:
        price, size = quote.ask_price, quote.ask_size
        reachable = limit is None or price <= limit
    else:
        price, size = quote.bid_price, quote.bid_size
        reachable = limit is None or price >= limit
    if not reachable or not size:
        return []
    return [(price, min(size, quantity))]


def queue_ahead(
    side: OrderSide, limit: Decimal, book: OrderBook | None, quote: QuoteTick | None
) -> Decimal | None:
    """Displayed size ahead of an order resting now at ``limit``; None when it cannot be known."""
    if book is not None:
        return book.bid_size_at(limit) if side is OrderSide.BUY else book.ask_size_at(limit)
    if quote is None:
        return None
    return queue_from_touch(limit, side, quote, None)


def total_size(levels: Iterable[BookLevel]) -> Decimal:
    total = ZERO
    for _, size in levels:
        total = EXACT.add(total, size)
    return total


def queue_from_touch(
    limit: Decimal, side: OrderSide, quote: QuoteTick, known: Decimal | None
) -> Decimal | None:
    """The queue ahead of a ``side`` order at ``limit`` that a quote reveals (``known`` if none).

    At the touch: the touch size (or less, if ``known`` is smaller). Better than the touch: nothing
    is ahead. Behind it: the quote does not show that level, so ``known`` stands.
    """
    if side is OrderSide.BUY:
        touch, shown = quote.bid_price, quote.bid_size
        better = limit > touch
    else:
        touch, shown = quote.ask_price, quote.ask_size
        better = limit < touch
    if better:
        return ZERO
    if limit == touch:
        return shown if known is None or shown < known else known
    return known
