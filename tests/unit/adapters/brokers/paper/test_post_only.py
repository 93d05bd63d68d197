"""Post-only orders at the paper venue: refused when they would take liquidity on arrival,
otherwise resting like any limit order, and only ever filled as maker."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.brokers.paper import PaperBrokerConfig, VenueLog
from adapters.brokers.paper.matching_engine import POST_ONLY_WOULD_TAKE
from application.messages import OrderFilled, OrderRejected
from domain.identifiers import InstrumentId
from domain.orders import LiquiditySide, Order, OrderStatus, OrderType, TimeInForce
from domain.values import AggressorSide, OrderSide
from tests.builders import BTCUSDT, STEP_NS, TS
from tests.unit.adapters.brokers.paper.paper_venue import PaperVenue

BIDS = [("99.00", "3"), ("98.00", "2")]
ASKS = [("100.00", "1"), ("101.00", "2")]
LATER = TS + STEP_NS
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def post_only(
    price: str,
    side: OrderSide = BUY,
    quantity: str = "1",
    *,
    n: int = 1,
    time_in_force: TimeInForce = TimeInForce.GTC,
) -> Order:
    return Order(
        client_order_id=f"P-{n}",
        instrument_id=InstrumentId(BTCUSDT),
        side=side,
        order_type=OrderType.LIMIT,
        quantity=quantity,
        price=price,
        time_in_force=time_in_force,
        post_only=True,
        ts_init=LATER,
    )


def venue_with_book(config: PaperBrokerConfig | None = None) -> PaperVenue:
    venue = PaperVenue(config or PaperBrokerConfig(maker_fee_bps=Decimal(2), taker_fee_bps=Decimal(10)))
    venue.snapshot(BIDS, ASKS, sequence=1)
    return venue


def records(path: Path) -> list[dict[str, object]]:
    """Every line of a venue log, the header included."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def rejection(venue: PaperVenue) -> str:
    [report] = [r for r in venue.reports if isinstance(r, OrderRejected)]
    return report.reason


@pytest.mark.parametrize(
    ("side", "price"),
    [(BUY, "100.00"), (BUY, "100.50"), (SELL, "99.00"), (SELL, "98.50")],
    ids=["buy at the ask", "buy through the ask", "sell at the bid", "sell through the bid"],
)
def test_a_post_only_order_that_would_take_from_the_book_is_rejected(side: OrderSide, price: str) -> None:
    venue = venue_with_book()

    order = venue.submit(post_only(price, side))

    assert venue.kinds() == ["OrderRejected"]
    assert rejection(venue) == POST_ONLY_WOULD_TAKE == "post-only order would take liquidity"
    assert order.status is OrderStatus.REJECTED
    assert order.fills == []
    assert venue.broker.open_orders() == []


@pytest.mark.parametrize(
    ("side", "price", "ahead"),
    [(BUY, "99.50", "0"), (BUY, "99.00", "3"), (SELL, "100.50", "0"), (SELL, "101.00", "2")],
    ids=["buy inside the spread", "buy at the bid", "sell inside the spread", "sell behind the ask"],
)
def test_a_post_only_order_that_would_not_take_rests_like_any_limit(
    side: OrderSide, price: str, ahead: str
) -> None:
    venue = venue_with_book()

    order = venue.submit(post_only(price, side))

    assert venue.kinds() == ["OrderAccepted"]
    assert order.status is OrderStatus.ACCEPTED
    view = venue.broker.get(order.client_order_id)
    assert view is not None
    assert view.queue_ahead == Decimal(ahead)


def test_a_resting_post_only_order_is_filled_as_maker_at_its_limit() -> None:
    venue = venue_with_book()
    order = venue.submit(post_only("99.50", quantity="2"))

    venue.trade("99.00", "0.5", AggressorSide.SELLER, ts=LATER + 1)
    venue.delta(asks=[("99.50", "5")], bids=[("99.00", "0")], sequence=2, ts=LATER + 2)

    fills = [r.fill for r in venue.reports if isinstance(r, OrderFilled)]
    assert [(f.quantity, f.price, f.liquidity) for f in fills] == [
        (Decimal("0.5"), Decimal("99.50"), LiquiditySide.MAKER),
        (Decimal("1.5"), Decimal("99.50"), LiquiditySide.MAKER),
    ]
    assert fills[0].fee == Decimal("0.00995")  # the maker fee: 49.75 × 2 bps
    assert order.status is OrderStatus.FILLED


def test_without_a_book_the_quote_decides_whether_it_would_take() -> None:
    venue = PaperVenue()
    venue.quote("99.00", "3", "100.00", "1")

    taking = venue.submit(post_only("100.00", n=1))
    resting = venue.submit(post_only("99.99", n=2))

    assert taking.status is OrderStatus.REJECTED
    assert resting.status is OrderStatus.ACCEPTED


def test_an_empty_touch_has_nothing_to_take() -> None:
    venue = PaperVenue()
    venue.quote("99.00", "3", "100.00", "0")

    assert venue.submit(post_only("100.00")).status is OrderStatus.ACCEPTED


def test_without_any_market_data_a_post_only_order_rests() -> None:
    venue = PaperVenue()

    order = venue.submit(post_only("1000.00"))

    assert order.status is OrderStatus.ACCEPTED


def test_on_trades_only_the_last_trade_price_would_be_taken() -> None:
    venue = PaperVenue(PaperBrokerConfig(last_trade_liquidity=True))
    venue.trade("100.00", "1", ts=TS)

    assert venue.submit(post_only("100.00", n=1)).status is OrderStatus.REJECTED
    assert venue.submit(post_only("99.99", n=2)).status is OrderStatus.ACCEPTED
    assert venue.submit(post_only("100.00", SELL, n=3)).status is OrderStatus.REJECTED
    assert venue.submit(post_only("100.01", SELL, n=4)).status is OrderStatus.ACCEPTED


def test_with_latency_the_market_at_arrival_decides() -> None:
    venue = venue_with_book(PaperBrokerConfig(latency_ns=5 * STEP_NS))
    order = venue.submit(post_only("99.50"))  # inside the spread when sent
    assert venue.kinds() == []

    venue.delta(asks=[("99.50", "1")], sequence=2, ts=LATER + STEP_NS)  # an ask comes down to it
    venue.trade("101.00", "1", AggressorSide.BUYER, ts=LATER + 5 * STEP_NS)  # the order arrives

    assert venue.kinds() == ["OrderRejected"]
    assert order.status is OrderStatus.REJECTED


def test_a_venue_restarted_from_its_log_keeps_a_resting_order_post_only(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    first = PaperVenue(PaperBrokerConfig(), log=VenueLog(path))
    first.snapshot(BIDS, ASKS, sequence=1)
    order = first.submit(post_only("99.50"))
    [accepted] = [record for record in records(path) if record["e"] == "accepted"]
    assert accepted["post_only"] is True

    second = PaperVenue(PaperBrokerConfig(), log=VenueLog(path))
    second.orders[order.client_order_id] = order
    second.snapshot(BIDS, ASKS, sequence=1)
    second.trade("99.00", "1", AggressorSide.SELLER, ts=LATER + 1)

    assert order.status is OrderStatus.FILLED
    assert [f.liquidity for f in order.fills] == [LiquiditySide.MAKER]
    assert second.broker._orders.closed[order.client_order_id].post_only is True


def test_an_arrival_logged_before_orders_could_be_post_only_reads_as_not_post_only(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    first = PaperVenue(PaperBrokerConfig(), log=VenueLog(path))
    first.snapshot(BIDS, ASKS, sequence=1)
    first.submit(post_only("99.50"))
    written = records(path)
    for record in written:
        record.pop("post_only", None)
    path.write_text("".join(json.dumps(record) + "\n" for record in written))

    second = PaperVenue(PaperBrokerConfig(), log=VenueLog(path))

    [working] = second.broker._orders.working.values()
    assert working.post_only is False
