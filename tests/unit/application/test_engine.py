"""Engine: the wiring order on the bus, start/stop with a feed, and the status snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest

from adapters.brokers.paper import PaperBrokerConfig
from adapters.memory import InMemoryMarketDataRepository
from application.engine import EngineStatus, PositionStatus
from application.messages import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PositionChanged,
    StrategyFailed,
)
from domain.market_data import Bar, BookDelta, BookSnapshot, MarketEvent, QuoteTick, TradeTick
from domain.orders import OrderStatus, OrderType
from domain.risk import RiskLimitBreached, RiskLimits, StopRules, TradingState
from domain.signals import Signal
from domain.sizing import FixedQuantity
from domain.values import OrderSide
from tests.builders import STEP_NS, TS, make_intent
from tests.unit.application.harness import BTC, ETH, Harness, ScriptedStrategy

BUY = OrderSide.BUY
SELL = OrderSide.SELL
D = Decimal

Make = Callable[..., Harness]


class FlushCountingStore(InMemoryMarketDataRepository):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


class Tape:
    """Market events one millisecond apart, built before the engine runs (what a feed replays)."""

    def __init__(self) -> None:
        self.ts = TS
        self.events: list[MarketEvent] = []

    def _next(self) -> int:
        self.ts += STEP_NS
        return self.ts

    def trade(self, price: str, instrument_id: str = BTC) -> Tape:
        ts = self._next()
        self.events.append(
            TradeTick.create(
                instrument_id=BTC if instrument_id == BTC else ETH,
                price=price,
                size="1",
                trade_id=f"T{len(self.events)}",
                ts_event=ts,
                ts_init=ts,
            )
        )
        return self

    def quote(self, bid: str, ask: str) -> Tape:
        ts = self._next()
        self.events.append(
            QuoteTick.create(
                instrument_id=BTC,
                bid_price=bid,
                bid_size="10",
                ask_price=ask,
                ask_size="10",
                ts_event=ts,
                ts_init=ts,
            )
        )
        return self


def run(h: Harness, *, during: Callable[[], None] = lambda: None, cancel_open_orders: bool = True) -> None:
    """Start the engine, let the feed replay everything, call ``during``, stop the engine."""

    async def scenario() -> None:
        await h.engine.start()
        assert h.engine.running
        await h.feed.wait_replayed()
        during()
        await h.engine.stop(cancel_open_orders=cancel_open_orders)

    asyncio.run(scenario())


# -- wiring ---------------------------------------------------------------------------------------


def test_the_bus_wiring_order_is_market_state_store_venue_stops_risk_strategies(make: Make) -> None:
    h = make(stop_rules=StopRules(stop_loss_fraction=Decimal("0.05")))
    bus, market, store, broker = h.bus, h.market, h.market_data, h.broker
    reports, strategies = h.reports, h.strategies

    assert bus.handlers(TradeTick) == (
        market.on_trade,
        store.append,
        broker.on_trade,
        h.stops.on_trade,
        h.risk.on_trade,
        strategies.on_trade,
    )
    assert bus.handlers(PositionChanged)[0] == h.stops.on_position_changed
    assert bus.handlers(QuoteTick) == (market.on_quote, store.append, broker.on_quote, strategies.on_quote)
    assert bus.handlers(BookSnapshot) == (market.on_book_snapshot, broker.on_book_snapshot)
    assert bus.handlers(BookDelta) == (market.on_book_delta, broker.on_book_delta)
    assert bus.handlers(Bar) == (market.on_bar, store.append, broker.on_bar, h.risk.on_bar, strategies.on_bar)
    for report, handler in (
        (OrderAccepted, reports.on_accepted),
        (OrderRejected, reports.on_rejected),
        (OrderFilled, reports.on_filled),
        (OrderCanceled, reports.on_canceled),
        (OrderExpired, reports.on_expired),
        (CancelRejected, reports.on_cancel_rejected),
    ):
        assert bus.handlers(report)[0] == handler


def test_a_broker_without_market_data_handlers_is_not_subscribed(make: Make) -> None:
    h = make(broker="recording", stop_rules=StopRules(trailing_fraction=Decimal("0.01")))

    assert h.bus.handlers(TradeTick) == (
        h.market.on_trade,
        h.market_data.append,
        h.stops.on_trade,
        h.risk.on_trade,
        h.strategies.on_trade,
    )


def test_the_stop_manager_watches_trades_only_while_it_holds_a_stop_when_no_stop_rule_is_set(
    make: Make,
) -> None:
    h = make(broker="recording")
    without_stops = (h.market.on_trade, h.market_data.append, h.risk.on_trade, h.strategies.on_trade)
    assert h.bus.handlers(TradeTick) == without_stops
    assert h.stops.on_position_changed not in h.bus.handlers(PositionChanged)
    h.trade("100")

    first = h.submit(make_intent(order_type=OrderType.STOP_MARKET, side=OrderSide.SELL, stop_price="90"))
    second = h.submit(make_intent(order_type=OrderType.STOP_MARKET, side=OrderSide.BUY, stop_price="110"))
    watching = (*without_stops[:2], h.stops.on_trade, *without_stops[2:])
    assert h.bus.handlers(TradeTick) == watching  # just before the risk monitor, subscribed once

    h.cancel(first.client_order_id)
    assert h.bus.handlers(TradeTick) == watching  # one is still held
    h.trade("111")  # triggers the other: nothing is held any more
    assert second.status is OrderStatus.SUBMITTED
    assert h.bus.handlers(TradeTick) == without_stops


class Probe(ScriptedStrategy):
    """Notes what the engine knew when the strategy was handed each trade."""

    def __init__(self, h: Harness) -> None:
        super().__init__("probe")
        self.h = h
        self.views: list[tuple[Decimal | None, Decimal | None, int]] = []

    def on_trade(self, tick: TradeTick) -> Sequence[Signal]:
        h = self.h
        self.views.append((h.market.last_price(BTC), h.portfolio.marks.get(BTC), len(h.market_data)))
        return super().on_trade(tick)


def test_a_strategy_is_handed_a_trade_after_the_market_state_the_store_and_the_marks(make: Make) -> None:
    h = make()
    probe = Probe(h)
    h.strategies.add(probe, sizer=FixedQuantity(D(1)))

    h.trade("100")
    h.trade("101")

    assert probe.views == [(D(100), D(100), 1), (D(101), D(101), 2)]


# -- lifecycle ------------------------------------------------------------------------------------


def test_start_replays_the_feed_through_strategies_to_fills_and_stop_flushes(make: Make) -> None:
    store = FlushCountingStore()
    tape = Tape().quote("99.99", "100.01").trade("100").trade("101")
    h = make(events=tape.events, market_data=store)
    h.strategies.add(ScriptedStrategy("s", script={"100": BUY}), sizer=FixedQuantity(D("0.5")))

    run(h)

    assert h.position() == D("0.5")
    assert h.market.trades_seen == 2
    assert len(store) == 3
    assert store.flushes == 1
    assert not h.engine.running
    assert [f.connected for f in h.ingestion.health()] == [False]
    assert all(not slot.active for slot in h.strategies.slots)


def test_stop_cancels_the_open_orders_when_asked(make: Make) -> None:
    h = make(events=Tape().quote("99.99", "100.01").trade("100").events)
    orders = []

    run(h, during=lambda: orders.append(h.submit(make_intent(order_type=OrderType.LIMIT, price="95"))))

    (order,) = orders
    assert order.status is OrderStatus.CANCELED
    assert h.orders.open_orders == {}
    assert h.broker.open_orders() == []


def test_stop_can_leave_the_open_orders_working(make: Make) -> None:
    h = make(events=Tape().quote("99.99", "100.01").trade("100").events)
    orders = []

    run(
        h,
        during=lambda: orders.append(h.submit(make_intent(order_type=OrderType.LIMIT, price="95"))),
        cancel_open_orders=False,
    )

    assert orders[0].status is OrderStatus.ACCEPTED
    assert len(h.broker.open_orders()) == 1


def test_a_second_stop_does_nothing(make: Make) -> None:
    store = FlushCountingStore()
    h = make(market_data=store)

    async def scenario() -> None:
        await h.engine.start()
        await h.engine.stop()
        await h.engine.stop()
        await asyncio.wait_for(h.engine.wait_stopped(), 1)

    asyncio.run(scenario())

    assert store.flushes == 1


def test_a_raising_strategy_does_not_stop_the_engine(make: Make) -> None:
    tape = Tape().quote("99.99", "100.01").trade("100").trade("101")
    h = make(events=tape.events)
    h.strategies.add(
        ScriptedStrategy("broken", script={"100": ZeroDivisionError("oops")}), sizer=FixedQuantity(D(1))
    )
    h.strategies.add(ScriptedStrategy("fine", script={"101": BUY}), sizer=FixedQuantity(D(1)))

    run(h)

    assert [f.strategy_id for f in h.of_type(StrategyFailed)] == ["broken"]
    assert h.position() == D(1)
    assert h.bus.stats.handler_errors == 0


# -- status -----------------------------------------------------------------------------------------


def test_status_reports_positions_equity_counters_and_feeds(make: Make) -> None:
    tape = Tape().quote("99.99", "100.01").trade("100").trade("101").trade("2000", instrument_id=ETH)
    h = make(
        events=tape.events,
        paper=PaperBrokerConfig(maker_fee_bps=D(0), taker_fee_bps=D(10)),
        limits=RiskLimits(max_order_quantity=D(1)),
    )
    h.strategies.add(ScriptedStrategy("s", script={"100": BUY}), sizer=FixedQuantity(D("0.5")))
    snapshots: list[EngineStatus] = []

    def during() -> None:
        h.submit(make_intent(order_type=OrderType.LIMIT, price="95", quantity="0.2"))  # rests
        with pytest.raises(RiskLimitBreached):
            h.submit(make_intent(quantity="2"))
        snapshots.append(h.engine.status())

    run(h, during=during)

    (status,) = snapshots
    fee = D("0.050005")  # 0.5 × 100.01 × 10 bps
    assert status.running
    assert status.uptime_ns == tape.ts + STEP_NS * 2 - TS  # two more steps: the two submits
    assert status.trading_state is TradingState.ACTIVE
    assert status.trading_reason == ""
    assert status.positions == (
        PositionStatus(
            instrument_id=BTC,
            quantity=D("0.5"),
            avg_entry_price=D("100.01"),
            realized_pnl=D(0),
            unrealized_pnl=D("0.495"),  # 0.5 × (101 − 100.01)
            fees=fee,
        ),
    )
    assert status.equity == D(10000) - D("50.005") - fee + D("50.5")
    assert status.drawdown == D(0)
    assert status.open_orders == 1
    assert status.orders_submitted == 2
    assert status.fills == 1
    assert status.risk_rejections == 1
    assert status.signals == 1
    assert status.trades_seen == 3
    assert status.handler_errors == 0
    assert status.last_prices == {BTC: D(101), ETH: D(2000)}
    (feed,) = status.feeds
    assert (feed.name, feed.connected, feed.messages, feed.last_message_ns) == ("memory", True, 4, tape.ts)

    after = h.engine.status()
    assert not after.running
    assert after.open_orders == 0


def test_status_before_any_trade_has_cash_equity_and_no_positions(make: Make) -> None:
    h = make()

    status = h.engine.status()

    assert not status.running
    assert status.uptime_ns == 0
    assert status.equity == D(10000)
    assert status.positions == ()
    assert status.last_prices == {}
    assert [f.name for f in status.feeds] == ["memory"]
