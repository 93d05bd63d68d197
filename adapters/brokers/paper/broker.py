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

A lost market. After a ``BookInvalidated``, or once a feed reports its connection down
(``FeedStatusChanged``), what was seen last is not the market any more: the book is out of sync
and the last quote no longer stands in (nor, when the feed is down, the last trade price). A
market order is then rejected naming why, a limit order takes nothing and rests, and resting
orders fill only from the fresh quotes, trades and snapshots that follow.

What the book cannot fill of a market order expires ("insufficient
liquidity", as Binance does); an IOC remainder expires ("IOC remainder"); a FOK order fills in
full or expires untouched. Market orders are never resting orders, whatever their time in force.
The book is not depleted by paper fills: our orders have no market impact, so two taker orders
between two book updates both see the whole displayed book.

Bars (history of bars only). An order arriving during a bar meets the bar's open; a resting
buy limit above the bar's low fills at its limit (a sell: below the high), for at most the
bar's volume; then the bar's close is the last trade price.

Post-only. A post-only limit order that would take liquidity when it arrives (anything it
would get as a taker from the book, the quote, or with ``last_trade_liquidity`` the last trade)
is rejected ("post-only order would take liquidity"); otherwise it rests like any limit order,
so every fill it gets is a maker fill.

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

The account. Given the starting balances, the venue keeps the account itself, moved by its own
fills (never the engine's portfolio), and refuses on arrival an order the free balance cannot
pay for ("insufficient balance: ..."): on a ``spot`` account (the default) a sell beyond the
free base, a buy beyond the free quote; resting orders lock what they need. A ``margin`` account
may borrow base to sell short, within a simple limit. The rules are in ``account.py``; without
starting balances nothing is checked.

Fees are ``notional × bps / 10 000``, computed exactly, then rounded half-even to
``fee_decimals`` places (1E-12 by default); a negative maker fee is a rebate. Spot has no
``reduce_only``; it is ignored. Stop orders are refused: the engine emulates them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from adapters.brokers.paper.account import VenueAccount
from adapters.brokers.paper.arrivals import Arrivals
from adapters.brokers.paper.config import PaperBrokerConfig
from adapters.brokers.paper.matching import WorkingOrder
from adapters.brokers.paper.matching_engine import MatchingEngine
from adapters.brokers.paper.orders import PaperOrder, VenueIds, VenueOrders
from adapters.brokers.paper.replay import restore
from adapters.brokers.paper.reports import ExecutionReports
from adapters.brokers.paper.venue_log import VenueLog
from application.messages import FeedStatusChanged
from domain.identifiers import ClientOrderId, InstrumentId
from domain.instrument import Instrument
from domain.market_data import Bar, BookDelta, BookInvalidated, BookSnapshot, QuoteTick, TradeTick
from domain.orders import Order
from domain.values import AggressorSide


class PaperBroker:
    """A simulated venue behind the ``Broker`` port; see the module docstring for its rules.

    ``publish`` receives the reports (the bus's ``publish``). Reports are collected while the
    broker updates its state and handed to ``publish`` after, in order, so a handler that calls
    back into the broker (a cancel on a fill) always sees a consistent venue. Venue-style problems
    (unknown instrument, a price off the tick, a duplicate open client order id, no market data)
    become ``OrderRejected`` / ``CancelRejected``; only a programming error (not an ``Order``) raises.

    The venue's parts: ``Arrivals`` (the latency queue), ``MatchingEngine`` (taking liquidity and
    resting orders), ``ExecutionReports`` (fills, fees and report delivery), ``VenueOrders`` (the
    orders and the reconciliation queries) and ``replay.restore`` (the venue log read at start).
    Each market event runs here: what is due arrives, the market moves, resting orders match,
    reports are published. On the per-event path the handlers read the parts' containers
    (``_pending``, ``_resting``, ``_quotes``, ``_last_prices``, ``_outbox``: the same objects,
    never rebound) directly, so an event that meets nothing costs a few lookups and no call.
    """

    name = "paper"
    supports_stop_orders = False  # stop orders are held by the engine until triggered

    __slots__ = (
        "_account",
        "_arrivals",
        "_config",
        "_engine",
        "_ids",
        "_last_prices",
        "_last_trade",
        "_lost",
        "_orders",
        "_outbox",
        "_pending",
        "_quotes",
        "_reports",
        "_resting",
        "_use_trades",
    )

    def __init__(
        self,
        *,
        publish: Callable[[object], None],
        instruments: Mapping[InstrumentId, Instrument],
        config: PaperBrokerConfig,
        id_prefix: str = "PAPER",
        log: VenueLog | None = None,
        balances: Mapping[str, object] | None = None,
    ) -> None:
        """``id_prefix`` starts the venue's order and trade ids; a run that keeps its orders
        across restarts gives each process its own, so ids never repeat in the store.

        With ``log`` the venue keeps its state on disk: it replays the log now (raises
        VenueLogError for a file that is not one) and writes every report to it before
        publishing it, balances included (rebuilt at a restart from the fills it logged).

        ``balances``: the account's starting balances per asset; with them the venue checks
        every order against the free balance (see the module docstring). Raises ValueError
        naming the asset of a malformed or negative one."""
        if not isinstance(config, PaperBrokerConfig):
            raise TypeError(f"config must be a PaperBrokerConfig, was {type(config).__name__}")
        self._config = config
        self._use_trades = config.use_trades_for_fills
        self._last_trade = config.last_trade_liquidity
        self._ids = ids = VenueIds(id_prefix)
        self._orders = orders = VenueOrders()
        self._account = account = None if balances is None else VenueAccount(balances, config, instruments)
        self._reports = reports = ExecutionReports(
            publish=publish, config=config, ids=ids, orders=orders, log=log, account=account
        )
        self._engine = engine = MatchingEngine(
            instruments=instruments, config=config, orders=orders, reports=reports, account=account
        )
        self._arrivals = arrivals = Arrivals(
            latency=config.latency_ns,
            ids=ids,
            deliver_order=engine.arrive,
            deliver_cancel=engine.arrive_cancel,
        )
        self._pending = arrivals.heap
        self._resting = orders.resting
        self._quotes = engine.quotes
        self._last_prices = engine.last_prices
        self._lost = engine.lost
        self._outbox = reports.outbox
        if log is not None:
            restore(log, orders, ids, account)

    @property
    def config(self) -> PaperBrokerConfig:
        return self._config

    @property
    def spot_account(self) -> bool:
        """Whether the venue keeps a spot account (so the engine's risk checks balances too)."""
        return self._account is not None and not self._config.margin

    def balances(self) -> dict[str, Decimal] | None:
        """The account as the venue holds it (total per asset), or None when it keeps none."""
        return None if self._account is None else dict(self._account.totals)

    def free(self, asset: str) -> Decimal | None:
        """What of ``asset`` no resting order locks, or None when the venue keeps no account."""
        account = self._account
        if account is None:
            return None
        return account.balance(asset) - account.locked(asset, self._orders.working.values())

    # -- the Broker port ------------------------------------------------------------------

    def submit(self, order: Order) -> None:
        """Send ``order``; it arrives after the configured latency (see the module docstring)."""
        if not isinstance(order, Order):
            raise TypeError(f"submit takes an Order, was {type(order).__name__}")
        working = WorkingOrder(order, self._ids.next_sequence())
        self._arrivals.send(order.ts_last, working)
        if self._outbox:
            self._reports.flush()

    def cancel(self, order: Order) -> None:
        """Ask to cancel ``order``; after the latency it is canceled or the cancel is rejected."""
        if not isinstance(order, Order):
            raise TypeError(f"cancel takes an Order, was {type(order).__name__}")
        self._arrivals.send(order.ts_last, order.client_order_id)
        if self._outbox:
            self._reports.flush()

    # -- queries (reconciliation) ---------------------------------------------------------

    def open_orders(self, instrument_id: InstrumentId | None = None) -> list[PaperOrder]:
        """Orders working at the paper venue (arrived and not closed), oldest first."""
        return self._orders.open_orders(instrument_id)

    def query_open_orders(self) -> list[PaperOrder]:
        """The ``ReconcilableBroker`` query: every order working at the venue, oldest first."""
        return self._orders.open_orders()

    def query_order(self, client_order_id: ClientOrderId) -> PaperOrder | None:
        """The ``ReconcilableBroker`` query: one order as the venue has it, or None."""
        return self.get(client_order_id)

    def get(self, client_order_id: str) -> PaperOrder | None:
        """The venue's view of one order: working, still in flight, or recently closed."""
        return self._orders.view(ClientOrderId(client_order_id), self._arrivals.in_flight)

    # -- time -----------------------------------------------------------------------------

    def pending_arrivals(self) -> int:
        """Submits and cancels still travelling to the venue (latency not yet elapsed)."""
        return len(self._pending)

    def advance_to(self, ts_ns: int) -> None:
        """Let everything due by ``ts_ns`` arrive (a timer, or the end of a backtest)."""
        if self._pending and self._pending[0][0] <= ts_ns:
            self._arrivals.release(ts_ns)
        if self._outbox:
            self._reports.flush()

    def advance_to_end(self) -> None:
        """Everything still travelling to the venue arrives now (the engine is stopping).

        Each arrives at its own arrival time, in arrival order, as ``advance_to`` a time past
        them all would do; what the engine sends on hearing their reports stays in flight."""
        if self._pending:
            self._arrivals.release_all()
        if self._outbox:
            self._reports.flush()

    # -- market data (subscribed on the bus by the composition root) -----------------------

    def on_trade(self, tick: TradeTick) -> None:
        """A public trade: may fill resting orders (rules a and b). The per-tick hot path."""
        pending = self._pending
        if pending and pending[0][0] <= tick.ts_event:
            self._arrivals.release(tick.ts_event)
        if self._last_trade:
            self._last_prices[tick.instrument_id] = tick.price
        resting = self._resting.get(tick.instrument_id)
        if resting is not None and self._use_trades:
            allocations = resting.allocate_trade(tick.price, tick.size, tick.aggressor)
            if allocations:
                self._engine.fill_resting(allocations, tick.ts_event)
        if self._outbox:
            self._reports.flush()

    def on_bar(self, bar: Bar) -> None:
        """A bar (history of bars only): what arrives during it meets its open; resting limits
        its range reached fill at their limit, within its volume; its close is the last price."""
        instrument_id = bar.instrument_id
        last_trade = self._last_trade
        if last_trade:
            self._last_prices[instrument_id] = bar.open
        pending = self._pending
        if pending and pending[0][0] <= bar.ts_event:
            self._arrivals.release(bar.ts_event)
        resting = self._resting.get(instrument_id)
        if resting is not None and self._use_trades:
            allocations = list(resting.allocate_trade(bar.low, bar.volume, AggressorSide.SELLER))
            allocations += resting.allocate_trade(bar.high, bar.volume, AggressorSide.BUYER)
            if allocations:
                self._engine.fill_resting(allocations, bar.ts_event)
        if last_trade:
            self._last_prices[instrument_id] = bar.close
        if self._outbox:
            self._reports.flush()

    def on_quote(self, quote: QuoteTick) -> None:
        """Best bid/ask: kept as the fallback of a missing book; fills resting orders without one."""
        pending = self._pending
        if pending and pending[0][0] <= quote.ts_event:
            self._arrivals.release(quote.ts_event)
        instrument_id = quote.instrument_id
        quotes = self._quotes
        before = quotes.get(instrument_id)
        quotes[instrument_id] = quote
        if self._lost:
            self._lost.pop(instrument_id, None)
        resting = self._resting.get(instrument_id)
        if resting is not None and not self._engine.book_usable(instrument_id):
            self._engine.match_quote(resting, quote, before)
        if self._outbox:
            self._reports.flush()

    def on_book_snapshot(self, snapshot: BookSnapshot) -> None:
        """A full book: (re)synchronizes the local book; newly crossing levels fill (rule c)."""
        pending = self._pending
        if pending and pending[0][0] <= snapshot.ts_event:
            self._arrivals.release(snapshot.ts_event)
        self._engine.on_book_snapshot(snapshot)
        if self._outbox:
            self._reports.flush()

    def on_book_invalidated(self, event: BookInvalidated) -> None:
        """The feed lost the book: neither it nor the last quote is traded on until fresh data."""
        self._engine.on_book_invalidated(event)

    def on_feed_status(self, event: FeedStatusChanged) -> None:
        """A feed went down: nothing it showed is traded on until fresh data (see the module)."""
        self._engine.on_feed_status(event)

    def on_book_delta(self, delta: BookDelta) -> None:
        """Book changes: applied when they follow on (a gap waits for a snapshot); rule c."""
        pending = self._pending
        if pending and pending[0][0] <= delta.ts_event:
            self._arrivals.release(delta.ts_event)
        self._engine.on_book_delta(delta)
        if self._outbox:
            self._reports.flush()
