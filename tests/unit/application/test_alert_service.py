"""The alert service on a real engine (the composition root's wiring over in-memory adapters):
each rule fired by a scripted scenario, announced on the bus and to the notifiers, and resolved
when its condition clears."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal

from adapters.memory import InMemoryTradeRepository
from application.alerts import AlertEvent, AlertPolicy, AlertService, EngineObserver
from application.live_reconciliation import LiveReconciliation
from application.messages import AlertRaised, AlertResolved, AlertSeverity
from application.ports import FeedHealth, InstrumentFeedHealth
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.orders import OrderStatus
from domain.risk import RiskLimits
from domain.sizing import FixedQuantity
from entrypoints.alerts import store_commits
from tests.builders import TS, make_intent
from tests.unit.application.execution.support import Make, at, limit
from tests.unit.application.harness import BTC, ETH, Harness, ScriptedStrategy, btc
from tests.unit.application.test_reconciliation import TableVenue, at_venue

SEC = 1_000_000_000
POLICY = AlertPolicy(feed_down_after_s=30, broker_rejections=5, repeat_interval_s=600)


@dataclass
class RecordingNotifier:
    """An ``AlertNotifier`` that keeps what it is told."""

    events: list[AlertEvent] = field(default_factory=list)
    started: int = 0
    stopped: int = 0

    @property
    def name(self) -> str:
        return "recording"

    @property
    def failures(self) -> int:
        return 0

    def notify(self, event: AlertEvent) -> None:
        self.events.append(event)

    async def start(self) -> None:
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1


@dataclass
class Watched:
    service: AlertService
    notifier: RecordingNotifier
    h: Harness
    bus_events: list[AlertEvent] = field(default_factory=list)

    def evaluate(self, after_s: float = 1, *, trade: bool = False) -> tuple[list[str], list[str]]:
        """Move the clock on (then BTC trades, if ``trade``) and evaluate: the names raised and
        resolved."""
        self.h.advance(int(after_s * SEC))
        if trade:
            self.h.trade("100")
        changes = self.service.evaluate()
        return [a.name for a in changes.raised], [a.name for a in changes.resolved]

    def active(self) -> dict[str, dict[str, str]]:
        return {a.name: a.label_map for a in self.service.active}


def watch(
    h: Harness, policy: AlertPolicy = POLICY, reconciliation: LiveReconciliation | None = None
) -> Watched:
    notifier = RecordingNotifier()
    observe = EngineObserver(
        clock=h.clock,
        engine=h.engine,
        risk=h.risk,
        strategies=h.strategies,
        reports=h.reports,
        broker=h.broker.name,
        reconciliation=reconciliation,
        stores=store_commits(h.risk, h.trades, h.market_data),
    )
    service = AlertService(policy=policy, observe=observe, events=h.bus, notifiers=[notifier])
    watched = Watched(service, notifier, h)
    h.bus.subscribe(AlertRaised, watched.bus_events.append)
    h.bus.subscribe(AlertResolved, watched.bus_events.append)
    watched.evaluate(0)  # the counters' baseline
    return watched


def test_a_halt_through_the_risk_service_fires_and_a_resume_resolves(make: Make) -> None:
    w = watch(make())
    w.h.halt("operator test")

    assert w.evaluate() == (["TradingHalted"], [])
    (alert,) = w.service.active
    assert alert.severity is AlertSeverity.CRITICAL
    assert alert.summary == "trading HALTED: halted by an operator: operator test"
    assert [type(e).__name__ for e in w.bus_events] == ["AlertRaised"]
    assert w.notifier.events == w.bus_events
    assert w.evaluate() == ([], [])  # one alert, not one per evaluation

    w.h.resume()
    assert w.evaluate() == ([], ["TradingHalted"])
    resolved = w.bus_events[-1]
    assert isinstance(resolved, AlertResolved)
    assert resolved.alert.resolved_at_ns == w.h.clock.now_ns()
    assert w.service.metrics().fired["TradingHalted"] == 1
    assert w.service.metrics().active["TradingHalted"] == 0


def test_an_active_alert_is_sent_again_every_repeat_interval(make: Make) -> None:
    w = watch(make())
    w.h.halt("long pause")
    w.evaluate()
    w.evaluate(599)
    assert [e.repeat for e in w.bus_events if isinstance(e, AlertRaised)] == [False]
    w.evaluate(1)
    assert [e.repeat for e in w.bus_events if isinstance(e, AlertRaised)] == [False, True]
    assert w.service.metrics().fired["TradingHalted"] == 1  # a repeat is not a new alert


def test_a_stopped_in_memory_feed_fires_feed_down_after_the_threshold(make: Make) -> None:
    h = make(events=[_trade(BTC, TS + 1), _trade(ETH, TS + 2)])

    async def scenario() -> None:
        await h.engine.start()
        await h.feed.wait_replayed()
        w = watch(h)
        await h.feed.stop()
        for _ in range(10):  # the feed's task ends: disconnected
            await asyncio.sleep(0)
        assert w.evaluate(0) == ([], [])
        assert w.evaluate(29) == ([], [])
        raised, _ = w.evaluate(2)
        assert raised == ["FeedDown"] * 3  # the feed, and each instrument without data for 31s
        assert [a.label_map for a in w.service.active] == [
            {"feed": "memory"},
            {"instrument": str(BTC)},
            {"instrument": str(ETH)},
        ]
        assert w.service.active[0].summary == "feed memory disconnected for 31s"
        await h.engine.stop()
        assert w.evaluate()[1] == ["FeedDown"] * 3  # a stopped engine's feeds are down on purpose

    asyncio.run(asyncio.wait_for(scenario(), 10))


def _trade(instrument_id: InstrumentId, ts: int) -> TradeTick:
    return TradeTick.create(
        instrument_id=instrument_id, price="100", size="1", trade_id=f"T{ts}", ts_event=ts, ts_init=ts
    )


def test_a_reconciliation_difference_fires_until_a_run_finds_none(make: Make) -> None:
    h = make(broker="connected")
    h.trade("100")
    live = LiveReconciliation(orders=h.orders, reports=h.reports, broker=h.broker, interval_s=60)
    w = watch(h, reconciliation=live)
    order = h.submit(limit())
    h.broker.accept(order, h.advance())
    h.broker.venue = TableVenue(at_venue(order, OrderStatus.CANCELED, ts_last=h.advance(), reason="venue"))

    asyncio.run(live.once())
    assert w.evaluate() == (["ReconciliationDifference"], [])
    assert "found 1 difference(s)" in w.service.active[0].summary

    asyncio.run(live.once())  # the venue and the engine agree now
    assert w.evaluate() == ([], ["ReconciliationDifference"])


class FailingTrades(InMemoryTradeRepository):
    """The in-memory trades store, failing its commits while ``failing``."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def commit(self) -> None:
        if self.failing:
            raise OSError("disk full")
        super().commit()


def test_a_failing_store_fires_and_resolves_once_a_commit_succeeds(make: Make) -> None:
    trades = FailingTrades()
    h = make(trades=trades)
    at(h, "100")
    w = watch(h)
    trades.failing = True
    h.try_submit(make_intent(quantity="1"))  # journaled before it is sent: the commit fails

    raised, _ = w.evaluate()
    assert sorted(raised) == ["StoreCommitFailing", "TradingHalted"]
    assert w.active()["StoreCommitFailing"] == {"store": "trades"}

    trades.failing = False
    h.resume()  # commits the trading state
    assert sorted(w.evaluate()[1]) == ["StoreCommitFailing", "TradingHalted"]


def test_venue_rejections_fire_at_the_count_and_clear_after_the_window(make: Make) -> None:
    h = make(broker="recording")
    h.trade("100")
    w = watch(h)
    for _ in range(5):
        order = h.submit(limit())
        h.broker.reject(order, h.advance())
    assert w.evaluate() == (["BrokerRejecting"], [])
    assert w.active()["BrokerRejecting"] == {"broker": "recording"}
    assert w.evaluate(301) == ([], ["BrokerRejecting"])


def test_a_strategy_that_raised_fires_until_restarted(make: Make) -> None:
    h = make()
    strategy = ScriptedStrategy("boom", script={"100": ValueError("bad tick")})
    h.strategies.add(strategy, sizer=FixedQuantity(Decimal(1)))
    w = watch(h)
    h.trade("100")

    assert w.evaluate() == (["StrategyDisabled"], [])
    assert w.active()["StrategyDisabled"] == {"strategy": "boom"}
    h.strategies.start("boom")
    assert w.evaluate() == ([], ["StrategyDisabled"])


def test_a_daily_loss_near_its_limit_fires_and_a_recovery_resolves(make: Make) -> None:
    h = make(limits=RiskLimits(daily_loss_limit=Decimal(50)))
    at(h, "100")
    h.submit(make_intent(quantity="1"))
    w = watch(h)
    h.advance(SEC)
    at(h, "55")  # -45.01: 90% of the limit

    assert w.evaluate() == (["DailyLossNearLimit"], [])
    assert "is 90% of the daily loss limit 50" in w.service.active[0].summary
    h.advance(SEC)
    at(h, "90")
    assert w.evaluate() == ([], ["DailyLossNearLimit"])


def test_a_drawdown_near_its_limit_fires_and_a_recovery_resolves(make: Make) -> None:
    h = make(limits=RiskLimits(max_drawdown_fraction=Decimal("0.01")))
    at(h, "100")
    h.submit(make_intent(quantity="10"))
    w = watch(h)
    h.advance(SEC)
    at(h, "91")  # equity 9 909.9 from a 10 000 peak: 0.901%, 90.1% of the 1% limit

    assert w.evaluate() == (["DrawdownNearLimit"], [])
    assert "is 90.1% of the max drawdown 1%" in w.service.active[0].summary
    h.advance(SEC)
    at(h, "100")
    assert w.evaluate() == ([], ["DrawdownNearLimit"])


def test_start_and_stop_run_the_loop_and_the_notifiers(make: Make) -> None:
    h = make()
    service = AlertService(
        policy=AlertPolicy(evaluate_interval_s=0.01),
        observe=EngineObserver(
            clock=h.clock,
            engine=h.engine,
            risk=h.risk,
            strategies=h.strategies,
            reports=h.reports,
            broker="paper",
        ),
        events=h.bus,
        notifiers=[notifier := RecordingNotifier()],
    )

    async def scenario() -> None:
        await service.start()
        await service.start()  # once
        h.halt("loop test")
        while not service.active:
            await asyncio.sleep(0.01)
        await service.stop()
        evaluations = service.evaluations
        await asyncio.sleep(0.05)
        assert service.evaluations == evaluations  # stopped

    asyncio.run(asyncio.wait_for(scenario(), 5))
    assert (notifier.started, notifier.stopped) == (1, 1)
    assert [type(e).__name__ for e in notifier.events] == ["AlertRaised"]


class CountingFeed:
    """A ``MarketDataFeed`` whose connection and per-book counters the test sets."""

    name = "venue"

    def __init__(self) -> None:
        self.connected = True
        self.resubscriptions = 0
        self.gaps = 0
        self._stopped = asyncio.Event()

    async def run(self, sink: object) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()

    def health(self) -> FeedHealth:
        book = InstrumentFeedHealth(
            instrument_id=BTC,
            book_verified=True,
            last_message_ns=None,
            gaps=self.gaps,
            resubscriptions=self.resubscriptions,
        )
        return FeedHealth(
            name=self.name,
            connected=self.connected,
            last_message_ns=None,
            messages=0,
            reconnects=0,
            gaps=self.gaps,
            malformed=0,
            last_error="" if self.connected else "venue closed the connection",
            instruments=(book,),
        )


def test_a_feed_that_comes_back_resolves_and_a_book_resynced_again_and_again_fires(make: Make) -> None:
    feed = CountingFeed()
    h = make(feeds=[feed], instruments=[btc()])

    async def scenario() -> None:
        await h.engine.start()
        w = watch(h, AlertPolicy(feed_down_after_s=10, book_resync_failures=3))
        feed.connected = False
        assert w.evaluate(0, trade=True) == ([], [])
        assert w.evaluate(10, trade=True)[0] == ["FeedDown"]
        assert w.active()["FeedDown"] == {"feed": "venue"}
        feed.connected = True
        assert w.evaluate(1, trade=True)[1] == ["FeedDown"]

        feed.resubscriptions, feed.gaps = 2, 2  # two resyncs after two gaps
        assert w.evaluate(60, trade=True) == ([], [])
        feed.resubscriptions, feed.gaps = 3, 3
        assert w.evaluate(60, trade=True) == (["BookResyncFailing"], [])
        assert w.active()["BookResyncFailing"] == {"feed": "venue", "instrument": str(BTC)}
        assert w.evaluate(241, trade=True) == ([], ["BookResyncFailing"])  # the first two are 5 min old
        await h.engine.stop()

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_a_daily_loss_beyond_its_limit_fires_reduce_only_beside_the_near_limit_warning(make: Make) -> None:
    h = make(limits=RiskLimits(daily_loss_limit=Decimal(50)))
    at(h, "100")
    h.submit(make_intent(quantity="1"))
    w = watch(h)
    h.advance(SEC)
    at(h, "40")  # -60.01: REDUCE_ONLY

    assert sorted(w.evaluate()[0]) == ["DailyLossNearLimit", "TradingReduceOnly"]
    reduce_only = next(a for a in w.service.active if a.name == "TradingReduceOnly")
    assert reduce_only.severity is AlertSeverity.WARNING
    assert "reached the daily loss limit 50" in reduce_only.summary
