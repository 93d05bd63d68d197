"""The recorder: market events timed and counted, orders, fills and outcomes counted once."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.metrics.recorder import MetricsRecorder
from application.ingestion import IngestionService, Sink
from application.market_state import MarketState
from application.messages import IntentRejected, OrderAccepted, OrderCanceled, OrderFilled
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, VenueOrderId
from domain.market_data import MarketEvent, QuoteTick, TradeTick
from domain.orders import Order, OrderStatus
from domain.risk import RiskReason, RiskRejection
from domain.values import AggressorSide, OrderSide
from tests.builders import (
    BTCUSDT,
    ETHUSDT,
    TS,
    make_fill,
    make_instrument,
    make_intent,
    make_order,
    make_order_in,
)

SOL = InstrumentId("SOLUSDT.BINANCE")


class Clock:
    """The clock the feed stamps ``ts_init`` with, moved by hand."""

    def __init__(self) -> None:
        self.now = TS

    def __call__(self) -> int:
        return self.now


class Recorded:
    """A recorder over an order book and a fill count the test controls, observing an
    ingestion whose bus is the market state, then the test's handlers."""

    def __init__(self, sample_every: int = 1) -> None:
        self.clock = Clock()
        self.orders: dict[ClientOrderId, Order] = {}
        self.booked = 0
        self.market = MarketState()
        self.handlers: Sink = lambda event: None
        self.ingestion = IngestionService([], self._publish)
        btc, eth = make_instrument(), make_instrument(base="ETH")
        self.recorder = MetricsRecorder(
            now_ns=self.clock,
            instruments={btc.id: btc, eth.id: eth},
            orders=self.orders,
            fills_booked=lambda: self.booked,
            market_events=self.market.events,
            handling_since=lambda: self.ingestion.handling_since,
            manual_strategies=("manual",),
            sample_every=sample_every,  # 1: every event timed, so the sums below are exact
        )
        self.ingestion.observe(self.recorder.wrap, every=sample_every)

    def _publish(self, event: object) -> None:
        if isinstance(event, TradeTick):
            self.market.on_trade(event)
        elif isinstance(event, QuoteTick):
            self.market.on_quote(event)
        assert isinstance(event, TradeTick | QuoteTick)
        self.handlers(event)

    def deliver(self, handlers: Sink = lambda event: None) -> Sink:
        """What a feed hands its events to, with ``handlers`` after the market state's."""
        self.handlers = handlers
        return self.ingestion.deliver


def trade(instrument_id: InstrumentId = BTCUSDT, ts_init: int = TS) -> TradeTick:
    return TradeTick.create(
        instrument_id=instrument_id,
        price="100",
        size="1",
        aggressor=AggressorSide.BUYER,
        trade_id="t",
        ts_event=ts_init,
        ts_init=ts_init,
    )


def quote(ts_init: int = TS) -> QuoteTick:
    return QuoteTick.create(
        instrument_id=BTCUSDT,
        bid_price="99",
        bid_size="1",
        ask_price="101",
        ask_size="1",
        ts_event=ts_init,
        ts_init=ts_init,
    )


def test_each_event_is_timed_from_its_frame_and_counted_by_type_and_instrument() -> None:
    recorded = Recorded()
    clock, recorder = recorded.clock, recorded.recorder

    def handlers(event: MarketEvent) -> None:
        clock.now += 7_000  # the handlers take 7 us

    deliver = recorded.deliver(handlers)
    for event in (trade(), trade(), quote(), trade(ETHUSDT), trade(SOL)):
        deliver(event)
    assert recorder.frame_to_handled.count == 0  # appended, not folded yet
    recorder.fold()
    events = recorder.market_events
    assert events[TradeTick] == {BTCUSDT: 2, ETHUSDT: 1, SOL: 1}  # SOL was not seeded
    assert events[QuoteTick] == {BTCUSDT: 1, ETHUSDT: 0}
    histogram = recorder.frame_to_handled
    assert histogram.count == 5
    assert histogram.sum_ns == 7_000 * (1 + 2 + 3 + 4 + 5)  # every event stamped TS, handled later
    recorder.fold()
    assert histogram.count == 5  # a fold moves each duration once


def test_an_order_caused_by_an_event_is_timed_from_its_frame_and_one_from_the_api_is_not() -> None:
    recorded = Recorded()
    clock, recorder = recorded.clock, recorded.recorder
    order = make_order(client_order_id="O-1")

    def strategy(event: MarketEvent) -> None:
        clock.now += 40_000
        recorder.order_sent(order)

    recorded.deliver(strategy)(trade(ts_init=clock.now))
    assert recorder.frame_to_order.count == 1
    assert recorder.frame_to_order.sum_ns == 40_000

    clock.now += 1_000_000
    recorder.order_sent(make_order(client_order_id="API-1", strategy_id=None))  # between two events
    clock.now += 1_000
    recorded.deliver()(trade(ts_init=clock.now))
    assert recorder.frame_to_order.count == 1
    key = (BTCUSDT, "BUY", "")
    assert recorder.orders_submitted[key] == 1
    assert recorder.orders_submitted[(BTCUSDT, "BUY", "test-strategy")] == 1


def test_orders_sent_by_hand_have_the_strategy_label_empty() -> None:
    recorder = Recorded().recorder
    recorder.order_sent(make_order(client_order_id="A", strategy_id=StrategyId("manual")))
    recorder.order_sent(make_order(client_order_id="B", strategy_id=None, side=OrderSide.SELL))
    recorder.order_sent(make_order(client_order_id="C", strategy_id=StrategyId("sma")))
    assert recorder.orders_submitted == {
        (BTCUSDT, "BUY", ""): 1,
        (BTCUSDT, "SELL", ""): 1,
        (BTCUSDT, "BUY", "sma"): 1,
    }


def test_acknowledgement_and_first_fill_latency_once_per_order() -> None:
    recorded = Recorded()
    clock, recorder = recorded.clock, recorded.recorder
    order = make_order_in(OrderStatus.PARTIALLY_FILLED, client_order_id="O-1")
    recorded.orders[order.client_order_id] = order
    recorder.order_sent(order)
    clock.now += 2_000_000
    recorder.on_accepted(
        OrderAccepted(client_order_id=order.client_order_id, venue_order_id=VenueOrderId("V"), ts_event=0)
    )
    recorder.on_accepted(
        OrderAccepted(client_order_id=order.client_order_id, venue_order_id=VenueOrderId("V"), ts_event=0)
    )
    clock.now += 3_000_000
    for trade_id in ("T-1", "T-2"):
        recorded.booked += 1
        recorder.on_filled(OrderFilled(fill=make_fill(client_order_id="O-1", trade_id=trade_id)))
    assert (recorder.order_ack.count, recorder.order_ack.sum_ns) == (1, 2_000_000)
    assert (recorder.order_fill.count, recorder.order_fill.sum_ns) == (1, 5_000_000)
    assert recorder.fills[(BTCUSDT, "BUY")] == 2


def test_a_fill_the_engine_ignored_is_not_counted() -> None:
    recorded = Recorded()
    recorder = recorded.recorder
    fill = make_fill(quantity="2", price="100", fee="0.1")
    recorded.booked += 1
    recorder.on_filled(OrderFilled(fill=fill))
    recorder.on_filled(OrderFilled(fill=fill))  # a duplicate: the broker reports did not book it
    assert recorder.fills == {(BTCUSDT, "BUY"): 1}
    assert recorder.traded_notional == {BTCUSDT: Decimal("200")}
    assert recorder.fees_paid == {BTCUSDT: Decimal("0.1")}


def test_fees_are_counted_in_the_quote_currency() -> None:
    recorded = Recorded()
    recorder = recorded.recorder
    in_base = replace(make_fill(price="30000", fee="0.001", side=OrderSide.SELL), fee_asset="BTC")
    in_token = replace(make_fill(trade_id="T-2", fee="0.5"), fee_asset="BNB")
    for fill in (in_base, in_token):
        recorded.booked += 1
        recorder.on_filled(OrderFilled(fill=fill))
    assert recorder.fees_paid == {BTCUSDT: Decimal("30.000")}
    assert recorder.fees_not_in_quote == 1
    assert recorder.fills == {(BTCUSDT, "SELL"): 1, (BTCUSDT, "BUY"): 1}


def test_an_outcome_is_counted_once_per_order() -> None:
    recorded = Recorded()
    recorder = recorded.recorder
    canceled = make_order_in(OrderStatus.CANCELED, client_order_id="O-1")
    working = make_order_in(OrderStatus.ACCEPTED, client_order_id="O-2")
    recorded.orders.update({canceled.client_order_id: canceled, working.client_order_id: working})
    for coid in ("O-1", "O-1", "O-2", "unknown"):
        recorder.on_closed(OrderCanceled(client_order_id=ClientOrderId(coid), reason="", ts_event=0))
    assert recorder.outcomes == {(BTCUSDT, "canceled"): 1}


def test_refusals_are_counted_by_reason() -> None:
    recorder = Recorded().recorder
    rejections = (
        RiskRejection(reason=RiskReason.MAX_POSITION, message="too big"),
        RiskRejection(reason=RiskReason.PRICE_BAND, message="too far"),
    )
    for _ in range(2):
        recorder.on_refused(IntentRejected(intent=make_intent(), rejections=rejections, ts_event=0))
    assert recorder.risk_refusals == {"MAX_POSITION": 2, "PRICE_BAND": 2}


@given(
    st.lists(
        st.tuples(st.sampled_from([BTCUSDT, ETHUSDT, SOL]), st.booleans(), st.integers(0, 10**9)),
        max_size=60,
    ),
    st.lists(st.integers(0, 60), max_size=5),
)
def test_folds_at_any_moment_count_every_event_once(
    stream: list[tuple[InstrumentId, bool, int]], folds_at: list[int]
) -> None:
    recorded = Recorded()
    clock, recorder = recorded.clock, recorded.recorder
    deliver = recorded.deliver()
    for index, (instrument_id, is_trade, took_ns) in enumerate(stream):
        if index in folds_at:
            recorder.fold()
        clock.now = TS + took_ns
        if is_trade:
            deliver(trade(instrument_id))
        else:
            deliver(quote()._replace(instrument_id=instrument_id))
    recorder.fold()
    expected = Counter((TradeTick if is_trade else QuoteTick, iid) for iid, is_trade, _ in stream)
    counted = Counter(
        {(kind, iid): n for kind, per in recorder.market_events.items() for iid, n in per.items() if n}
    )
    assert counted == expected
    assert recorder.frame_to_handled.count == len(stream)
    assert recorder.frame_to_handled.sum_ns == sum(took for *_, took in stream)


def test_one_event_in_sample_every_is_timed_and_every_event_is_counted() -> None:
    recorded = Recorded(sample_every=4)
    clock, recorder = recorded.clock, recorded.recorder

    def handlers(event: MarketEvent) -> None:
        clock.now += 1_000

    deliver = recorded.deliver(handlers)
    for _ in range(10):
        deliver(trade())
    recorder.fold()
    assert recorder.market_events[TradeTick] == {BTCUSDT: 10, ETHUSDT: 0}
    assert recorder.frame_to_handled.count == 2  # the 4th and the 8th
    assert recorder.frame_to_handled.sum_ns == 4_000 + 8_000


def test_a_sample_rate_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="sample_every"):
        MetricsRecorder(
            now_ns=lambda: 0,
            instruments={},
            orders={},
            fills_booked=lambda: 0,
            market_events={},
            handling_since=lambda: 0,
            sample_every=0,
        )
