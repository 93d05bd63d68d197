"""BinanceBroker against the simulated venue over loopback: every order type and every path.

The venue (``TradingVenue``) speaks Binance's REST and WebSocket API on 127.0.0.1 and matches
against a random-walk market whose book stays put unless a test prints a trade (``Tape``), so
each fill is the test's doing. The broker publishes into a list; each test asserts on what it
published and on what the venue holds. Every test is bounded by ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from adapters.brokers.binance.broker import BinanceBroker
from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.instruments import BinanceInstrumentProvider
from adapters.brokers.binance.signing import HmacSigner
from adapters.exchanges.simulator.market import TRADE, BookView, MarketFrame, RandomWalkMarket
from adapters.exchanges.simulator.trading import TradingVenue
from adapters.system_clock import LiveClock
from application.messages import (
    BalancesReported,
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.identifiers import ClientOrderId, InstrumentId
from domain.orders import Fill, LiquiditySide, Order, OrderStatus, OrderType, TimeInForce
from domain.values import OrderSide

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
BTCUSDT = InstrumentId("BTCUSDT.BINANCE")
TEST_TIMEOUT = 15.0
_coids = itertools.count(1)


class Tape:
    """A ``MarketSource``: a random walk's book, held still, and the trades a test prints."""

    def __init__(self, seed: int = 3) -> None:
        self.walk = RandomWalkMarket(["BTCUSDT"], seed=seed)
        self.symbols = self.walk.symbols
        self._queued: list[MarketFrame] = []
        self._trade_ids = itertools.count(9_000_000)

    @property
    def finished(self) -> bool:
        return False

    def step(self, now_ms: int) -> list[MarketFrame]:
        frames, self._queued = self._queued, []
        return frames

    def snapshot(self, symbol: str, limit: int) -> dict[str, Any]:
        return self.walk.snapshot(symbol, limit)

    def skip_next_depth(self, symbol: str | None = None) -> None:
        self.walk.skip_next_depth(symbol)

    def book(self, symbol: str) -> BookView:
        return self.walk.book(symbol)

    def print_trade(self, price: Decimal, quantity: str) -> None:
        now = time.time_ns() // 1_000_000
        payload = {"e": "trade", "E": now, "s": "BTCUSDT", "t": next(self._trade_ids), "p": f"{price:.8f}",
                   "q": quantity, "T": now, "m": True, "M": True}  # fmt: skip
        self._queued.append(MarketFrame("BTCUSDT", TRADE, payload))


@dataclass
class Harness:
    venue: TradingVenue
    tape: Tape
    broker: BinanceBroker
    published: list[object] = field(default_factory=list)

    @property
    def best_bid(self) -> Decimal:
        return self.tape.book("BTCUSDT").bids[0][0]

    @property
    def best_ask(self) -> Decimal:
        return self.tape.book("BTCUSDT").asks[0][0]

    def trade_at(self, price: Decimal, quantity: str) -> None:
        """A public trade: the venue sees it (resting orders fill, stops trigger)."""
        self.tape.print_trade(price, quantity)
        self.venue.market.step(time.time_ns() // 1_000_000)

    def of(self, kind: type) -> list[Any]:
        return [report for report in self.published if isinstance(report, kind)]

    def about(self, coid: str) -> list[object]:
        return [r for r in self.published if getattr(r, "client_order_id", None) == coid]

    def lifecycle(self, order: Order) -> OrderStatus:
        """Apply what was published about ``order`` to it, as the engine would: every report
        must be a legal move of the order's state machine; returns where the order ends."""
        for report in self.about(order.client_order_id):
            if isinstance(report, OrderAccepted):
                order.accept(report.venue_order_id, report.ts_event)
            elif isinstance(report, OrderFilled):
                order.fill(report.fill)
            elif isinstance(report, OrderCanceled):
                order.cancel(report.ts_event, report.reason)
            elif isinstance(report, OrderExpired):
                order.expire(report.ts_event, report.reason)
            elif isinstance(report, OrderRejected):
                order.reject(report.reason, report.ts_event)
        return order.status

    def fills(self, coid: str) -> list[Fill]:
        return [r.fill for r in self.of(OrderFilled) if r.fill.client_order_id == coid]

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout}s; published: {self.published}")
            await asyncio.sleep(0.01)

    def submit(
        self,
        order_type: OrderType,
        quantity: str,
        *,
        side: OrderSide = OrderSide.BUY,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
    ) -> Order:
        order = Order(
            client_order_id=f"T-{next(_coids)}",
            instrument_id=BTCUSDT,
            side=side,
            order_type=order_type,
            quantity=quantity,
            price=price,
            stop_price=stop_price,
            time_in_force=tif,
            post_only=post_only,
            ts_init=time.time_ns(),
        )
        order.submit(time.time_ns())
        self.broker.submit(order)
        return order


@asynccontextmanager
async def running(**settings: Any) -> AsyncIterator[Harness]:
    tape = Tape()
    venue = TradingVenue(
        tape,
        api_key=API_KEY,
        api_secret=SECRET,
        balances={"USDT": Decimal("100000"), "BTC": Decimal("2")},
        ping_interval=None,
    )
    await venue.start("127.0.0.1", 0)
    options: dict[str, Any] = {
        "rest_url": venue.rest_url,
        "ws_api_url": venue.ws_api_url,
        "request_timeout_s": 2.0,
        "unknown_outcome_retry_s": 0.05,
        "unknown_outcome_max_delay_s": 0.2,
        "reconnect_initial_delay": 0.05,
        "reconnect_max_delay": 0.2,
        "disconnect_timeout_s": 2.0,
        "use_system_proxy": False,
    } | settings
    config = BinanceBrokerConfig(**options)
    instruments = await asyncio.to_thread(BinanceInstrumentProvider(config, None).instruments, [BTCUSDT])
    harness = Harness(venue, tape, None)  # type: ignore[arg-type]  # the broker follows
    harness.broker = BinanceBroker(
        config,
        ApiCredentials(API_KEY, HmacSigner(SECRET)),
        publish=harness.published.append,
        instruments={i.id: i for i in instruments},
        clock=LiveClock(),
    )
    try:
        await asyncio.to_thread(harness.broker.start_session)
        await harness.broker.connect()
        yield harness
    finally:
        await harness.broker.disconnect()
        harness.broker.close()
        await venue.stop()


def run(scenario: Callable[[Harness], Coroutine[Any, Any, None]], **settings: Any) -> None:
    async def main() -> None:
        async with running(**settings) as harness:
            await scenario(harness)

    asyncio.run(asyncio.wait_for(main(), TEST_TIMEOUT))


def _kinds(reports: list[object]) -> list[str]:
    return [type(report).__name__ for report in reports]


# -- every order type -------------------------------------------------------------------------


def test_a_market_order_fills_at_once_each_fill_booked_once() -> None:
    async def scenario(h: Harness) -> None:
        order = h.submit(OrderType.MARKET, "0.5")
        await h.until(lambda: sum(f.quantity for f in h.fills(order.client_order_id)) == Decimal("0.5"))
        await asyncio.sleep(0.2)  # the stream's copies of the same fills arrive too

        fills = h.fills(order.client_order_id)
        venue_trades = [t for t in h.venue.trades() if str(t["orderId"]) == fills[0].venue_order_id]
        assert sorted(f.trade_id for f in fills) == sorted(str(t["id"]) for t in venue_trades)
        assert sum(f.quantity for f in fills) == Decimal("0.5")
        assert all(f.liquidity is LiquiditySide.TAKER for f in fills)
        assert all(f.fee_asset == "BTC" and f.fee > 0 for f in fills)  # paid in the asset received
        assert _kinds(h.about(order.client_order_id))[0] == "OrderAccepted"
        assert len(h.of(OrderAccepted)) == 1
        assert h.of(BalancesReported)
        assert h.lifecycle(order) is OrderStatus.FILLED

    run(scenario)


def test_the_account_updates_agree_with_the_fills_booked_before_them() -> None:
    """Cash never steps back: each balance reported matches the fills published before it."""

    async def scenario(h: Harness) -> None:
        resting = h.best_bid - Decimal("1")
        orders = [
            h.submit(OrderType.MARKET, "0.1"),
            h.submit(OrderType.MARKET, "0.2", side=OrderSide.SELL),
            h.submit(OrderType.LIMIT, "0.3", price=resting),
        ]
        await h.until(lambda: len(h.fills(orders[0].client_order_id)) > 0 and len(h.of(OrderAccepted)) == 3)
        h.trade_at(resting, "0.3")
        await h.until(lambda: sum(f.quantity for f in h.fills(orders[2].client_order_id)) == Decimal("0.3"))
        await asyncio.sleep(0.3)

        ledger = {"USDT": Decimal("100000"), "BTC": Decimal("2")}
        for report in h.published:
            if isinstance(report, OrderFilled):
                fill = report.fill
                sign = 1 if fill.side is OrderSide.BUY else -1
                ledger["BTC"] += sign * fill.quantity
                ledger["USDT"] -= sign * fill.quantity * fill.price
                ledger[fill.fee_asset] -= fill.fee
            elif isinstance(report, BalancesReported):
                for asset, total in report.balances.items():
                    assert total == ledger[asset], (asset, total, ledger[asset], h.published)
        venue = h.venue.balances()
        assert {asset: free + locked for asset, (free, locked) in venue.items() if asset in ledger} == ledger

    run(scenario)


def test_a_resting_limit_fills_in_parts_as_maker() -> None:
    async def scenario(h: Harness) -> None:
        price = h.best_bid - Decimal("1.00")
        order = h.submit(OrderType.LIMIT, "0.3", price=price)
        await h.until(lambda: bool(h.of(OrderAccepted)))

        h.trade_at(price, "0.1")
        await h.until(lambda: len(h.fills(order.client_order_id)) == 1)
        h.trade_at(price - Decimal("0.5"), "5")
        await h.until(lambda: len(h.fills(order.client_order_id)) == 2)
        await asyncio.sleep(0.1)

        fills = h.fills(order.client_order_id)
        assert [f.quantity for f in fills] == [Decimal("0.1"), Decimal("0.2")]
        assert all(f.price == price and f.liquidity is LiquiditySide.MAKER for f in fills)
        assert _kinds(h.about(order.client_order_id)) == ["OrderAccepted", "OrderFilled", "OrderFilled"]
        assert h.lifecycle(order) is OrderStatus.FILLED

    run(scenario)


@pytest.mark.parametrize(
    ("tif", "expected"), [(TimeInForce.IOC, "OrderExpired"), (TimeInForce.FOK, "OrderExpired")]
)
def test_ioc_and_fok_that_cannot_fill_expire(tif: TimeInForce, expected: str) -> None:
    async def scenario(h: Harness) -> None:
        order = h.submit(OrderType.LIMIT, "0.2", price=h.best_bid - Decimal("5"), tif=tif)
        await h.until(lambda: bool(h.of(OrderExpired)))
        await asyncio.sleep(0.1)

        assert _kinds(h.about(order.client_order_id))[-1] == expected
        assert len(h.of(OrderExpired)) == 1
        assert h.lifecycle(order) is OrderStatus.EXPIRED

    run(scenario)


def test_a_stop_loss_triggers_and_fills() -> None:
    async def scenario(h: Harness) -> None:
        stop = h.best_bid - Decimal("10")
        order = h.submit(OrderType.STOP_MARKET, "0.1", side=OrderSide.SELL, stop_price=stop)
        await h.until(lambda: bool(h.of(OrderAccepted)))
        assert h.venue.orders()[-1]["type"] == "STOP_LOSS"

        h.trade_at(stop, "1")
        await h.until(lambda: sum(f.quantity for f in h.fills(order.client_order_id)) == Decimal("0.1"))
        assert all(f.side is OrderSide.SELL for f in h.fills(order.client_order_id))
        assert h.lifecycle(order) is OrderStatus.FILLED

    run(scenario)


def test_a_stop_limit_rests_after_its_trigger() -> None:
    async def scenario(h: Harness) -> None:
        stop = h.best_bid - Decimal("10")
        limit = stop - Decimal("50")
        order = h.submit(OrderType.STOP_LIMIT, "0.1", side=OrderSide.SELL, stop_price=stop, price=limit)
        await h.until(lambda: bool(h.of(OrderAccepted)))

        h.trade_at(stop, "1")
        await h.until(lambda: bool(h.fills(order.client_order_id)))

        placed = next(o for o in h.venue.orders() if o["clientOrderId"] == order.client_order_id)
        assert (placed["type"], Decimal(placed["stopPrice"]), Decimal(placed["price"])) == (
            "STOP_LOSS_LIMIT",
            stop,
            limit,
        )

    run(scenario)


def test_a_cancel_is_confirmed_once_and_a_second_one_refused() -> None:
    async def scenario(h: Harness) -> None:
        order = h.submit(OrderType.LIMIT, "0.1", price=h.best_bid - Decimal("3"))
        await h.until(lambda: bool(h.of(OrderAccepted)))
        order.accept(h.of(OrderAccepted)[0].venue_order_id, time.time_ns())

        order.request_cancel(time.time_ns())
        h.broker.cancel(order)
        await h.until(lambda: bool(h.of(OrderCanceled)))
        await asyncio.sleep(0.1)

        assert len(h.of(OrderCanceled)) == 1
        assert h.venue.orders()[-1]["status"] == "CANCELED"

    run(scenario)


def test_a_cancel_refused_because_the_order_filled_is_settled_by_its_status() -> None:
    async def scenario(h: Harness) -> None:
        price = h.best_bid - Decimal("1")
        order = h.submit(OrderType.LIMIT, "0.1", price=price)
        await h.until(lambda: bool(h.of(OrderAccepted)))
        h.venue.faults.delay_reports(2.0)
        h.trade_at(price, "1")  # filled at the venue; the broker has not heard yet

        h.broker.cancel(order)
        await h.until(lambda: bool(h.fills(order.client_order_id)))

        assert h.of(CancelRejected)[0].reason.startswith("venue refused (-2011)")
        kinds = _kinds(h.about(order.client_order_id))
        assert kinds == ["OrderAccepted", "CancelRejected", "OrderFilled"]
        await asyncio.sleep(2.2)  # the late reports change nothing
        assert _kinds(h.about(order.client_order_id)) == kinds

    run(scenario)


# -- refusals -----------------------------------------------------------------------------------


def test_a_post_only_order_that_would_take_is_rejected_with_the_venue_reason() -> None:
    async def scenario(h: Harness) -> None:
        h.submit(OrderType.LIMIT, "0.1", price=h.best_ask + Decimal("1"), post_only=True)
        await h.until(lambda: bool(h.of(OrderRejected)))
        await asyncio.sleep(0.1)

        rejected = h.of(OrderRejected)
        assert len(rejected) == 1
        assert rejected[0].reason == "venue refused (-2010): Order would immediately match and take."
        assert h.venue.orders() == []  # sent as LIMIT_MAKER: refused, not taken

    run(scenario)


def test_insufficient_balance_is_rejected_with_the_venue_reason() -> None:
    async def scenario(h: Harness) -> None:
        h.submit(OrderType.LIMIT, "50", side=OrderSide.SELL, price=h.best_ask + Decimal("100"))
        await h.until(lambda: bool(h.of(OrderRejected)))
        await asyncio.sleep(0.1)

        rejected = h.of(OrderRejected)
        assert len(rejected) == 1
        assert rejected[0].reason.startswith("venue refused (-2010)")
        assert "insufficient balance" in rejected[0].reason.lower()

    run(scenario)


def test_a_filter_failure_is_caught_before_sending() -> None:
    async def scenario(h: Harness) -> None:
        h.submit(OrderType.LIMIT, "0.1", price=h.best_bid - Decimal("0.001"))
        await h.until(lambda: bool(h.of(OrderRejected)))

        assert h.of(OrderRejected)[0].reason.startswith("PRICE_FILTER: price")
        assert h.venue.orders() == []

    run(scenario)


# -- unknown outcomes ---------------------------------------------------------------------------


def test_a_lost_answer_is_settled_by_asking_the_venue() -> None:
    async def scenario(h: Harness) -> None:
        h.venue.faults.lose_next_order_response()
        order = h.submit(OrderType.LIMIT, "0.1", price=h.best_bid - Decimal("2"))
        await h.until(lambda: h.broker.health().unknown_outcomes == 1 or bool(h.of(OrderAccepted)))

        await h.until(lambda: bool(h.of(OrderAccepted)))
        await h.until(lambda: not h.broker.busy(order.client_order_id))

        assert not h.of(OrderRejected)
        assert h.broker.unknown_outcomes_total == 1
        assert h.broker.health().unknown_outcomes == 0
        assert h.lifecycle(order) is OrderStatus.ACCEPTED

    run(scenario)


def test_a_5xx_after_placing_is_not_a_failure() -> None:
    async def scenario(h: Harness) -> None:
        h.venue.faults.fail_next_order_after_placing(status=503)
        order = h.submit(OrderType.MARKET, "0.2")
        await h.until(lambda: sum(f.quantity for f in h.fills(order.client_order_id)) == Decimal("0.2"))
        await h.until(lambda: not h.broker.busy(order.client_order_id))

        assert not h.of(OrderRejected)
        assert h.broker.unknown_outcomes_total == 1
        fills = h.fills(order.client_order_id)
        assert len({f.trade_id for f in fills}) == len(fills)
        assert h.lifecycle(order) is OrderStatus.FILLED

    run(scenario)


# -- the stream ---------------------------------------------------------------------------------


def test_a_duplicated_report_is_booked_once() -> None:
    async def scenario(h: Harness) -> None:
        price = h.best_bid - Decimal("1")
        order = h.submit(OrderType.LIMIT, "0.2", price=price)
        await h.until(lambda: bool(h.of(OrderAccepted)))
        h.venue.faults.duplicate_next_reports(5)

        h.trade_at(price, "0.2")
        await h.until(lambda: bool(h.fills(order.client_order_id)))
        await asyncio.sleep(0.2)

        assert len(h.fills(order.client_order_id)) == 1
        assert h.broker._tracker.stats.duplicate_events >= 1
        assert h.lifecycle(order) is OrderStatus.FILLED

    run(scenario)


def test_delayed_reports_are_booked_once_when_they_come() -> None:
    async def scenario(h: Harness) -> None:
        price = h.best_bid - Decimal("1")
        order = h.submit(OrderType.LIMIT, "0.2", price=price)
        await h.until(lambda: bool(h.of(OrderAccepted)))
        h.venue.faults.delay_reports(1.5)

        h.trade_at(price, "0.05")
        await asyncio.sleep(0.1)
        assert not h.fills(order.client_order_id)
        await h.until(lambda: bool(h.fills(order.client_order_id)))
        await asyncio.sleep(0.1)

        assert [f.quantity for f in h.fills(order.client_order_id)] == [Decimal("0.05")]
        assert len(h.of(OrderAccepted)) == 1
        assert h.lifecycle(order) is OrderStatus.PARTIALLY_FILLED

    run(scenario)


def test_a_dropped_stream_reconnects_and_recovers_the_missed_fill() -> None:
    async def scenario(h: Harness) -> None:
        price = h.best_bid - Decimal("1")
        order = h.submit(OrderType.LIMIT, "0.3", price=price)
        await h.until(lambda: bool(h.of(OrderAccepted)))
        h.trade_at(price, "0.1")
        await h.until(lambda: len(h.fills(order.client_order_id)) == 1)

        h.venue.faults.drop_user_streams()
        h.trade_at(price, "0.1")  # nobody listens
        await h.until(lambda: len(h.fills(order.client_order_id)) == 2)
        await h.until(lambda: h.broker.health().connected)

        assert h.broker.health().reconnects >= 1
        assert [f.quantity for f in h.fills(order.client_order_id)] == [Decimal("0.1"), Decimal("0.1")]
        h.trade_at(price, "0.1")  # and the new subscription carries the next one
        await h.until(lambda: len(h.fills(order.client_order_id)) == 3)
        await asyncio.sleep(0.1)
        assert h.lifecycle(order) is OrderStatus.FILLED

    run(scenario)


# -- limits and the clock -----------------------------------------------------------------------


def test_a_429_is_obeyed() -> None:
    async def scenario(h: Harness) -> None:
        h.venue.faults.rate_limit_next(1, retry_after=1)
        h.submit(OrderType.LIMIT, "0.1", price=h.best_bid - Decimal("2"))
        await h.until(lambda: len(h.of(OrderRejected)) == 1)
        requests = h.venue.stats.requests
        h.submit(OrderType.LIMIT, "0.1", price=h.best_bid - Decimal("2"))
        await h.until(lambda: len(h.of(OrderRejected)) == 2)

        assert h.venue.stats.requests == requests  # refused here, not sent
        assert "rate limit" in h.of(OrderRejected)[1].reason
        assert h.broker.health().rate_limited == 1
        await asyncio.sleep(1.05)
        h.submit(OrderType.LIMIT, "0.1", price=h.best_bid - Decimal("2"))
        await h.until(lambda: bool(h.of(OrderAccepted)))

    run(scenario)


@pytest.mark.parametrize("skew_ms", [10_000, -3_000])
def test_a_skewed_clock_is_recovered(skew_ms: int) -> None:
    async def scenario(h: Harness) -> None:
        h.venue.faults.skew_clock(skew_ms)
        h.submit(OrderType.LIMIT, "0.1", price=h.best_bid - Decimal("2"))
        await h.until(lambda: bool(h.of(OrderAccepted)))

        assert not h.of(OrderRejected)
        assert abs(h.broker.health().clock_offset_ms - skew_ms) < 500

    run(scenario)


# -- reconciliation -----------------------------------------------------------------------------


def test_reconciliation_queries_before_and_while_connected() -> None:
    async def scenario(h: Harness) -> None:
        price = h.best_bid - Decimal("1")
        external = h.venue.place_external_order("BTCUSDT", "BUY", "LIMIT", "0.2", str(price), "EXT-1")
        h.trade_at(price, "0.05")
        await asyncio.sleep(0.1)

        view = await asyncio.to_thread(h.broker.query_order, ClientOrderId("EXT-1"))
        assert view is not None
        assert view.status is OrderStatus.PARTIALLY_FILLED
        assert view.venue_order_id == str(external["orderId"])
        assert [f.quantity for f in view.fills] == [Decimal("0.05")]
        assert await asyncio.to_thread(h.broker.query_order, ClientOrderId("NOPE-1")) is None

        snapshot = await h.broker.venue_view([ClientOrderId("EXT-1")])
        assert [o.client_order_id for o in snapshot.query_open_orders()] == ["EXT-1"]
        assert snapshot.query_order(ClientOrderId("EXT-1")) == view

    run(scenario)
