"""PaperBroker: taking liquidity, resting orders, time, cancels and venue-style refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.brokers.paper import PaperBroker, PaperBrokerConfig
from adapters.brokers.paper.matching_engine import STOPS_REFUSED
from application.messages import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from application.ports import Broker
from domain.market_data import BookInvalidated
from domain.orders import LiquiditySide, OrderStatus, OrderType, TimeInForce
from domain.values import AggressorSide, OrderSide
from tests.builders import BTCUSDT, ETHUSDT, STEP_NS, TS, make_instrument, make_order, make_registry
from tests.unit.adapters.brokers.paper.paper_venue import PaperVenue

BIDS = [("99.00", "3"), ("98.00", "2"), ("97.00", "5")]
ASKS = [("100.00", "1"), ("101.00", "2"), ("102.00", "3")]
LATER = TS + STEP_NS


def venue_with_book(config: PaperBrokerConfig | None = None) -> PaperVenue:
    venue = PaperVenue(config or PaperBrokerConfig(maker_fee_bps=Decimal(2), taker_fee_bps=Decimal(10)))
    venue.snapshot(BIDS, ASKS, sequence=10)
    return venue


def market(side: OrderSide = OrderSide.BUY, quantity: str = "1", **kw: object):  # type: ignore[no-untyped-def]
    return make_order(order_type=OrderType.MARKET, side=side, quantity=quantity, ts_init=LATER, **kw)  # type: ignore[arg-type]


def limit(price: str, quantity: str = "1", side: OrderSide = OrderSide.BUY, **kw: object):  # type: ignore[no-untyped-def]
    return make_order(price=price, side=side, quantity=quantity, ts_init=LATER, **kw)  # type: ignore[arg-type]


def filled_reports(venue: PaperVenue) -> list[OrderFilled]:
    return [report for report in venue.reports if isinstance(report, OrderFilled)]


# -- market orders ---------------------------------------------------------------------------


def test_market_buy_walks_three_levels_with_one_taker_fill_per_level() -> None:
    venue = venue_with_book()

    order = venue.submit(market(quantity="4"))

    assert venue.kinds() == ["OrderAccepted", "OrderFilled", "OrderFilled", "OrderFilled"]
    assert venue.fills() == [
        (Decimal(1), Decimal("100.00")),
        (Decimal(2), Decimal("101.00")),
        (Decimal(1), Decimal("102.00")),
    ]
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == Decimal(101)
    fills = filled_reports(venue)
    assert [report.fill.fee for report in fills] == [Decimal("0.1"), Decimal("0.202"), Decimal("0.102")]
    assert {report.fill.liquidity for report in fills} == {LiquiditySide.TAKER}
    assert [report.fill.trade_id for report in fills] == ["PAPER-T1", "PAPER-T2", "PAPER-T3"]
    assert {report.fill.ts_event for report in fills} == {LATER}
    accepted = venue.reports[0]
    assert isinstance(accepted, OrderAccepted)
    assert accepted.venue_order_id == "PAPER-1"
    assert order.venue_order_id == "PAPER-1"


def test_market_sell_walks_the_bids_downwards() -> None:
    venue = venue_with_book()

    order = venue.submit(market(OrderSide.SELL, "4"))

    assert venue.fills() == [(Decimal(3), Decimal("99.00")), (Decimal(1), Decimal("98.00"))]
    assert order.status is OrderStatus.FILLED


def test_market_order_larger_than_the_book_fills_what_exists_and_expires_the_rest() -> None:
    venue = venue_with_book()

    order = venue.submit(market(quantity="10"))

    assert venue.kinds()[-1] == "OrderExpired"
    expired = venue.reports[-1]
    assert isinstance(expired, OrderExpired)
    assert expired.reason == "insufficient liquidity"
    assert order.status is OrderStatus.EXPIRED
    assert order.filled_quantity == Decimal(6)


def test_market_order_without_a_book_fills_up_to_the_quote_size_at_the_quote() -> None:
    venue = PaperVenue()
    venue.quote("99.50", "4", "100.50", "2")

    order = venue.submit(market(quantity="3"))

    assert venue.fills() == [(Decimal(2), Decimal("100.50"))]
    assert venue.kinds() == ["OrderAccepted", "OrderFilled", "OrderExpired"]
    assert order.filled_quantity == Decimal(2)
    assert order.status is OrderStatus.EXPIRED


def test_market_order_with_no_market_data_is_rejected_with_the_reason() -> None:
    venue = PaperVenue()

    order = venue.submit(market())

    assert venue.kinds() == ["OrderRejected"]
    rejected = venue.reports[0]
    assert isinstance(rejected, OrderRejected)
    assert "no market data for BTCUSDT.BINANCE" in rejected.reason
    assert order.status is OrderStatus.REJECTED


def test_a_book_gap_falls_back_to_the_last_quote_until_the_next_snapshot() -> None:
    venue = venue_with_book()
    venue.quote("99.00", "3", "100.50", "5")
    venue.delta(asks=[("100.00", "0")], sequence=12, first=12)  # 11 was missed

    first = venue.submit(market(quantity="1", client_order_id="A"))
    venue.snapshot(BIDS, ASKS, sequence=20)
    second = venue.submit(market(quantity="1", client_order_id="B"))

    assert venue.fills(first) == [(Decimal(1), Decimal("100.50"))]
    assert venue.fills(second) == [(Decimal(1), Decimal("100.00"))]


def test_a_book_the_feed_invalidated_is_not_traded_on_nor_its_last_quote_until_fresh_data() -> None:
    venue = venue_with_book()
    venue.quote("99.00", "3", "100.50", "5")
    venue.publish(BookInvalidated(BTCUSDT, "feed gap at 11..12", TS, TS))

    first = venue.submit(market(quantity="1", client_order_id="A"))
    venue.snapshot(BIDS, ASKS, sequence=20)
    second = venue.submit(market(quantity="1", client_order_id="B"))

    assert first.status is OrderStatus.REJECTED  # the quote from before is not the market any more
    rejected = next(r for r in venue.reports if isinstance(r, OrderRejected))
    assert rejected.reason == (
        "no market data for BTCUSDT.BINANCE (book invalidated: feed gap at 11..12; no quote or book since)"
    )
    assert venue.fills(second) == [(Decimal(1), Decimal("100.00"))]


def test_a_quote_after_an_invalidation_is_the_market_again() -> None:
    venue = venue_with_book()
    venue.quote("99.00", "3", "100.50", "5")
    venue.publish(BookInvalidated(BTCUSDT, "feed gap", TS, TS))
    venue.quote("99.10", "3", "100.60", "5", ts=LATER)

    order = venue.submit(market(quantity="1"))

    assert venue.fills(order) == [(Decimal(1), Decimal("100.60"))]


def test_while_the_feed_is_down_no_market_order_fills_and_no_limit_takes_the_stale_touch() -> None:
    venue = venue_with_book(PaperBrokerConfig(last_trade_liquidity=True))
    venue.quote("99.00", "3", "100.50", "5")
    venue.trade("100.00", "1")
    venue.feed_status(False, reason="connection lost: 1006")

    taker = venue.submit(market(quantity="1", client_order_id="M"))
    resting = venue.submit(limit("100.50", "1", client_order_id="L"))

    assert taker.status is OrderStatus.REJECTED
    rejected = next(r for r in venue.reports if isinstance(r, OrderRejected))
    assert "feed binance disconnected: connection lost: 1006" in rejected.reason
    assert resting.status is OrderStatus.ACCEPTED
    assert resting.filled_quantity == 0
    assert venue.fills() == []

    venue.feed_status(True, reason="reconnected", ts=LATER)
    venue.quote("99.00", "3", "100.40", "2", ts=LATER)  # fresh data: the ask now crosses the bid

    assert venue.fills(resting) == [(Decimal(1), Decimal("100.50"))]


def test_a_book_gap_with_no_quote_leaves_no_market_data() -> None:
    venue = venue_with_book()
    venue.delta(asks=[("100.00", "0")], sequence=12, first=12)

    venue.submit(market())

    rejected = venue.reports[-1]
    assert isinstance(rejected, OrderRejected)
    assert "book out of sync" in rejected.reason


def test_market_fok_expires_untouched_when_the_book_is_too_thin() -> None:
    venue = venue_with_book()

    order = venue.submit(market(quantity="7", time_in_force=TimeInForce.FOK))

    assert venue.kinds() == ["OrderAccepted", "OrderExpired"]
    assert order.filled_quantity == 0


# -- limit orders on arrival -------------------------------------------------------------------


def test_marketable_limit_takes_every_level_up_to_its_price() -> None:
    venue = venue_with_book()

    order = venue.submit(limit("101.00", "3"))

    assert venue.fills() == [(Decimal(1), Decimal("100.00")), (Decimal(2), Decimal("101.00"))]
    assert order.status is OrderStatus.FILLED
    assert venue.broker.open_orders() == []


def test_partially_marketable_limit_takes_then_rests_the_remainder() -> None:
    venue = venue_with_book()

    order = venue.submit(limit("100.50", "3"))

    assert venue.fills() == [(Decimal(1), Decimal("100.00"))]
    assert order.status is OrderStatus.PARTIALLY_FILLED
    [working] = venue.broker.open_orders()
    assert working.client_order_id == order.client_order_id
    assert working.leaves_quantity == Decimal(2)
    assert working.queue_ahead == 0  # 100.50 improves the best bid: nobody ahead


def test_non_marketable_limit_rests_behind_the_displayed_size_at_its_price() -> None:
    venue = venue_with_book()

    order = venue.submit(limit("99.00", "2"))

    assert venue.kinds() == ["OrderAccepted"]
    assert order.status is OrderStatus.ACCEPTED
    view = venue.broker.get(order.client_order_id)
    assert view is not None
    assert view.status is OrderStatus.ACCEPTED
    assert view.queue_ahead == Decimal(3)


def test_ioc_fills_what_it_can_and_expires_the_remainder() -> None:
    venue = venue_with_book()

    order = venue.submit(limit("101.00", "5", time_in_force=TimeInForce.IOC))

    assert venue.fills() == [(Decimal(1), Decimal("100.00")), (Decimal(2), Decimal("101.00"))]
    expired = venue.reports[-1]
    assert isinstance(expired, OrderExpired)
    assert expired.reason == "IOC remainder"
    assert order.status is OrderStatus.EXPIRED
    assert venue.broker.open_orders() == []


def test_fok_without_the_full_quantity_at_or_better_than_the_limit_expires_untouched() -> None:
    venue = venue_with_book()

    order = venue.submit(limit("101.00", "4", time_in_force=TimeInForce.FOK))

    assert venue.kinds() == ["OrderAccepted", "OrderExpired"]
    assert order.filled_quantity == 0
    assert order.status is OrderStatus.EXPIRED


def test_fok_with_the_full_quantity_available_fills_completely() -> None:
    venue = venue_with_book()

    order = venue.submit(limit("101.00", "3", time_in_force=TimeInForce.FOK))

    assert venue.fills() == [(Decimal(1), Decimal("100.00")), (Decimal(2), Decimal("101.00"))]
    assert order.status is OrderStatus.FILLED


def test_limit_without_any_market_data_rests_with_an_unknown_queue() -> None:
    venue = PaperVenue()

    order = venue.submit(limit("99.00"))

    assert order.status is OrderStatus.ACCEPTED
    view = venue.broker.get(order.client_order_id)
    assert view is not None
    assert view.queue_ahead is None


# -- resting orders --------------------------------------------------------------------------


def test_a_seller_trade_through_the_price_fills_a_resting_buy_as_maker_at_its_limit() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("99.50", "2"))

    venue.trade("99.00", "0.5", AggressorSide.SELLER, ts=LATER + 1)

    [report] = filled_reports(venue)
    assert (report.fill.quantity, report.fill.price) == (Decimal("0.5"), Decimal("99.50"))
    assert report.fill.liquidity is LiquiditySide.MAKER
    assert report.fill.fee == Decimal("0.00995")  # 49.75 × 2 bps
    assert report.fill.ts_event == LATER + 1
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_a_trade_through_fills_at_most_the_leaves_quantity() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("99.50", "2"))

    venue.trade("99.00", "50", ts=LATER + 1)

    assert venue.fills() == [(Decimal(2), Decimal("99.50"))]
    assert order.status is OrderStatus.FILLED
    assert venue.broker.open_orders() == []


def test_a_buyer_trade_below_a_resting_buy_does_not_fill_it() -> None:
    venue = venue_with_book()
    venue.submit(limit("99.50", "2"))

    venue.trade("99.00", "1", AggressorSide.BUYER, ts=LATER + 1)

    assert venue.fills() == []


def test_a_resting_sell_fills_on_a_buyer_trade_above_its_price() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("100.50", "1", OrderSide.SELL))

    venue.trade("101.00", "0.25", AggressorSide.BUYER, ts=LATER + 1)

    assert venue.fills() == [(Decimal("0.25"), Decimal("100.50"))]
    assert order.filled_quantity == Decimal("0.25")


def test_trades_at_the_price_consume_the_queue_ahead_before_filling() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("99.00", "2"))  # 3 displayed ahead

    venue.trade("99.00", "2", ts=LATER + 1)
    assert venue.fills() == []
    venue.trade("99.00", "2", ts=LATER + 2)  # 1 more ahead, then 1 for us
    assert venue.fills() == [(Decimal(1), Decimal("99.00"))]
    venue.trade("99.00", "5", ts=LATER + 3)

    assert venue.fills() == [(Decimal(1), Decimal("99.00")), (Decimal(1), Decimal("99.00"))]
    assert order.status is OrderStatus.FILLED


def test_a_shrinking_level_lowers_the_queue_ahead() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("99.00", "2"))

    venue.delta(bids=[("99.00", "0.5")], sequence=11, ts=LATER + 1)
    venue.trade("99.00", "1", ts=LATER + 2)

    assert venue.fills() == [(Decimal("0.5"), Decimal("99.00"))]
    view = venue.broker.get(order.client_order_id)
    assert view is not None
    assert view.queue_ahead == 0


def test_the_book_moving_through_a_resting_buy_fills_it_from_new_crossing_liquidity() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("99.50", "2"))

    venue.delta(asks=[("99.40", "0.5")], sequence=11, ts=LATER + 1)
    assert venue.fills() == [(Decimal("0.5"), Decimal("99.50"))]
    venue.delta(bids=[("98.00", "7")], sequence=12, ts=LATER + 2)  # the crossing level unchanged
    assert len(venue.fills()) == 1
    venue.delta(asks=[("99.40", "0.8"), ("99.50", "0.1")], sequence=13, ts=LATER + 3)

    assert venue.fills() == [
        (Decimal("0.5"), Decimal("99.50")),
        (Decimal("0.3"), Decimal("99.50")),
        (Decimal("0.1"), Decimal("99.50")),
    ]
    assert {report.fill.liquidity for report in filled_reports(venue)} == {LiquiditySide.MAKER}
    assert order.filled_quantity == Decimal("0.9")


def test_a_trade_and_its_book_update_never_fill_the_same_liquidity_twice() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("99.50", "2"))
    venue.delta(asks=[("99.40", "0.5")], sequence=11, ts=LATER + 1)  # fills 0.5 (rule c)

    venue.trade("99.40", "0.5", AggressorSide.BUYER, ts=LATER + 2)  # someone lifts that ask
    venue.delta(asks=[("99.40", "0")], sequence=12, ts=LATER + 2)  # and the book says so

    assert venue.fills() == [(Decimal("0.5"), Decimal("99.50"))]
    assert order.filled_quantity == Decimal("0.5")


def test_a_snapshot_through_a_resting_sell_fills_it() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("100.00", "1", OrderSide.SELL))  # joins the 1 at 100

    venue.snapshot([("100.20", "0.4"), ("99.00", "3")], [("101.00", "2")], sequence=30, ts=LATER + 1)

    assert venue.fills() == [(Decimal("0.4"), Decimal("100.00"))]
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_without_a_book_a_quote_through_a_resting_order_fills_it_once() -> None:
    venue = PaperVenue()
    venue.quote("99.00", "1", "100.00", "1")
    order = venue.submit(limit("99.50", "2"))

    venue.quote("99.00", "1", "99.40", "0.5", ts=LATER + 1)
    venue.quote("99.10", "1", "99.40", "0.5", ts=LATER + 2)  # same crossing size: nothing new

    assert venue.fills() == [(Decimal("0.5"), Decimal("99.50"))]
    assert order.filled_quantity == Decimal("0.5")


def test_trades_can_be_switched_off_as_a_fill_source() -> None:
    venue = venue_with_book(PaperBrokerConfig(use_trades_for_fills=False))
    venue.submit(limit("99.50", "2"))

    venue.trade("99.00", "1", ts=LATER + 1)

    assert venue.fills() == []


def test_one_trade_is_shared_among_resting_orders_in_price_time_priority() -> None:
    venue = venue_with_book()
    first = venue.submit(limit("99.50", "1", client_order_id="A"))
    second = venue.submit(limit("99.60", "1", client_order_id="B"))
    third = venue.submit(limit("99.50", "1", client_order_id="C"))

    venue.trade("99.00", "1.5", ts=LATER + 1)

    assert venue.fills(second) == [(Decimal(1), Decimal("99.60"))]
    assert venue.fills(first) == [(Decimal("0.5"), Decimal("99.50"))]
    assert venue.fills(third) == []


# -- time ------------------------------------------------------------------------------------


def test_with_latency_an_order_is_not_active_before_its_arrival_time() -> None:
    venue = venue_with_book(PaperBrokerConfig(latency_ns=5 * STEP_NS))
    order = venue.submit(market(quantity="1"))

    venue.trade("100.00", "1", AggressorSide.BUYER, ts=LATER + 4 * STEP_NS)

    assert venue.reports == []
    assert venue.broker.pending_arrivals() == 1
    view = venue.broker.get(order.client_order_id)
    assert view is not None
    assert view.status is OrderStatus.SUBMITTED


def test_with_latency_an_order_arrives_against_the_market_just_before_the_event_past_its_arrival() -> None:
    venue = venue_with_book(PaperBrokerConfig(latency_ns=5 * STEP_NS))
    order = venue.submit(market(quantity="1"))

    venue.delta(asks=[("100.00", "0"), ("100.50", "4")], sequence=11, ts=LATER + 6 * STEP_NS)

    assert venue.fills() == [(Decimal(1), Decimal("100.00"))]
    accepted = venue.reports[0]
    assert isinstance(accepted, OrderAccepted)
    assert accepted.ts_event == LATER + 5 * STEP_NS
    assert filled_reports(venue)[0].fill.ts_event == LATER + 5 * STEP_NS
    assert order.status is OrderStatus.FILLED


def test_advance_to_delivers_what_is_due() -> None:
    venue = venue_with_book(PaperBrokerConfig(latency_ns=STEP_NS))
    order = venue.submit(limit("99.00"))

    venue.broker.advance_to(LATER + STEP_NS - 1)
    assert venue.reports == []
    venue.broker.advance_to(LATER + STEP_NS)
    venue.check()

    assert venue.kinds() == ["OrderAccepted"]
    assert order.status is OrderStatus.ACCEPTED


def _sent_and_still_travelling(venue: PaperVenue) -> None:
    """A resting limit, a taker market order and a cancel of the limit, none arrived yet."""
    resting = venue.submit(limit("99.00", client_order_id="L"))
    venue.submit(market(quantity="1", client_order_id="M"), ts=LATER + STEP_NS)
    venue.cancel(resting, LATER + 2 * STEP_NS)


def test_advance_to_end_delivers_everything_in_flight_each_at_its_own_arrival_time() -> None:
    venue = venue_with_book(PaperBrokerConfig(latency_ns=5 * STEP_NS))
    _sent_and_still_travelling(venue)
    assert venue.broker.pending_arrivals() == 3

    venue.broker.advance_to_end()
    venue.check()

    assert venue.broker.pending_arrivals() == 0
    assert venue.kinds() == ["OrderAccepted", "OrderAccepted", "OrderFilled", "OrderCanceled"]
    accepted_l, accepted_m, filled, canceled = venue.reports
    assert isinstance(accepted_l, OrderAccepted)
    assert accepted_l.ts_event == LATER + 5 * STEP_NS
    assert isinstance(accepted_m, OrderAccepted)
    assert accepted_m.ts_event == LATER + 6 * STEP_NS
    assert isinstance(filled, OrderFilled)
    assert filled.fill.ts_event == LATER + 6 * STEP_NS
    assert isinstance(canceled, OrderCanceled)
    assert canceled.ts_event == LATER + 7 * STEP_NS
    assert venue.orders["L"].status is OrderStatus.CANCELED
    assert venue.orders["M"].status is OrderStatus.FILLED


def test_advance_to_end_is_advance_to_a_time_past_every_arrival() -> None:
    to_end = venue_with_book(PaperBrokerConfig(latency_ns=5 * STEP_NS))
    to_far_future = venue_with_book(PaperBrokerConfig(latency_ns=5 * STEP_NS))
    _sent_and_still_travelling(to_end)
    _sent_and_still_travelling(to_far_future)

    to_end.broker.advance_to_end()
    to_far_future.broker.advance_to(2**63 - 1)

    assert to_end.reports == to_far_future.reports
    assert to_end.broker.open_orders() == to_far_future.broker.open_orders() == []


def test_advance_to_end_with_nothing_in_flight_reports_nothing() -> None:
    venue = venue_with_book(PaperBrokerConfig(latency_ns=STEP_NS))

    venue.broker.advance_to_end()

    assert venue.reports == []


# -- cancels ---------------------------------------------------------------------------------


def test_cancel_of_a_resting_order_cancels_it() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("99.00"))

    venue.cancel(order, LATER + 1)

    assert venue.kinds() == ["OrderAccepted", "OrderCanceled"]
    assert order.status is OrderStatus.CANCELED
    assert venue.broker.open_orders() == []
    venue.trade("98.00", "5", ts=LATER + 2)
    assert venue.fills() == []


def test_cancel_after_a_partial_fill_cancels_the_remainder() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("99.50", "2"))
    venue.trade("99.00", "0.5", ts=LATER + 1)

    venue.cancel(order, LATER + 2)

    assert order.status is OrderStatus.CANCELED
    assert order.filled_quantity == Decimal("0.5")


def test_cancel_of_a_filled_order_is_rejected_and_changes_nothing() -> None:
    venue = venue_with_book()
    order = venue.submit(limit("101.00"))

    venue.broker.cancel(order)
    venue.check()

    rejected = venue.reports[-1]
    assert isinstance(rejected, CancelRejected)
    assert rejected.reason == f"order {order.client_order_id} is already FILLED"
    assert order.status is OrderStatus.FILLED


def test_a_cancel_in_flight_loses_the_race_to_a_fill() -> None:
    venue = venue_with_book(PaperBrokerConfig(latency_ns=STEP_NS))
    order = venue.submit(limit("99.50", "1"))
    venue.broker.advance_to(LATER + STEP_NS)
    venue.cancel(order, LATER + 2 * STEP_NS)

    venue.trade("99.00", "1", ts=LATER + 2 * STEP_NS + 1)  # fills before the cancel arrives
    venue.broker.advance_to(LATER + 3 * STEP_NS)
    venue.check()

    assert venue.kinds() == ["OrderAccepted", "OrderFilled", "CancelRejected"]
    assert order.status is OrderStatus.FILLED


def test_cancel_of_an_unknown_order_is_rejected() -> None:
    venue = venue_with_book()
    order = make_order(client_order_id="NEVER-SENT", ts_init=LATER)
    venue.orders[order.client_order_id] = order
    order.submit(LATER)

    venue.cancel(order, LATER + 1)

    rejected = venue.reports[-1]
    assert isinstance(rejected, CancelRejected)
    assert rejected.reason == "unknown order NEVER-SENT"
    assert order.status is OrderStatus.SUBMITTED  # back where it was


def test_a_handler_that_cancels_on_a_fill_sees_a_consistent_venue() -> None:
    venue = venue_with_book()
    order = limit("99.50", "2")

    def cancel_after_first_fill(report: OrderFilled) -> None:
        if order.status is OrderStatus.PARTIALLY_FILLED:
            venue.cancel(order, report.fill.ts_event)

    venue.bus.subscribe(OrderFilled, cancel_after_first_fill)
    venue.submit(order)
    venue.trade("99.00", "0.5", ts=LATER + 1)

    assert venue.kinds() == ["OrderAccepted", "OrderFilled", "OrderCanceled"]
    assert order.status is OrderStatus.CANCELED


# -- fees and slippage -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "expected"),
    [
        (OrderSide.BUY, Decimal("100.11")),  # 100.03 × 1.0007 = 100.100021, rounded up
        (OrderSide.SELL, Decimal("99.95")),  # 100.03 × 0.9993 = 99.959979, rounded down
    ],
)
def test_slippage_worsens_taker_fills_rounded_to_the_tick_against_the_trader(
    side: OrderSide, expected: Decimal
) -> None:
    venue = PaperVenue(PaperBrokerConfig(slippage_bps=Decimal(7)))
    if side is OrderSide.BUY:
        venue.snapshot([("100.02", "5")], [("100.03", "5")])
    else:
        venue.snapshot([("100.03", "5")], [("100.04", "5")])

    venue.submit(market(side, "1"))

    assert venue.fills() == [(Decimal(1), expected)]


def test_slippage_never_takes_a_limit_order_past_its_limit() -> None:
    venue = venue_with_book(PaperBrokerConfig(slippage_bps=Decimal(50)))

    venue.submit(limit("100.20", "1"))

    assert venue.fills() == [(Decimal(1), Decimal("100.20"))]


def test_a_negative_maker_fee_is_a_rebate() -> None:
    venue = venue_with_book(PaperBrokerConfig(maker_fee_bps=Decimal(-1), taker_fee_bps=Decimal(5)))
    venue.submit(limit("99.00", "2"))

    venue.trade("98.00", "2", ts=LATER + 1)

    [report] = filled_reports(venue)
    assert report.fill.fee == Decimal("-0.0198")  # 198 × -1 bps
    assert report.fill.liquidity is LiquiditySide.MAKER


@pytest.mark.parametrize(("quantity", "fee"), [("0.0025", "0.0002"), ("0.0015", "0.0002")])
def test_fees_are_exact_then_rounded_half_even_to_the_configured_places(quantity: str, fee: str) -> None:
    venue = venue_with_book(PaperBrokerConfig(taker_fee_bps=Decimal(10), fee_decimals=4))

    venue.submit(market(quantity=quantity))  # notional 0.25 -> 0.00025; 0.15 -> 0.00015

    [report] = filled_reports(venue)
    assert report.fill.fee == Decimal(fee)
    assert report.fill.fee.as_tuple().exponent == -4


# -- venue-style refusals --------------------------------------------------------------------


def test_a_duplicate_client_order_id_still_open_is_rejected() -> None:
    venue = venue_with_book()
    venue.submit(limit("99.00", client_order_id="DUP"))

    venue.broker.submit(limit("98.00", client_order_id="DUP"))

    rejected = venue.reports[-1]
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason.startswith("duplicate client order id DUP")
    [working] = venue.broker.open_orders()
    assert working.price == Decimal("99.00")


def test_a_client_order_id_may_be_reused_once_its_order_is_closed() -> None:
    venue = venue_with_book()
    venue.submit(limit("101.00", client_order_id="AGAIN"))

    second = venue.submit(limit("99.00", client_order_id="AGAIN"))

    assert second.status is OrderStatus.ACCEPTED


@pytest.mark.parametrize("order_type", [OrderType.STOP_MARKET, OrderType.STOP_LIMIT])
def test_stop_orders_are_rejected_because_the_engine_emulates_them(order_type: OrderType) -> None:
    venue = venue_with_book()

    order = venue.submit(make_order(order_type=order_type, ts_init=LATER))

    rejected = venue.reports[-1]
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason == STOPS_REFUSED
    assert order.status is OrderStatus.REJECTED


@pytest.mark.parametrize(
    ("order_kw", "problem"),
    [
        ({"price": "99.005"}, "price tick 0.01"),
        ({"quantity": "0.000001"}, "lot size 0.00001"),
        ({"instrument_id": ETHUSDT}, "unknown instrument ETHUSDT.BINANCE"),
    ],
)
def test_orders_breaking_venue_rules_are_rejected_naming_the_problem(
    order_kw: dict[str, object], problem: str
) -> None:
    venue = venue_with_book()

    venue.submit(make_order(ts_init=LATER, **order_kw))  # type: ignore[arg-type]

    rejected = venue.reports[-1]
    assert isinstance(rejected, OrderRejected)
    assert problem in rejected.reason


def test_it_is_the_broker_port_named_paper() -> None:
    broker: Broker = PaperBroker(publish=print, instruments=make_registry(), config=PaperBrokerConfig())

    assert broker.name == "paper"


def test_a_non_order_is_a_programming_error() -> None:
    broker = PaperBroker(publish=print, instruments=make_registry(), config=PaperBrokerConfig())

    with pytest.raises(TypeError, match="submit takes an Order"):
        broker.submit("O-1")  # type: ignore[arg-type]


# -- determinism -----------------------------------------------------------------------------


def _scripted_session(config: PaperBrokerConfig) -> list[object]:
    venue = PaperVenue(config, make_instrument())
    venue.snapshot(BIDS, ASKS, sequence=10)
    venue.submit(market(quantity="2", client_order_id="M"))
    resting = venue.submit(limit("99.00", "3", client_order_id="L"))
    venue.submit(limit("101.00", "4", client_order_id="I", time_in_force=TimeInForce.IOC))
    venue.trade("99.00", "4", ts=LATER + 10 * STEP_NS)
    venue.delta(asks=[("98.90", "0.7")], bids=[("98.80", "1")], sequence=11, ts=LATER + 11 * STEP_NS)
    venue.cancel(resting, LATER + 12 * STEP_NS)
    venue.trade("98.00", "4", ts=LATER + 20 * STEP_NS)
    venue.broker.advance_to(LATER + 30 * STEP_NS)
    venue.check()
    return list(venue.reports)


@pytest.mark.parametrize("latency_ns", [0, 3 * STEP_NS])
def test_the_same_event_sequence_gives_identical_reports(latency_ns: int) -> None:
    config = PaperBrokerConfig(latency_ns=latency_ns, slippage_bps=Decimal(3), maker_fee_bps=Decimal(-1))

    first = _scripted_session(config)
    second = _scripted_session(config)

    assert first == second
    assert len(first) > 6


# -- ids ------------------------------------------------------------------------------------


def test_ids_carry_the_prefix_a_process_was_given() -> None:
    venue = PaperVenue(PaperBrokerConfig(), id_prefix="PAPER-abc")
    venue.snapshot(BIDS, ASKS, sequence=10)
    venue.submit(market(quantity="1"))
    accepted, filled = venue.reports
    assert isinstance(accepted, OrderAccepted)
    assert isinstance(filled, OrderFilled)
    assert accepted.venue_order_id == "PAPER-abc-1"
    assert filled.fill.trade_id == "PAPER-abc-T1"
