"""One order's round trip through the Binance broker adapter, and how much of it is the adapter.

The Binance adapter trades against the simulated venue (market simulator + trading API), served
on loopback from an event loop in its own thread, as ``tradeplane demo --broker binance`` does.
The engine is bootstrapped from the configuration (``[broker] kind = "binance"``, in-memory
stores, no strategy) and runs in this thread's event loop. N MARKET orders go one after the
other through the command bus, alternately BUY and SELL so the balances hold; each is awaited
to the end (its position changed, the REST answer handled, the stream's last account update
read) before the next is sent, so nothing of one order is in another's figures.

For each order: submit -> ``OrderAccepted`` -> first ``OrderFilled`` -> ``PositionChanged``,
seen on the bus by probes placed before the engine's own handlers.

The adapter's own work is this thread's CPU time (``thread_time_ns``) inside the adapter: its
``submit``, and every step of the tasks it runs (the REST request and the handling of its
answer, the order-update stream's reader with its event handler), found by the loop's task
factory. What the adapter calls back in the engine (the reports it publishes: OMS, portfolio,
risk) is charged to the engine, not to it. The venue runs in the other thread, so its time is
in neither figure. Not in the adapter's figure: the event loop's socket callbacks (bytes read
off the sockets, WebSocket frames split); they are in the engine thread's total.

The venue shares this process, hence the interpreter lock: while its thread runs, the engine's
waits. The wall-clock legs include that wait (a venue on another host would not cause it); the
CPU figures do not, since a thread waiting for the lock is not running.

Baseline, same run: the same orders through the paper broker (in-process, no network).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import types
from collections.abc import Callable, Coroutine, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import adapters.brokers.binance
from adapters.brokers.binance import BinanceBroker
from adapters.brokers.paper import PaperBroker, PaperBrokerConfig
from adapters.exchanges.simulator import ExchangeSimulator, MarketParams, RandomWalkMarket
from adapters.exchanges.simulator.background import BackgroundLoop
from adapters.exchanges.simulator.trading import TradingVenue, VenueLimits
from application.commands import SubmitOrder
from application.messages import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PositionChanged,
)
from bench.harness import Result
from domain.identifiers import ClientOrderId, InstrumentId, strategy_id
from domain.instrument import InstrumentRegistry
from domain.intents import OrderIntent
from domain.market_data import QuoteTick, TradeTick
from domain.orders import Order, OrderStatus
from domain.values import OrderSide
from entrypoints.config import Settings, parse_settings
from entrypoints.container import App, bootstrap
from entrypoints.gc_tuning import tune_gc

SUITE = "broker_roundtrip"
ORDERS = 300
WARMUP = 10
"""Orders sent first and left out of the figures (connections opened, caches filled)."""
QUANTITY = Decimal("0.001")
INSTRUMENT = InstrumentId("BTCUSDT.BINANCE")
SYMBOL = "BTCUSDT"
ORDER_TIMEOUT_S = 10.0
"""Longest wait for one order to end: past it the run stops and says what was missing."""
MARKET_RATE = 10.0
"""Market steps per second in the venue's thread (the venue needs a book, not a busy one)."""
KEY_ENV = ("TRADEPLANE_BINANCE_API_KEY", "TRADEPLANE_BINANCE_API_SECRET")

ADAPTER, ENGINE = "adapter", "engine"
_FINAL_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})
_ADAPTER_SOURCE = str(Path(adapters.brokers.binance.__file__).resolve().parent) + os.sep

T = TypeVar("T")
P = ParamSpec("P")


# -- CPU time, charged to whoever runs --------------------------------------------------------


class CpuMeter:
    """This thread's CPU time, charged to the adapter or to the engine while they run.

    Calls nest: the engine's ``submit`` calls the adapter's, the adapter publishes a report and
    the engine's handlers run inside that call. Each span is charged to the innermost owner.
    Reading the thread's CPU clock is a system call; ``spans`` counts how many spans each owner
    was charged, so the clock's own cost can be estimated (``clock_cost_ns``).
    """

    __slots__ = ("_clock", "_mark", "_owners", "spans", "spent")

    def __init__(self, clock: Callable[[], int] = time.thread_time_ns) -> None:
        self._clock = clock
        self._owners: list[str] = []
        self._mark = 0
        self.spent: dict[str, int] = {ADAPTER: 0, ENGINE: 0}
        self.spans: dict[str, int] = {ADAPTER: 0, ENGINE: 0}

    def enter(self, owner: str) -> None:
        now = self._clock()
        if self._owners:
            self._charge(now)
        self._owners.append(owner)
        self._mark = now

    def leave(self) -> None:
        now = self._clock()
        self._charge(now)
        self._owners.pop()
        self._mark = now

    def _charge(self, now: int) -> None:
        owner = self._owners[-1]
        self.spent[owner] += now - self._mark
        self.spans[owner] += 1

    def wrap(self, owner: str, call: Callable[P, T]) -> Callable[P, T]:
        """``call``, its time charged to ``owner``."""

        def charged(*args: P.args, **kwargs: P.kwargs) -> T:
            self.enter(owner)
            try:
                return call(*args, **kwargs)
            finally:
                self.leave()

        return charged

    def clock_cost_ns(self, reads: int = 20_000) -> float:
        """What one read of the clock costs, measured now."""
        clock = self._clock
        start = time.perf_counter_ns()
        for _ in range(reads):
            clock()
        return (time.perf_counter_ns() - start) / reads


@types.coroutine
def _stepped(inner: Coroutine[Any, Any, T], meter: CpuMeter) -> Generator[Any, Any, T]:
    """Drive ``inner`` step by step, each step charged to the adapter; what it awaits (a
    future, a socket) is handed up to the task unchanged, and so is what the task sends back."""
    value: Any = None
    error: BaseException | None = None
    while True:
        meter.enter(ADAPTER)
        try:
            yielded = inner.send(value) if error is None else inner.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            meter.leave()
        try:
            value, error = (yield yielded), None
        except GeneratorExit:
            inner.close()
            raise
        except BaseException as thrown:  # a cancellation, or a future's error: the inner one's to handle
            value, error = None, thrown


async def _metered(inner: Coroutine[Any, Any, T], meter: CpuMeter) -> T:
    return await _stepped(inner, meter)


def meter_adapter_tasks(
    loop: asyncio.AbstractEventLoop, meter: CpuMeter, on_done: Callable[[], None]
) -> None:
    """Every task the Binance adapter starts on ``loop`` (its code lives in its package) has its
    steps charged to the adapter; ``on_done`` is called as each of them ends."""

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Task[Any]:
        code = getattr(coro, "cr_code", None)
        if code is None or not code.co_filename.startswith(_ADAPTER_SOURCE):
            return asyncio.Task(coro, loop=loop, **options)
        task = asyncio.Task(_metered(coro, meter), loop=loop, **options)
        task.add_done_callback(lambda _: on_done())
        return task

    loop.set_task_factory(factory)


# -- what one order went through ---------------------------------------------------------------


@dataclass(slots=True)
class Lap:
    """perf_counter_ns at submit and at the first sight of each report on the bus."""

    submitted: int
    accepted: int = 0
    filled: int = 0
    position: int = 0
    ended: str = ""
    """Why the order closed without the expected fill (rejected, expired, canceled), or ""."""


@dataclass(slots=True)
class Figures:
    """One broker's samples, in ns, one per measured order."""

    to_accepted: list[int] = field(default_factory=list)
    to_fill: list[int] = field(default_factory=list)
    submit_to_fill: list[int] = field(default_factory=list)
    fill_to_position: list[int] = field(default_factory=list)
    round_trip: list[int] = field(default_factory=list)
    adapter_cpu: list[int] = field(default_factory=list)
    engine_cpu: list[int] = field(default_factory=list)
    thread_cpu: list[int] = field(default_factory=list)
    adapter_spans: int = 0

    def add(self, lap: Lap) -> None:
        if not lap.submitted <= lap.accepted <= lap.filled <= lap.position:
            raise RuntimeError(f"reports seen out of order: {lap}")
        self.to_accepted.append(lap.accepted - lap.submitted)
        self.to_fill.append(lap.filled - lap.accepted)
        self.submit_to_fill.append(lap.filled - lap.submitted)
        self.fill_to_position.append(lap.position - lap.filled)
        self.round_trip.append(lap.position - lap.submitted)


class Probes:
    """Subscribed on the bus ahead of the engine's handlers: the moment each report arrives."""

    def __init__(self, app: App) -> None:
        self.lap: Lap | None = None
        self.progress = asyncio.Event()
        """Set whenever something this run waits for may have happened."""
        bus, reports = app.bus, app.reports
        bus.subscribe(OrderAccepted, self._accepted, before=reports.on_accepted)
        bus.subscribe(OrderFilled, self._filled, before=reports.on_filled)
        bus.subscribe(PositionChanged, self._position)
        bus.subscribe(OrderRejected, self._closed, before=reports.on_rejected)
        bus.subscribe(OrderExpired, self._closed, before=reports.on_expired)
        bus.subscribe(OrderCanceled, self._closed, before=reports.on_canceled)

    def start(self) -> Lap:
        self.lap = Lap(submitted=time.perf_counter_ns())
        return self.lap

    def _accepted(self, _: OrderAccepted) -> None:
        lap = self.lap
        if lap is not None and not lap.accepted:
            lap.accepted = time.perf_counter_ns()

    def _filled(self, _: OrderFilled) -> None:
        lap = self.lap
        if lap is not None and not lap.filled:
            lap.filled = time.perf_counter_ns()

    def _position(self, _: PositionChanged) -> None:
        lap = self.lap
        if lap is not None and lap.filled and not lap.position:
            lap.position = time.perf_counter_ns()
            self.progress.set()

    def _closed(self, report: OrderRejected | OrderExpired | OrderCanceled) -> None:
        lap = self.lap
        if lap is not None:
            lap.ended = f"{type(report).__name__}: {report.reason}"
            self.progress.set()


class StreamWatch:
    """Wraps the adapter's stream event handler to see the raw events: an order is settled on
    the stream once an account update has followed its final execution report."""

    def __init__(self, handler: Callable[[Mapping[str, Any]], None], progress: asyncio.Event) -> None:
        self._handler = handler
        self._progress = progress
        self._awaiting_balances: str | None = None
        self.settled: set[str] = set()

    def __call__(self, event: Mapping[str, Any]) -> None:
        try:
            self._handler(event)
        finally:
            kind = event.get("e")
            if kind == "executionReport" and event.get("X") in _FINAL_STATUSES:
                self._awaiting_balances = str(event.get("c"))
            elif kind == "outboundAccountPosition" and self._awaiting_balances is not None:
                self.settled.add(self._awaiting_balances)
                self._awaiting_balances = None
                self._progress.set()


def _intent(index: int, now_ns: int) -> OrderIntent:
    return OrderIntent(
        strategy_id=strategy_id("bench"),
        instrument_id=INSTRUMENT,
        side=OrderSide.BUY if index % 2 == 0 else OrderSide.SELL,
        quantity=QUANTITY,
        reason="broker round-trip benchmark",
        ts_event=now_ns,
    )


def _submit(app: App, meter: CpuMeter, index: int) -> Order:
    command = SubmitOrder(intent=_intent(index, app.clock.now_ns()))
    meter.enter(ENGINE)
    try:
        return app.bus.execute(command).unwrap()
    finally:
        meter.leave()


def _check_filled(app: App, order: Order, lap: Lap) -> None:
    status = app.orders.get(order.client_order_id).status
    if status is not OrderStatus.FILLED:
        why = lap.ended or "no report said why"
        raise RuntimeError(f"order {order.client_order_id} ended {status.value}, not FILLED ({why})")


@contextmanager
def _measured(figures: Figures, meter: CpuMeter, keep: bool) -> Iterator[None]:
    """The CPU time spent while the block runs (one order, start to end), per owner."""
    adapter, engine, thread = meter.spent[ADAPTER], meter.spent[ENGINE], time.thread_time_ns()
    spans = meter.spans[ADAPTER]
    yield
    if keep:
        figures.adapter_cpu.append(meter.spent[ADAPTER] - adapter)
        figures.engine_cpu.append(meter.spent[ENGINE] - engine)
        figures.thread_cpu.append(time.thread_time_ns() - thread)
        figures.adapter_spans += meter.spans[ADAPTER] - spans


# -- the Binance adapter against the simulated venue ------------------------------------------


@dataclass(slots=True)
class LoopbackVenue:
    loop: BackgroundLoop
    simulator: ExchangeSimulator
    trading: TradingVenue
    api_key: str
    api_secret: str

    async def stop(self) -> None:
        async def stop_all() -> None:
            await self.simulator.stop()
            await self.trading.stop()

        try:
            await self.loop.run_async(stop_all())
        finally:
            self.loop.close()


async def start_venue(seed: int = 7) -> LoopbackVenue:
    """Market + trading venue on loopback in their own thread, a throwaway key for this run, and
    order limits far above what the benchmark sends (the venue's own would refuse it)."""
    loop = BackgroundLoop("bench-venue")
    market = RandomWalkMarket((SYMBOL,), seed, MarketParams(tick_size=Decimal("1")))
    api_key, api_secret = secrets.token_hex(32), secrets.token_hex(32)
    limits = VenueLimits(
        request_weight_per_minute=10_000_000,
        orders_per_10s=1_000_000,
        orders_per_day=10_000_000,
        raw_requests_per_5m=10_000_000,
    )
    trading = TradingVenue(
        market=market,
        api_key=api_key,
        api_secret=api_secret,
        balances={"USDT": Decimal("100000"), "BTC": Decimal("1")},
        limits=limits,
        seed=seed,
    )
    simulator = ExchangeSimulator(trading.market, seed=seed, rate=MARKET_RATE)

    async def start_all() -> None:
        await simulator.start()
        await trading.start(host="127.0.0.1", port=0)

    try:
        await loop.run_async(start_all())
    except BaseException:
        loop.close()
        raise
    return LoopbackVenue(loop, simulator, trading, api_key, api_secret)


def binance_settings(rest_url: str, ws_api_url: str) -> Settings:
    return parse_settings(
        {
            "engine": {"order_id_prefix": "RT"},
            "storage": {"kind": "memory"},
            "instruments": [{"id": str(INSTRUMENT)}],  # the venue says what its rules are
            "broker": {
                "kind": "binance",
                "environment": "testnet",
                "rest_url": rest_url,
                "ws_api_url": ws_api_url,
                "use_system_proxy": False,
                "reconcile_interval_s": 86_400,  # the order path only: no periodic reconciliation
            },
        },
        source="<bench>",
    )


@contextmanager
def _keys_in_environment(api_key: str, api_secret: str) -> Iterator[None]:
    """The throwaway key where the configuration reads it, for this run only."""
    before = {name: os.environ.get(name) for name in KEY_ENV}
    os.environ[KEY_ENV[0]], os.environ[KEY_ENV[1]] = api_key, api_secret
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def _binance(orders: int, warmup: int) -> Figures:
    venue = await start_venue()
    try:
        with _keys_in_environment(venue.api_key, venue.api_secret):
            app = bootstrap(binance_settings(venue.trading.rest_url, venue.trading.ws_api_url))
        try:
            return await _binance_orders(app, orders, warmup)
        finally:
            app.close()
    finally:
        await venue.stop()


async def _binance_orders(app: App, orders: int, warmup: int) -> Figures:
    broker = app.broker
    if not isinstance(broker, BinanceBroker):
        raise RuntimeError(f"[broker] kind = binance built a {type(broker).__name__}")
    meter = CpuMeter()
    probes = Probes(app)
    watch = StreamWatch(broker._recovery.on_event, probes.progress)
    # Before connect: the stream takes its handler then. What the adapter publishes is the engine's.
    broker._recovery.on_event = watch  # type: ignore[method-assign]
    broker._publish = meter.wrap(ENGINE, broker._publish)
    broker.submit = meter.wrap(ADAPTER, broker.submit)  # type: ignore[method-assign]
    meter_adapter_tasks(asyncio.get_running_loop(), meter, probes.progress.set)
    tune_gc()  # as `tradeplane run` does
    await app.engine.start()
    figures = Figures()
    try:
        for index in range(warmup + orders):
            with _measured(figures, meter, keep=index >= warmup):
                lap = probes.start()
                order = _submit(app, meter, index)
                coid = order.client_order_id

                def missing(coid: ClientOrderId = coid, lap: Lap = lap) -> list[str]:
                    if lap.ended:
                        return []
                    waits = [] if lap.position else ["its PositionChanged"]
                    if broker.busy(coid):
                        waits.append("the REST answer")
                    if coid not in watch.settled:
                        waits.append("the stream's account update after its last report")
                    return waits

                await _until(missing, probes.progress, coid)
            _check_filled(app, order, lap)
            if index >= warmup:
                figures.add(lap)
    finally:
        await app.engine.stop()
    return figures


async def _until(missing: Callable[[], list[str]], progress: asyncio.Event, coid: str) -> None:
    """Wait (bounded) until nothing is ``missing()``; ``progress`` is set whenever something may
    have arrived."""
    try:
        async with asyncio.timeout(ORDER_TIMEOUT_S):
            while missing():
                progress.clear()
                await progress.wait()
    except TimeoutError:
        raise RuntimeError(
            f"order {coid} did not end within {ORDER_TIMEOUT_S:g}s: still waiting for {', '.join(missing())}"
        ) from None


# -- the paper broker, in process ----------------------------------------------------------------


def paper_settings() -> Settings:
    return parse_settings(
        {
            "engine": {"order_id_prefix": "RT"},
            "storage": {"kind": "memory"},
            "account": {"balances": {"USDT": "100000", "BTC": "1"}},
            "instruments": [
                {
                    "id": str(INSTRUMENT),
                    "base": "BTC",
                    "quote": "USDT",
                    "price_tick": "1",
                    "lot_size": "0.001",
                    "min_quantity": "0.001",
                    "min_notional": "5",
                }
            ],
            "broker": {"kind": "paper", "maker_fee_bps": "10", "taker_fee_bps": "10"},
        },
        source="<bench>",
    )


class MeteredPaperBroker(PaperBroker):
    """The paper broker, its ``submit`` charged to the adapter."""

    __slots__ = ("_meter",)

    def __init__(self, meter: CpuMeter, **options: Any) -> None:
        super().__init__(**options)
        self._meter = meter

    def submit(self, order: Order) -> None:
        self._meter.enter(ADAPTER)
        try:
            super().submit(order)
        finally:
            self._meter.leave()


async def _paper(orders: int, warmup: int) -> Figures:
    settings = paper_settings()
    meter = CpuMeter()

    def build(publish: Callable[[object], None]) -> MeteredPaperBroker:
        return MeteredPaperBroker(
            meter,
            publish=meter.wrap(ENGINE, publish),
            instruments=InstrumentRegistry(settings.instruments),
            config=PaperBrokerConfig.from_mapping(settings.broker.options),
        )

    app = bootstrap(settings, broker=build)
    try:
        probes = Probes(app)
        tune_gc()
        await app.engine.start()
        _quote_the_market(app)
        figures = Figures()
        try:
            for index in range(warmup + orders):
                with _measured(figures, meter, keep=index >= warmup):
                    lap = probes.start()
                    order = _submit(app, meter, index)  # a paper market order fills within the call
                if not lap.position and not lap.ended:
                    raise RuntimeError(f"the paper broker did not fill {order.client_order_id} at once")
                _check_filled(app, order, lap)
                if index >= warmup:
                    figures.add(lap)
        finally:
            await app.engine.stop()
        return figures
    finally:
        app.close()


def _quote_the_market(app: App) -> None:
    """One trade and one quote: the paper broker fills against the quote (it never depletes)."""
    now = app.clock.now_ns()
    app.bus.publish(
        TradeTick.create(
            instrument_id=INSTRUMENT, price="30000", size="0.5", trade_id="1", ts_event=now, ts_init=now
        )
    )
    app.bus.publish(
        QuoteTick.create(
            instrument_id=INSTRUMENT,
            bid_price="29999",
            bid_size="5",
            ask_price="30001",
            ask_size="5",
            ts_event=now,
            ts_init=now,
        )
    )


# -- the report --------------------------------------------------------------------------------


def percentile(samples: list[int], fraction: float) -> float:
    """Nearest-rank percentile of ns samples, in µs."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1] / 1000


def mean_us(samples: list[int]) -> float:
    return sum(samples) / len(samples) / 1000


def _legs(prefix: str, legs: list[tuple[str, list[int]]], note: str) -> list[Result]:
    rows = []
    for name, samples in legs:
        rows.append(Result(SUITE, f"{prefix} {name} p50", percentile(samples, 0.5), "us", note))
        rows.append(Result(SUITE, f"{prefix} {name} p99", percentile(samples, 0.99), "us"))
        note = ""
    return rows


def report(binance: Figures, paper: Figures, clock_cost_ns: float) -> list[Result]:
    n = len(binance.round_trip)
    round_trip = mean_us(binance.round_trip)
    adapter = mean_us(binance.adapter_cpu)
    share = 100 * adapter / round_trip
    meter_us = binance.adapter_spans / n * clock_cost_ns / 1000
    rows = _legs(
        "binance",
        [
            ("submit -> accepted", binance.to_accepted),
            ("accepted -> first fill", binance.to_fill),
            ("first fill -> position", binance.fill_to_position),
            ("round trip (submit -> position)", binance.round_trip),
        ],
        f"{n} MARKET orders of {QUANTITY} over loopback, one at a time",
    )
    rows += [
        Result(SUITE, "binance adapter CPU per order p50", percentile(binance.adapter_cpu, 0.5), "us"),
        Result(
            SUITE,
            "binance adapter CPU per order mean",
            adapter,
            "us",
            f"{share:.0f}% of the mean round trip {round_trip:,.0f} us; ~{meter_us:.0f} us of it"
            " is the meter's own clock reads",
        ),
        Result(SUITE, "binance adapter CPU share of round trip", share, "%", "mean CPU / mean round trip"),
        Result(
            SUITE,
            "binance engine CPU per order mean",
            mean_us(binance.engine_cpu),
            "us",
            "bus handlers: OMS, reports, portfolio, risk",
        ),
        Result(
            SUITE,
            "binance engine-thread CPU per order mean",
            mean_us(binance.thread_cpu),
            "us",
            "all of it: adapter, engine, event loop and socket callbacks",
        ),
    ]
    rows += _legs(
        "paper",
        [("submit -> fill", paper.submit_to_fill), ("round trip (submit -> position)", paper.round_trip)],
        f"{len(paper.round_trip)} orders, in process",
    )
    rows.append(Result(SUITE, "paper broker CPU per order mean", mean_us(paper.adapter_cpu), "us"))
    return rows


def run(orders: int = ORDERS, warmup: int = WARMUP) -> list[Result]:
    """``orders`` MARKET orders through the Binance adapter, then through the paper broker."""
    if orders < 1 or warmup < 0:
        raise ValueError(f"orders must be at least 1 and warmup not negative (were {orders}, {warmup})")
    clock_cost_ns = CpuMeter().clock_cost_ns()
    binance = asyncio.run(_binance(orders, warmup))
    paper = asyncio.run(_paper(orders, warmup))
    return report(binance, paper, clock_cost_ns)
