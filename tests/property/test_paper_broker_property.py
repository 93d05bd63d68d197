"""PaperBroker invariants over random books, orders and streams of trades, deltas and quotes.

Every report is applied to a real ``Order`` (an illegal sequence or an overfill raises), and
after the stream every order must be closed with its quantity accounted for.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from adapters.brokers.paper import PaperBrokerConfig
from adapters.brokers.paper.matching_engine import POST_ONLY_WOULD_TAKE
from application.messages import OrderExpired, OrderFilled
from domain.orders import LiquiditySide, Order, OrderStatus, OrderType, TimeInForce
from domain.values import AggressorSide, OrderSide
from tests.builders import BTCUSDT, STEP_NS, TS
from tests.unit.adapters.brokers.paper.paper_venue import PaperVenue

MID = 10_000  # ticks of 0.01: 100.00
SPREAD = 8  # levels and limits live within MID ± SPREAD ticks, so they collide often
CENT = Decimal("0.01")


def price(tick: int) -> str:
    return str(Decimal(tick) * CENT)


def size(units: int) -> str:
    return str(Decimal(units) * CENT)


ticks = st.integers(MID - SPREAD, MID + SPREAD)
units = st.integers(1, 400)


@dataclass(frozen=True)
class OrderSpec:
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    limit: int
    post_only: bool = False


order_specs = st.builds(
    OrderSpec,
    side=st.sampled_from(OrderSide),
    order_type=st.sampled_from([OrderType.MARKET, OrderType.LIMIT, OrderType.LIMIT, OrderType.LIMIT]),
    # GTC limits rest, and resting orders are where the queue and crossing rules live.
    time_in_force=st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]),
    quantity=units,
    limit=ticks,
)
levels = st.dictionaries(ticks, units, max_size=6)
trades = st.tuples(st.just("trade"), ticks, units, st.sampled_from(AggressorSide))
deltas = st.tuples(
    st.just("delta"),
    ticks,
    st.dictionaries(ticks, st.integers(0, 400), max_size=4),
    st.sampled_from([False, False, False, True]),  # a gap in one delta of four
)
submits = st.tuples(st.just("submit"), order_specs)
events = st.one_of(
    submits,
    submits,
    trades,
    trades,
    trades,
    deltas,
    deltas,
    st.tuples(st.just("snapshot"), ticks, levels),
    st.tuples(st.just("quote"), ticks, st.integers(1, 3), units, units),
    st.tuples(st.just("quote"), ticks, st.integers(1, 3), units, units),
    st.tuples(st.just("cancel"), st.integers(0, 9)),
)
FEEDS = {"book": {"quote"}, "quotes": {"snapshot", "delta"}, "both": set()}
"""Each feed mode and the event kinds it leaves out: the quote-only mode exercises the fallback."""
configs = st.builds(
    PaperBrokerConfig,
    maker_fee_bps=st.sampled_from([Decimal(-1), Decimal(0), Decimal("0.75"), Decimal(2)]),
    taker_fee_bps=st.sampled_from([Decimal(0), Decimal("4.5"), Decimal(10)]),
    latency_ns=st.sampled_from([0, 0, 3 * STEP_NS]),
    slippage_bps=st.sampled_from([Decimal(0), Decimal(1), Decimal("5.5")]),
)


class Session:
    """Drives one venue through a script, keeping a reference book so deltas stay uncrossed."""

    def __init__(self, config: PaperBrokerConfig) -> None:
        self.venue = PaperVenue(config)
        self.config = config
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.sequence = 0
        self.ts = TS
        self.orders: list[Order] = []
        self.trade_sizes: dict[int, Decimal] = {}  # ts of each trade -> its size

    def tick(self) -> int:
        self.ts += STEP_NS
        return self.ts

    def split(self, mid: int, changes: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
        bids = {t: s for t, s in changes.items() if t < mid}
        asks = {t: s for t, s in changes.items() if t >= mid}
        return bids, asks

    def snapshot(self, mid: int, book: dict[int, int]) -> None:
        self.bids, self.asks = self.split(mid, book)
        self.sequence += 5
        self.venue.snapshot(
            [(price(t), size(s)) for t, s in self.bids.items()],
            [(price(t), size(s)) for t, s in self.asks.items()],
            sequence=self.sequence,
            ts=self.tick(),
        )

    def delta(self, mid: int, changes: dict[int, int], gap: bool) -> None:
        bids, asks = self.split(mid, changes)
        bids |= {t: 0 for t in self.bids if t >= mid}  # clear what would cross the new mid
        asks |= {t: 0 for t in self.asks if t < mid}
        for side, update in ((self.bids, bids), (self.asks, asks)):
            for t, s in update.items():
                if s:
                    side[t] = s
                else:
                    side.pop(t, None)
        first = self.sequence + (2 if gap else 1)
        self.sequence += 2 if gap else 1
        self.venue.delta(
            bids=[(price(t), size(s)) for t, s in bids.items()],
            asks=[(price(t), size(s)) for t, s in asks.items()],
            first=first,
            sequence=self.sequence,
            ts=self.tick(),
        )

    def submit(self, spec: OrderSpec) -> Order:
        order = Order(
            client_order_id=f"O-{len(self.orders)}",
            instrument_id=BTCUSDT,
            side=spec.side,
            order_type=spec.order_type,
            quantity=size(spec.quantity),
            price=price(spec.limit) if spec.order_type is OrderType.LIMIT else None,
            time_in_force=spec.time_in_force,
            post_only=spec.post_only,
            ts_init=self.tick(),
        )
        self.orders.append(order)
        self.venue.submit(order)
        return order

    def cancel(self, index: int) -> None:
        if index < len(self.orders):
            order = self.orders[index]
            if order.is_open and order.status is not OrderStatus.CANCEL_PENDING:
                self.venue.cancel(order, self.tick())

    def run(self, script: list[tuple[object, ...]]) -> None:
        for event in script:
            kind = event[0]
            if kind == "submit":
                self.submit(event[1])  # type: ignore[arg-type]
            elif kind == "trade":
                _, tick, units_, aggressor = event
                ts = self.tick()
                self.trade_sizes[ts] = Decimal(size(units_))  # type: ignore[arg-type]
                self.venue.trade(price(tick), size(units_), aggressor, ts=ts)  # type: ignore[arg-type]
            elif kind == "delta":
                self.delta(*event[1:])  # type: ignore[arg-type]
            elif kind == "snapshot":
                self.snapshot(*event[1:])  # type: ignore[arg-type]
            elif kind == "quote":
                _, bid, width, bid_units, ask_units = event
                self.venue.quote(
                    price(bid),  # type: ignore[arg-type]
                    size(bid_units),  # type: ignore[arg-type]
                    price(bid + width),  # type: ignore[operator]
                    size(ask_units),  # type: ignore[arg-type]
                    ts=self.tick(),
                )
            else:
                self.cancel(event[1])  # type: ignore[arg-type]
        self.venue.broker.advance_to(self.tick() + self.config.latency_ns)
        for index in range(len(self.orders)):
            self.cancel(index)
        self.venue.broker.advance_to(self.tick() + self.config.latency_ns)
        self.venue.check()


def expected_fee(fill_quantity: Decimal, fill_price: Decimal, bps: Decimal) -> Decimal:
    with localcontext(prec=100, rounding=ROUND_HALF_EVEN):
        return (fill_quantity * fill_price * bps / 10_000).quantize(Decimal("1e-12"))


@given(
    config=configs,
    feed=st.sampled_from(sorted(FEEDS)),
    opening=st.tuples(ticks, levels),
    script=st.lists(events, min_size=4, max_size=30),
)
def test_paper_broker_invariants(
    config: PaperBrokerConfig,
    feed: str,
    opening: tuple[int, dict[int, int]],
    script: list[tuple[object, ...]],
) -> None:
    session = Session(config)
    if feed != "quotes":
        session.snapshot(*opening)

    session.run(
        [event for event in script if event[0] not in FEEDS[feed]]
    )  # every report went through the Order state machine

    venue = session.venue
    assert venue.broker.open_orders() == []
    assert venue.broker.pending_arrivals() == 0
    for order in session.orders:
        assert order.status.is_terminal, order
        assert order.filled_quantity <= order.quantity
        assert sum((fill.quantity for fill in order.fills), Decimal(0)) == order.filled_quantity
        if order.status is OrderStatus.FILLED:
            assert order.filled_quantity == order.quantity
        if order.time_in_force is TimeInForce.FOK and order.status is not OrderStatus.REJECTED:
            assert order.filled_quantity in (0, order.quantity), "FOK is all or nothing"
        if order.order_type is OrderType.MARKET or order.time_in_force is not TimeInForce.GTC:
            # Never working after arrival: fully filled, or the remainder expired (or refused).
            assert order.status in (OrderStatus.FILLED, OrderStatus.EXPIRED, OrderStatus.REJECTED)
            assert all(fill.liquidity is LiquiditySide.TAKER for fill in order.fills)
        for fill in order.fills:
            if order.price is not None:
                assert fill.price <= order.price if order.side is OrderSide.BUY else fill.price >= order.price
            if fill.liquidity is LiquiditySide.MAKER:
                assert fill.price == order.price
                bps = config.maker_fee_bps
            else:
                bps = config.taker_fee_bps
            assert fill.fee == expected_fee(fill.quantity, fill.price, bps)
    expired = [report for report in venue.reports if isinstance(report, OrderExpired)]
    assert all(venue.orders[report.client_order_id].status is OrderStatus.EXPIRED for report in expired)
    for ts, traded in session.trade_sizes.items():
        from_trade = [
            report.fill.quantity
            for report in venue.reports
            if isinstance(report, OrderFilled)
            and report.fill.ts_event == ts
            and report.fill.liquidity is LiquiditySide.MAKER
        ]
        assert sum(from_trade, Decimal(0)) <= traded, "one trade filled more than its size"


gtc_limits = st.builds(
    OrderSpec,
    side=st.sampled_from(OrderSide),
    order_type=st.just(OrderType.LIMIT),
    time_in_force=st.just(TimeInForce.GTC),
    quantity=units,
    limit=ticks,
)
market_events = st.one_of(
    trades, trades, deltas, deltas, st.tuples(st.just("quote"), ticks, st.integers(1, 3), units, units)
)


@given(
    config=configs,
    feed=st.sampled_from(sorted(FEEDS)),
    opening=st.tuples(ticks, levels),
    resting=st.lists(gtc_limits, min_size=1, max_size=3),
    stream=st.lists(market_events, min_size=1, max_size=30),
)
def test_resting_orders_fill_as_maker_at_their_limit_within_the_volume_shown(
    config: PaperBrokerConfig,
    feed: str,
    opening: tuple[int, dict[int, int]],
    resting: list[OrderSpec],
    stream: list[tuple[object, ...]],
) -> None:
    session = Session(config)
    if feed != "quotes":
        session.snapshot(*opening)
    else:
        session.venue.quote(price(opening[0] - 1), "1", price(opening[0]), "1", ts=session.tick())

    session.run([("submit", spec) for spec in resting] + [e for e in stream if e[0] not in FEEDS[feed]])

    for order in session.orders:
        assert order.status.is_terminal, order
        maker = [fill for fill in order.fills if fill.liquidity is LiquiditySide.MAKER]
        assert all(fill.price == order.price for fill in maker)
        assert all(
            fill.fee == expected_fee(fill.quantity, fill.price, config.maker_fee_bps) for fill in maker
        )
    fills_at: dict[int, Decimal] = {}
    for report in session.venue.reports:
        if isinstance(report, OrderFilled) and report.fill.liquidity is LiquiditySide.MAKER:
            fills_at[report.fill.ts_event] = (
                fills_at.get(report.fill.ts_event, Decimal(0)) + report.fill.quantity
            )
    for ts, traded in session.trade_sizes.items():
        assert fills_at.get(ts, Decimal(0)) <= traded, "one trade filled more than its size"


post_only_limits = st.builds(
    OrderSpec,
    side=st.sampled_from(OrderSide),
    order_type=st.just(OrderType.LIMIT),
    time_in_force=st.just(TimeInForce.GTC),
    quantity=units,
    limit=ticks,
    post_only=st.just(True),
)


@given(opening=st.tuples(ticks, levels), spec=post_only_limits)
def test_a_post_only_order_is_refused_exactly_when_it_would_cross_the_book(
    opening: tuple[int, dict[int, int]], spec: OrderSpec
) -> None:
    session = Session(PaperBrokerConfig(latency_ns=0))
    session.snapshot(*opening)

    order = session.submit(spec)

    if spec.side is OrderSide.BUY:
        crosses = bool(session.asks) and spec.limit >= min(session.asks)
    else:
        crosses = bool(session.bids) and spec.limit <= max(session.bids)
    assert (order.status is OrderStatus.REJECTED) == crosses
    if crosses:
        assert order.events[-1].reason == POST_ONLY_WOULD_TAKE
    assert order.fills == []


@given(
    config=configs,
    feed=st.sampled_from(sorted(FEEDS)),
    opening=st.tuples(ticks, levels),
    post_only=st.lists(post_only_limits, min_size=1, max_size=3),
    script=st.lists(events, min_size=1, max_size=30),
)
def test_a_post_only_order_is_only_ever_filled_as_maker(
    config: PaperBrokerConfig,
    feed: str,
    opening: tuple[int, dict[int, int]],
    post_only: list[OrderSpec],
    script: list[tuple[object, ...]],
) -> None:
    session = Session(config)
    if feed != "quotes":
        session.snapshot(*opening)
    submits: list[tuple[object, ...]] = [("submit", spec) for spec in post_only]

    session.run(submits + [event for event in script if event[0] not in FEEDS[feed]])

    for order in session.orders:
        assert order.status.is_terminal, order
        if not order.post_only:
            continue
        assert all(fill.liquidity is LiquiditySide.MAKER for fill in order.fills)
        assert all(fill.price == order.price for fill in order.fills)
        if order.status is OrderStatus.REJECTED:
            assert order.events[-1].reason == POST_ONLY_WOULD_TAKE
