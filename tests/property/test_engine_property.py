"""The whole engine on random trade/quote streams: deterministic, and every figure reconciles.

A seeded random walk of trades and quotes on two instruments is replayed by the in-memory feed
through the real engine (bus, market state, paper broker, OMS with risk and position stops, two
SMA-crossover strategies on small windows, one of them on both instruments). Then:

(a) the same stream run twice gives the same signals, order journal, fills and engine messages;
(b) every position equals the fold of its fills;
(c) the account reconciles exactly: cash = initial − Σ signed quantity × price − Σ fees, base
    balances = Σ signed quantities, and equity − initial = realized + unrealized − fees;
(d) an order the OMS holds open is open (or still in flight) at the broker, and the other way round;
and no handler ever raised, and no position ever went past the max position limit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.brokers.paper import PaperBrokerConfig
from application.messages import PositionChanged
from domain.identifiers import InstrumentId, StrategyId
from domain.market_data import MarketEvent, QuoteTick, TradeTick
from domain.positions import Position
from domain.risk import RiskLimits, StopRules
from domain.sizing import FixedQuantity
from domain.strategies import SmaCrossover
from domain.strategies.sma_crossover import SmaCrossoverParams
from domain.values import ZERO, exact_add, exact_mul, exact_sub
from tests.builders import STEP_NS, TS
from tests.unit.application.harness import BTC, ETH, Harness, build

CENT = Decimal("0.01")
INITIAL = Decimal(10_000)
MAX_POSITION = Decimal(1)
START = {BTC: 10_000, ETH: 2_000}  # in cents: 100.00 and 20.00


@dataclass(frozen=True)
class Step:
    instrument: int  # 0: BTC, 1: ETH
    kind: str  # "trade" or "quote"
    move: int  # in units of 5 cents
    size: int  # in tenths


steps = st.lists(
    st.builds(
        Step,
        instrument=st.sampled_from([0, 0, 1]),
        kind=st.sampled_from(["trade", "trade", "quote"]),
        move=st.integers(-6, 6),
        size=st.integers(1, 30),
    ),
    min_size=5,
    max_size=150,
)


def tape(walk: list[Step]) -> list[MarketEvent]:
    """Trades and quotes one millisecond apart; a quote straddles the last price by a cent."""
    cents = dict(START)
    events: list[MarketEvent] = []
    for n, step in enumerate(walk, start=1):
        iid = (BTC, ETH)[step.instrument]
        cents[iid] = max(500, cents[iid] + 5 * step.move)
        price = Decimal(cents[iid]) * CENT
        size = Decimal(step.size) / 10
        ts = TS + n * STEP_NS
        if step.kind == "trade":
            events.append(
                TradeTick.create(
                    instrument_id=iid, price=price, size=size, trade_id=f"T{n}", ts_event=ts, ts_init=ts
                )
            )
        else:
            events.append(
                QuoteTick.create(
                    instrument_id=iid,
                    bid_price=price - CENT,
                    bid_size=size,
                    ask_price=price + CENT,
                    ask_size=size,
                    ts_event=ts,
                    ts_init=ts,
                )
            )
    return events


def run(events: list[MarketEvent], latency_ns: int) -> Harness:
    h = build(
        events=events,
        paper=PaperBrokerConfig(maker_fee_bps=Decimal(2), taker_fee_bps=Decimal(5), latency_ns=latency_ns),
        limits=RiskLimits(
            max_order_quantity=Decimal(1),
            max_position_quantity=MAX_POSITION,
            daily_loss_limit=Decimal(1),
        ),
        stop_rules=StopRules(stop_loss_fraction=Decimal("0.004"), trailing_fraction=Decimal("0.006")),
    )
    h.strategies.add(
        SmaCrossover(
            strategy_id=StrategyId("fast"), instrument_ids=[BTC], params=SmaCrossoverParams(fast=2, slow=5)
        ),
        sizer=FixedQuantity(Decimal("0.5")),
        allow_short=True,
    )
    h.strategies.add(
        SmaCrossover(
            strategy_id=StrategyId("slow"),
            instrument_ids=[BTC, ETH],
            params=SmaCrossoverParams(fast=3, slow=7),
        ),
        sizer=FixedQuantity(Decimal("0.3")),
    )

    async def scenario() -> None:
        await h.engine.start()
        await h.feed.wait_replayed()
        await h.engine.stop(cancel_open_orders=False)

    asyncio.run(scenario())
    return h


def total(values: list[Decimal]) -> Decimal:
    return reduce(exact_add, values, ZERO)


@settings(deadline=None)
@given(walk=steps, latency_ns=st.sampled_from([0, 0, 2 * STEP_NS]))
def test_the_engine_is_deterministic_and_its_books_reconcile(walk: list[Step], latency_ns: int) -> None:
    events = tape(walk)
    h = run(events, latency_ns)
    again = run(events, latency_ns)

    assert h.failures == []
    assert h.bus.stats.handler_errors == 0

    # (a) one stream, one outcome.
    assert again.signals.list(limit=10**9) == h.signals.list(limit=10**9)
    assert again.trades.journal() == h.trades.journal()
    assert again.trades.list_fills() == h.trades.list_fills()
    assert again.messages == h.messages

    # (b) position == fold(fills).
    fills = h.trades.list_fills()
    for iid in (BTC, ETH):
        mine = [f for f in fills if f.instrument_id == iid]
        folded = Position.from_fills(InstrumentId(iid), mine)
        position = h.portfolio.positions.get(iid)
        assert (position.state() if position is not None else Position(iid).state()) == folded.state()

    # (c) cash, base balances and equity reconcile exactly.
    account = h.portfolio.account
    flows = [exact_add(exact_mul(f.signed_quantity, f.price), f.fee) for f in fills]
    assert account.balance("USDT") == exact_sub(INITIAL, total(flows))
    for iid, base in ((BTC, "BTC"), (ETH, "ETH")):
        assert account.balance(base) == total([f.signed_quantity for f in fills if f.instrument_id == iid])
    fees = total([f.fee for f in fills])
    assert fees == h.portfolio.fees()
    pnl = exact_sub(exact_add(h.portfolio.realized_pnl(), h.portfolio.unrealized_pnl()), fees)
    assert exact_sub(h.portfolio.equity(), INITIAL) == pnl

    # (d) the OMS and the broker agree on what is open.
    for order in h.orders.orders.values():
        venue = h.broker.get(order.client_order_id)
        if not order.status.is_terminal:
            assert venue is not None, order
            assert not venue.status.is_terminal, (order, venue)
    for venue in h.broker.open_orders():
        assert not h.orders.get(venue.client_order_id).status.is_terminal

    # Risk never let a position past its limit.
    assert all(change.quantity.copy_abs() <= MAX_POSITION for change in h.of_type(PositionChanged))
