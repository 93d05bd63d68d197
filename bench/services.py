"""The three services over Redis Streams beside the single process, on one seeded workload.

The same trades of three instruments (an SMA crossover on each, a few thousand orders) go
through one process's engine, then through ingestion's shard publisher, one or two strategy
workers and execution: the three services as tasks of one process, over the real Redis (at
127.0.0.1:6379). Ingestion's publisher with its write-behind thread, the workers' and
execution's readers run as they do in their own processes, but share this interpreter and its
GIL; execution's clock follows event time, as in a backtest.

Measured, side by side:

- events/s: one process from the first event published to the last handled; the services from
  the first event published to the shard streams until execution has applied the last one
  and traded every decision (publishing as fast as ingestion's outbox takes them);
- event -> order submitted: for each order, the wall time (monotonic ns) from its market event
  being published (the bus in one process, ingestion's publisher for the services) to the
  order being submitted at execution (its ``OrderUpdated`` SUBMITTED, attributed to the
  ``SignalEmitted`` just before it). For the services the events are then paced well below
  saturation, so the figure is mostly what the hops cost, not the length of a queue, and the
  publisher writes each event at once in the caller (as a separate ingestion process's idle
  writer thread would), so the GIL this process shares adds no thread switch to the hop.

On two shared cores this is not a speed-up: the point is that the split works at volume and
what a hop costs. Each run has its own Redis key prefix, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import uuid
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import quantiles
from typing import Any

import redis

from adapters.memory import ManualClock
from adapters.redis.connection import sync_client
from adapters.redis.shard_publisher import ShardPublisher
from adapters.redis.shards import ShardLayout
from application.messages import OrderUpdated, SignalEmitted
from bench.harness import Result
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent, TradeTick
from domain.orders import OrderStatus
from domain.values import AggressorSide
from entrypoints.config import Settings, parse_settings
from entrypoints.container import App, bootstrap
from entrypoints.gc_tuning import tune_gc
from entrypoints.services.execution import ExecutionShards, detach_strategies
from entrypoints.services.strategy_worker import StrategyWorker
from entrypoints.services.topology import shard_layout, shard_map

SUITE = "services"
REDIS_URL = "redis://127.0.0.1:6379/0"
INSTRUMENTS = ("BTCUSDT.BINANCE", "ETHUSDT.BINANCE", "SOLUSDT.BINANCE")
EVENTS = 120_000
PACED_EVENTS = 12_000
PACED_RATE = 1_000
"""Events/s for the latency runs: about a ninth of what the services take flat out on two cores
(the latency still grows with the pace: every hop queues on the one event loop)."""
CHUNK = 1_000
SETTLE_TIMEOUT_S = 120.0
START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def bench_settings(prefix: str) -> Settings:
    """Three instruments, an SMA crossover on each; every portfolio-wide limit out of reach, so
    the interleaving of the shards changes nothing traded."""
    instrument = {"price_tick": "0.01", "lot_size": "0.001", "min_quantity": "0.001", "min_notional": "1"}
    return parse_settings(
        {
            "engine": {"name": "bench-services", "order_id_prefix": "BS"},
            "account": {"balances": {"USDT": "100000000"}},
            "instruments": [
                {"id": iid, "base": iid.split("USDT")[0], "quote": "USDT", **instrument}
                for iid in INSTRUMENTS
            ],
            "broker": {
                "kind": "paper",
                "last_trade_liquidity": True,
                "taker_fee_bps": "10",
                "account": "margin",
            },
            "strategies": [
                {
                    "id": f"sma-{iid.split('USDT')[0].lower()}",
                    "kind": "sma_crossover",
                    "instruments": [iid],
                    "params": {"fast": 10, "slow": 40},
                    "sizing": {"kind": "fixed_quantity", "quantity": "0.01"},
                    "allow_short": True,
                }
                for iid in INSTRUMENTS
            ],
            "risk": {
                "max_order_quantity": "1",
                "max_position_quantity": "1",
                "max_open_orders": 1000,
                "max_orders_per_window": 100_000_000,
                "window_ns": 60_000_000_000,
                "max_data_age_ns": 3_600_000_000_000,
                "price_band_fraction": "0.5",
                "daily_loss_limit": "100000000",
                "max_drawdown_fraction": "0.99",
            },
            "storage": {"kind": "memory"},
            "redis": {"url": REDIS_URL, "prefix": prefix},
            "bus": {
                "kind": "redis",
                "shards": 4,
                "market_maxlen": 10 * EVENTS,  # never trimmed under a reader during the run
                "decision_wait_ms": 60_000,  # execution always waits for the workers' decisions
                "lease_ttl_ms": 5_000,
            },
        },
        source="<bench>",
    )


def market(events: int, seed: int = 17) -> list[MarketEvent]:
    """Trades of the three instruments interleaved at random, each a noisy walk; event times
    strictly increase, so a signal's ``ts_event`` names the event it was decided on."""
    rng = random.Random(seed)
    prices = {"BTCUSDT.BINANCE": 30_000.0, "ETHUSDT.BINANCE": 2_000.0, "SOLUSDT.BINANCE": 100.0}
    out: list[MarketEvent] = []
    ts = START_NS
    for n in range(events):
        iid = rng.choice(INSTRUMENTS)
        prices[iid] *= 1 + rng.gauss(0, 0.001)
        ts += rng.randint(1, 20_000_000)
        out.append(
            TradeTick.create(
                instrument_id=InstrumentId(iid),
                price=Decimal(f"{prices[iid]:.2f}"),
                size=Decimal("0.5"),
                aggressor=AggressorSide.BUYER if rng.random() < 0.5 else AggressorSide.SELLER,
                trade_id=str(n),
                ts_event=ts,
                ts_init=ts,
            )
        )
    return out


class EventClock(ManualClock):
    """A manual clock moved to each event's time; it never goes back (shards interleave)."""

    def follow(self, ts_ns: int) -> None:
        if ts_ns > self.now_ns():
            self.set(ts_ns)


class OrderProbe:
    """Event -> order submitted, on an engine's bus: ``published[i]`` is when event ``i`` was
    published (perf counter ns); each SUBMITTED order is charged to the signal emitted just
    before it (the engine emits a signal, then sizes and submits its order, in one call)."""

    def __init__(self, app: App, events: Sequence[MarketEvent]) -> None:
        self.published = array("q", bytes(8 * len(events)))
        self.latencies: array[int] = array("q")
        self._index = {event.ts_event: n for n, event in enumerate(events)}
        self._source = -1
        app.bus.subscribe(SignalEmitted, self._on_signal)
        app.bus.subscribe(OrderUpdated, self._on_order)

    def _on_signal(self, message: SignalEmitted) -> None:
        self._source = self._index.get(message.signal.ts_event, -1)

    def _on_order(self, message: OrderUpdated) -> None:
        if message.event.status is OrderStatus.SUBMITTED and self._source >= 0:
            self.latencies.append(time.perf_counter_ns() - self.published[self._source])


@dataclass(frozen=True, slots=True)
class Run:
    rate: float
    latencies: array[int]
    orders: int
    note: str


def one_process(prefix: str, events: Sequence[MarketEvent]) -> Run:
    """The reference: one engine fed the events on its bus, its clock on event time."""
    clock = EventClock()
    app = bootstrap(bench_settings(prefix), feeds=[], clock=clock, record_market_data=False)
    probe = OrderProbe(app, events)
    published, perf, publish = probe.published, time.perf_counter_ns, app.bus.publish
    tune_gc()
    start = perf()
    for n, event in enumerate(events):
        clock.follow(event.ts_event)
        published[n] = perf()
        publish(event)
    elapsed = perf() - start
    status = app.engine.status()
    app.close()
    return Run(
        len(events) / (elapsed / 1e9),
        probe.latencies,
        status.orders_submitted,
        f"{status.orders_submitted:,} orders, {status.fills:,} fills",
    )


async def services(prefix: str, events: Sequence[MarketEvent], *, workers: int, rate: float | None) -> Run:
    """Ingestion's publisher, ``workers`` strategy workers and execution as tasks of this process
    over the real Redis; ``rate`` paces publishing (events/s), None publishes flat out."""
    settings = bench_settings(prefix)
    clock = EventClock()
    app = bootstrap(settings, feeds=[], clock=clock, record_market_data=False)
    detach_strategies(app)
    probe = OrderProbe(app, events)

    def apply(event: Any) -> None:
        clock.follow(event.ts_event)
        app.bus.publish(event)

    shards = ExecutionShards(app, settings, apply_market=apply)
    pool = [StrategyWorker(settings, worker_id=f"bench-worker-{n}") for n in range(workers)]
    layout = shard_layout(settings)
    admin = sync_client(settings.redis.url, timeout_s=2.0)
    publisher = ShardPublisher(
        sync_client(settings.redis.url, timeout_s=2.0),
        layout,
        shard_map(settings, layout),
        maxlen=settings.bus.market_maxlen,
        max_pending=len(events) + 1,  # nothing dropped while the writer thread catches up
        background=rate is None,  # paced: each event written at once, in the caller
        name="bench-ingestion",
    )
    tasks = [asyncio.create_task(worker.run()) for worker in pool]
    shards.start()
    try:
        await _until(lambda: _ready(admin, layout, pool), 30.0, "groups and balanced leases")
        tune_gc()
        start = time.perf_counter_ns()
        await _publish(publisher, events, probe.published, rate)

        def settled() -> bool:
            status = shards.status()
            waiting = sum(reader.merge.waiting for reader in shards.readers)
            return (
                status.market == len(events)
                and not waiting
                and _decided(pool) == status.traded + status.duplicates
            )

        await _until(settled, SETTLE_TIMEOUT_S, "execution settled", poll_s=0.005)
        elapsed = time.perf_counter_ns() - start
        status, engine = shards.status(), app.engine.status()
        split = "/".join(str(len(w.running)) for w in pool)
    finally:
        for worker in pool:
            worker.stop()
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10.0)
        await shards.stop()
        publisher.close()
        admin.close()
        app.close()
    note = (
        f"{engine.orders_submitted:,} orders, {engine.fills:,} fills; shards per worker {split};"
        f" late {status.late}, duplicates {status.duplicates}"
    )
    return Run(len(events) / (elapsed / 1e9), probe.latencies, engine.orders_submitted, note)


async def _publish(
    publisher: ShardPublisher, events: Sequence[MarketEvent], published: array[int], rate: float | None
) -> None:
    """Each event to ingestion's publisher, its moment noted; flat out (yielding to the other
    tasks every ``CHUNK`` events) or paced at ``rate`` events/s."""
    perf = time.perf_counter_ns
    if rate is None:
        for n, event in enumerate(events):
            published[n] = perf()
            publisher.publish(event)
            if n % CHUNK == CHUNK - 1:
                await asyncio.sleep(0)
        return
    start, n = perf(), 0
    while n < len(events):
        due = min(len(events), int((perf() - start) / 1e9 * rate) + 1)
        while n < due:
            published[n] = perf()
            publisher.publish(events[n])
            n += 1
        await asyncio.sleep(0.002)


def _decided(pool: list[StrategyWorker]) -> int:
    return sum(w.status.signals + sum(r.stats.signals for r, _ in w.running.values()) for w in pool)


def _ready(admin: Any, layout: ShardLayout, pool: list[StrategyWorker]) -> bool:
    """Every shard read by a worker and by execution, the shards split evenly among the workers."""
    shards = layout.shards
    for shard in range(shards):
        stream = layout.market_stream(shard)
        if not admin.exists(stream):
            return False
        if not {b"strategy", b"execution"} <= {group["name"] for group in admin.xinfo_groups(stream)}:
            return False
    held = [len(w.running) for w in pool]
    return sum(held) == shards and max(held) <= math.ceil(shards / len(pool))


async def _until(condition: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not reached within {timeout_s} s")
        await asyncio.sleep(poll_s)


@contextlib.contextmanager
def _prefix() -> Iterator[str]:
    """A fresh Redis key prefix, whose keys are deleted afterwards."""
    prefix = f"tradeplane-bench:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def _p(samples: array[int]) -> tuple[float, float]:
    """(p50, p99) in µs."""
    if len(samples) < 10:
        return math.nan, math.nan
    cuts = quantiles(samples, n=100, method="inclusive")
    return cuts[49] / 1000, cuts[98] / 1000


def run(
    events: int = EVENTS, paced_events: int = PACED_EVENTS, paced_rate: float = PACED_RATE
) -> list[Result]:
    workload = market(events)
    paced = workload[:paced_events]
    with _prefix() as prefix:
        single = one_process(prefix, workload)
    s50, s99 = _p(single.latencies)
    results = [
        Result(
            SUITE, "single process: events/s", single.rate, "events/s", f"{events:,} trades; {single.note}"
        ),
        Result(SUITE, "single process: event -> order p50", s50, "us", f"{len(single.latencies):,} orders"),
        Result(SUITE, "single process: event -> order p99", s99, "us"),
    ]
    for workers in (1, 2):
        label = f"services, {workers} worker{'s' if workers > 1 else ''}"
        with _prefix() as prefix:
            flat = asyncio.run(services(prefix, workload, workers=workers, rate=None))
        with _prefix() as prefix:
            slow = asyncio.run(services(prefix, paced, workers=workers, rate=paced_rate))
        p50, p99 = _p(slow.latencies)
        if flat.orders != single.orders:
            raise RuntimeError(f"{label}: {flat.orders} orders, one process {single.orders}")
        pace = f"{paced_events:,} trades paced at {paced_rate:,.0f}/s; {len(slow.latencies):,} orders"
        results += [
            Result(SUITE, f"{label}: events/s end to end", flat.rate, "events/s", flat.note),
            Result(SUITE, f"{label}: event -> order p50", p50, "us", pace),
            Result(SUITE, f"{label}: event -> order p99", p99, "us"),
            Result(SUITE, f"{label}: hops add (p50)", p50 - s50, "us", "vs the single process"),
        ]
    return results
