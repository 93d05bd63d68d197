"""The live path end to end on 1,000,000 seeded trade ticks, in one process.

Each frame is a Binance combined-stream JSON payload (bytes), handled exactly as the feed
hands it on: ``parse_frame`` -> ``bus.publish`` -> market state, store, paper broker,
OMS (marks, stops), SMA-crossover strategy -> sizing -> risk -> order -> paper broker
fill -> position. One bookTicker frame follows every few trades so the paper broker has a
quote to fill against. The clock is the replayed event time (as in a backtest), so the
stale-data guard and the rate throttle see the same time as the events.
"""

from __future__ import annotations

import random
import resource
import time
from array import array
from collections.abc import Callable, Iterator
from statistics import median, quantiles
from typing import Any

import orjson
from prometheus_client import generate_latest

from adapters.brokers.paper import PaperBroker, PaperBrokerConfig
from adapters.exchanges.binance.parsing import parse_frame
from adapters.exchanges.binance.schemas import BookTicker
from application.backtest import ReplayClock
from application.engine import EngineStatus
from bench.harness import Result
from domain.instrument import InstrumentRegistry
from domain.market_data import TradeTick
from domain.orders import Order
from entrypoints.config import Settings, parse_settings
from entrypoints.container import bootstrap
from entrypoints.gc_tuning import tune_gc
from entrypoints.metrics import instrument

SUITE = "engine_e2e"
TICKS = 1_000_000
QUOTE_EVERY = 5
CHUNK = 50_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def bench_settings() -> Settings:
    return parse_settings(
        {
            "engine": {"order_id_prefix": "B"},
            "storage": {"kind": "memory"},  # the in-memory figure; bench/persistence.py swaps in SQL
            "account": {"balances": {"USDT": "1000000"}},
            "instruments": [
                {
                    "id": "BTCUSDT.BINANCE",
                    "base": "BTC",
                    "quote": "USDT",
                    "price_tick": "0.01",
                    "lot_size": "0.00001",
                    "min_quantity": "0.00001",
                    "min_notional": "5",
                }
            ],
            "broker": {"kind": "paper", "account": "margin", "maker_fee_bps": "2", "taker_fee_bps": "5"},
            "strategies": [
                {
                    "id": "sma",
                    "kind": "sma_crossover",
                    "instruments": ["BTCUSDT.BINANCE"],
                    "params": {"fast": 20, "slow": 100},
                    "sizing": {"kind": "fixed_quantity", "quantity": "0.01"},
                    "allow_short": True,
                }
            ],
            "risk": {
                "max_order_quantity": "1",
                "max_position_quantity": "0.05",
                "max_open_orders": 50,
                "max_orders_per_window": 1000,
                "window_ns": 60_000_000_000,
                "max_data_age_ns": 5_000_000_000,
                "price_band_fraction": "0.05",
            },
        },
        source="<bench>",
    )


def frames(ticks: int, seed: int = 7, every_ms: int = 1) -> Iterator[list[bytes]]:
    """Chunks of combined-stream frames: trades on a random walk, one every ``every_ms`` of
    event time, and a bookTicker every few trades."""
    rng = random.Random(seed)
    cents = 3_000_000
    chunk: list[bytes] = []
    update_id = 1
    for trade_id in range(1, ticks + 1):
        cents = max(100, cents + rng.choice((-3, -2, -1, -1, 0, 1, 1, 2, 3)))
        ms = START_MS + trade_id * every_ms
        price = f"{cents // 100}.{cents % 100:02d}"
        qty = f"0.{rng.randint(1, 99999):05d}"
        data = {
            "e": "trade", "E": ms, "s": "BTCUSDT", "t": trade_id, "p": price, "q": qty,
            "T": ms, "m": rng.random() < 0.5, "M": True,
        }  # fmt: skip
        chunk.append(orjson.dumps({"stream": "btcusdt@trade", "data": data}))
        if trade_id % QUOTE_EVERY == 0:
            update_id += 1
            bid, ask = cents - 1, cents + 1
            quote = {
                "u": update_id, "s": "BTCUSDT",
                "b": f"{bid // 100}.{bid % 100:02d}", "B": "1.50000000",
                "a": f"{ask // 100}.{ask % 100:02d}", "A": "1.20000000",
            }  # fmt: skip
            chunk.append(orjson.dumps({"stream": "btcusdt@bookTicker", "data": quote}))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentiles(samples: array[int]) -> tuple[float, float, float]:
    cuts = quantiles(samples, n=1000, method="inclusive")
    return cuts[499] / 1000, cuts[989] / 1000, cuts[998] / 1000


class ProbedPaperBroker(PaperBroker):
    """The paper broker, noting the moment each order reaches it: frame -> order submitted."""

    __slots__ = ("sent",)

    def __init__(self, sent: Callable[[], None], **options: Any) -> None:
        super().__init__(**options)
        self.sent = sent

    def submit(self, order: Order) -> None:
        self.sent()
        super().submit(order)


class _Lane:
    """One engine taking the frames chunk by chunk, timing itself. With ``metrics`` it is
    instrumented as ``tradeplane run`` instruments it when ``[metrics] listen`` is set (counting
    hooks, histograms, a registry with its collectors) and the frames go through the feeds'
    sink, as a feed's would; the frame's ``ts_init`` is then the moment it was taken up (perf
    counter), the clock the histograms read."""

    __slots__ = ("app", "busy_ns", "clock", "frame_start", "handled", "instrumentation", "metrics",
                 "publish", "seen", "to_order")  # fmt: skip

    def __init__(self, ticks: int, settings: Settings, *, metrics: bool, via_ingestion: bool = False) -> None:
        self.clock = clock = ReplayClock()
        self.handled = array("q", bytes(8 * ticks))
        self.to_order: array[int] = array("q")
        self.frame_start = 0
        self.seen = 0
        self.busy_ns = 0
        self.metrics = metrics

        def order_sent() -> None:
            self.to_order.append(time.perf_counter_ns() - self.frame_start)

        def probed(publish: Callable[[object], None]) -> ProbedPaperBroker:
            return ProbedPaperBroker(
                order_sent,
                publish=publish,
                instruments=InstrumentRegistry(settings.instruments),
                config=PaperBrokerConfig.from_mapping(settings.broker.options),
            )

        in_memory = settings.storage.kind == "memory"
        self.app = app = bootstrap(settings, clock=clock, feeds=[], broker=probed if in_memory else None)
        self.instrumentation = instrument(app, now_ns=time.perf_counter_ns) if metrics else None
        # Through the ingestion's sink as a feed's frames go (metrics wrap it), or straight to the bus.
        self.publish = app.ingestion.deliver if metrics or via_ingestion else app.bus.publish

    def take(self, chunk: list[bytes]) -> None:
        perf = time.perf_counter_ns
        publish, clock, handled, metrics = self.publish, self.clock, self.handled, self.metrics
        trade_type, quote_type = TradeTick, BookTicker
        seen = self.seen
        chunk_start = perf()
        for frame in chunk:
            start = perf()
            self.frame_start = start
            event = parse_frame(frame, start if metrics else clock.now)
            kind = type(event)
            if kind is trade_type:
                clock.now = event.ts_event  # type: ignore[union-attr]
                publish(event)  # type: ignore[arg-type]
                handled[seen] = perf() - start
                seen += 1
            elif kind is quote_type:
                publish(event.quote)  # type: ignore[union-attr]
        if self.instrumentation is not None:  # as the endpoint does every FOLD_INTERVAL_S
            self.instrumentation.recorder.fold()
        self.busy_ns += perf() - chunk_start
        self.seen = seen

    def finish(self) -> tuple[EngineStatus, str]:
        """Flush the stores (timed: a store that batches writes pays here, at a graceful stop)
        and close the engine; its status, and what its metrics counted."""
        perf = time.perf_counter_ns
        flush_start = perf()
        self.app.market_data.flush()
        self.busy_ns += perf() - flush_start
        note = ""
        if self.instrumentation is not None:
            scrape_start = perf()
            exposition = generate_latest(self.instrumentation.registry)
            scrape_us = (perf() - scrape_start) / 1000
            recorder = self.instrumentation.recorder
            note = (
                f"histograms: {recorder.frame_to_handled.count:,} frames,"
                f" {recorder.frame_to_order.count:,} orders; the last scrape {scrape_us:,.0f} us"
                f" ({len(exposition):,} bytes)"
            )
            self.instrumentation.detach()
        status = self.app.engine.status()
        self.app.close()
        return status, note

    @property
    def rate(self) -> float:
        return self.seen / (self.busy_ns / 1e9)


def _paired(ticks: int, settings: Settings) -> tuple[_Lane, _Lane, float, str]:
    """Metrics off and on side by side: two engines, both fed through the ingestion's sink as
    feeds feed them, take the same chunks in turn (which goes first alternates), so the drift
    of a long run (heap, caches, other work on the machine) weighs on both alike. Returns (off,
    on, the median over pairs of chunks of how much more time metrics took in %, what the
    metrics counted); the median, as a collector pause lands in one engine's chunk or the other's."""
    off = _Lane(ticks, settings, metrics=False, via_ingestion=True)
    on = _Lane(ticks, settings, metrics=True)
    tune_gc()
    extra: list[float] = []
    for index, chunk in enumerate(frames(ticks)):
        before = off.busy_ns, on.busy_ns
        for lane in (off, on) if index % 2 == 0 else (on, off):
            lane.take(chunk)
        extra.append(100 * ((on.busy_ns - before[1]) / (off.busy_ns - before[0]) - 1))
    off.finish()
    _, note = on.finish()
    return off, on, median(extra), note


def run(ticks: int = TICKS, settings: Settings | None = None) -> list[Result]:
    """The live path on ``settings`` (default: in-memory stores). With in-memory stores the paper
    broker notes when each order reaches it, and the cost of ``[metrics]`` is measured after,
    side by side (``_paired``); with SQL stores the configured broker runs as is (its venue log
    is part of the cost) and only the throughput is measured."""
    settings = settings or bench_settings()
    lane = _Lane(ticks, settings, metrics=False)
    seen = 0
    rss_warm = 0.0
    warm_at = ticks // 4
    tune_gc()  # as `tradeplane run` does
    for chunk in frames(ticks):
        lane.take(chunk)
        if not rss_warm and lane.seen >= warm_at:
            rss_warm = _rss_mib()  # the market-data buffer is full by now
    status, _ = lane.finish()
    rss_end = _rss_mib()
    seen, to_order = lane.seen, lane.to_order
    p50, p99, p999 = _percentiles(lane.handled[:seen])
    o50, o99, o999 = _percentiles(to_order) if len(to_order) > 10 else (0.0, 0.0, 0.0)
    note = f"{seen:,} trades, {status.orders_submitted} orders, {status.fills} fills"
    results = [
        Result(SUITE, "trade ticks per second (whole path)", lane.rate, "ticks/s", note),
        Result(SUITE, "frame -> handler done p50", p50, "us"),
        Result(SUITE, "frame -> handler done p99", p99, "us"),
        Result(SUITE, "frame -> handler done p99.9", p999, "us"),
        Result(SUITE, "frame -> order submitted p50", o50, "us", f"{len(to_order)} orders"),
        Result(SUITE, "frame -> order submitted p99", o99, "us"),
        Result(SUITE, "frame -> order submitted p99.9", o999, "us"),
        Result(SUITE, f"peak RSS after {warm_at:,} ticks", rss_warm, "MiB", "market-data buffer full"),
        Result(
            SUITE,
            f"peak RSS after {seen:,} ticks",
            rss_end,
            "MiB",
            f"growth = the in-memory trade store: {status.orders_submitted} orders and their fills",
        ),
    ]
    if settings.storage.kind != "memory":
        return results
    off, on, extra, counted = _paired(ticks, settings)
    slower = 100 * (1 - on.rate / off.rate)
    h50, h99, _ = _percentiles(on.handled[: on.seen])
    m50, m99, _ = _percentiles(on.to_order) if len(on.to_order) > 10 else (0.0, 0.0, 0.0)
    beside = (
        f"{slower:+.1f} % slower than the same ticks without metrics in the same run"
        f" ({off.rate:,.0f} ticks/s), {extra:+.1f} % more time per chunk (median); {counted}"
    )
    return [
        *results,
        Result(SUITE, "trade ticks per second, metrics on", on.rate, "ticks/s", beside),
        Result(SUITE, "frame -> handler done p50, metrics on", h50, "us"),
        Result(SUITE, "frame -> handler done p99, metrics on", h99, "us"),
        Result(SUITE, "frame -> order submitted p50, metrics on", m50, "us", f"{len(on.to_order)} orders"),
        Result(SUITE, "frame -> order submitted p99, metrics on", m99, "us"),
    ]
