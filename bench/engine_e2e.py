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
from dataclasses import dataclass
from statistics import quantiles
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


def frames(ticks: int, seed: int = 7) -> Iterator[list[bytes]]:
    """Chunks of combined-stream frames: trades on a random walk, a bookTicker every few trades."""
    rng = random.Random(seed)
    cents = 3_000_000
    chunk: list[bytes] = []
    update_id = 1
    for trade_id in range(1, ticks + 1):
        cents = max(100, cents + rng.choice((-3, -2, -1, -1, 0, 1, 1, 2, 3)))
        ms = START_MS + trade_id
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


@dataclass(slots=True)
class _Pass:
    """What one pass over the ticks measured."""

    seen: int
    busy_ns: int
    handled: array[int]
    to_order: array[int]
    rss_warm: float
    rss_end: float
    warm_at: int
    status: EngineStatus
    note: str = ""


def _live_path(ticks: int, settings: Settings, *, metrics: bool) -> _Pass:
    """One pass over ``ticks``. With ``metrics`` the engine is instrumented as ``tradeplane run``
    instruments it when ``[metrics] listen`` is set (counting hooks, histograms, a registry with
    its collectors) and the frames go through the feeds' sink, as a feed's would; the frame's
    ``ts_init`` is then the moment it was taken up (perf counter), the clock the histograms read."""
    clock = ReplayClock()
    handled = array("q", bytes(8 * ticks))
    to_order: array[int] = array("q")
    frame_start = [0]

    def order_sent() -> None:
        to_order.append(time.perf_counter_ns() - frame_start[0])

    def probed(publish: Callable[[object], None]) -> ProbedPaperBroker:
        return ProbedPaperBroker(
            order_sent,
            publish=publish,
            instruments=InstrumentRegistry(settings.instruments),
            config=PaperBrokerConfig.from_mapping(settings.broker.options),
        )

    in_memory = settings.storage.kind == "memory"
    app = bootstrap(settings, clock=clock, feeds=[], broker=probed if in_memory else None)
    instrumentation = instrument(app, now_ns=time.perf_counter_ns) if metrics else None
    # As the feeds do with metrics on (through the ingestion's sink); straight to the bus without.
    publish = app.ingestion.deliver if metrics else app.bus.publish
    perf = time.perf_counter_ns
    trade_type, quote_type = TradeTick, BookTicker
    seen = 0
    busy_ns = 0
    rss_warm = 0.0
    warm_at = ticks // 4
    tune_gc()  # as `tradeplane run` does
    for chunk in frames(ticks):
        chunk_start = perf()
        for frame in chunk:
            start = perf()
            frame_start[0] = start
            event = parse_frame(frame, start if metrics else clock.now)
            kind = type(event)
            if kind is trade_type:
                clock.now = event.ts_event  # type: ignore[union-attr]
                publish(event)  # type: ignore[arg-type]
                handled[seen] = perf() - start
                seen += 1
            elif kind is quote_type:
                publish(event.quote)  # type: ignore[union-attr]
        busy_ns += perf() - chunk_start
        if not rss_warm and seen >= warm_at:
            rss_warm = _rss_mib()  # the market-data buffer is full by now
    flush_start = perf()
    app.market_data.flush()  # a store that batches writes pays here (graceful stop)
    busy_ns += perf() - flush_start
    rss_end = _rss_mib()
    note = ""
    if instrumentation is not None:
        scrape_start = perf()
        exposition = generate_latest(instrumentation.registry)
        scrape_us = (perf() - scrape_start) / 1000
        recorder = instrumentation.recorder
        note = (
            f"histograms: {recorder.frame_to_handled.count:,} frames, {recorder.frame_to_order.count:,}"
            f" orders; one scrape {scrape_us:,.0f} us, {len(exposition):,} bytes"
        )
        instrumentation.detach()
    status = app.engine.status()
    app.close()
    return _Pass(seen, busy_ns, handled, to_order, rss_warm, rss_end, warm_at, status, note)


def run(ticks: int = TICKS, settings: Settings | None = None) -> list[Result]:
    """The live path on ``settings`` (default: in-memory stores). With in-memory stores the paper
    broker notes when each order reaches it, and a second pass with metrics on follows (the
    cost of ``[metrics]``, side by side); with SQL stores the configured broker runs as is (its
    venue log is part of the cost) and only the throughput is measured."""
    settings = settings or bench_settings()
    off = _live_path(ticks, settings, metrics=False)
    seen, status, to_order = off.seen, off.status, off.to_order
    p50, p99, p999 = _percentiles(off.handled[:seen])
    o50, o99, o999 = _percentiles(to_order) if len(to_order) > 10 else (0.0, 0.0, 0.0)
    note = f"{seen:,} trades, {status.orders_submitted} orders, {status.fills} fills"
    results = [
        Result(SUITE, "trade ticks per second (whole path)", seen / (off.busy_ns / 1e9), "ticks/s", note),
        Result(SUITE, "frame -> handler done p50", p50, "us"),
        Result(SUITE, "frame -> handler done p99", p99, "us"),
        Result(SUITE, "frame -> handler done p99.9", p999, "us"),
        Result(SUITE, "frame -> order submitted p50", o50, "us", f"{len(to_order)} orders"),
        Result(SUITE, "frame -> order submitted p99", o99, "us"),
        Result(SUITE, "frame -> order submitted p99.9", o999, "us"),
        Result(
            SUITE, f"peak RSS after {off.warm_at:,} ticks", off.rss_warm, "MiB", "market-data buffer full"
        ),
        Result(
            SUITE,
            f"peak RSS after {seen:,} ticks",
            off.rss_end,
            "MiB",
            f"growth = the in-memory trade store: {status.orders_submitted} orders and their fills",
        ),
    ]
    if settings.storage.kind != "memory":
        return results
    on = _live_path(ticks, settings, metrics=True)
    rate_on = on.seen / (on.busy_ns / 1e9)
    slower = 100 * (1 - rate_on / (seen / (off.busy_ns / 1e9)))
    m50, m99, _ = _percentiles(on.to_order) if len(on.to_order) > 10 else (0.0, 0.0, 0.0)
    h50, h99, _ = _percentiles(on.handled[: on.seen])
    return [
        *results,
        Result(
            SUITE,
            "trade ticks per second, metrics on",
            rate_on,
            "ticks/s",
            f"{slower:+.1f} % slower than without; {on.note}",
        ),
        Result(SUITE, "frame -> handler done p50, metrics on", h50, "us"),
        Result(SUITE, "frame -> handler done p99, metrics on", h99, "us"),
        Result(SUITE, "frame -> order submitted p50, metrics on", m50, "us", f"{len(on.to_order)} orders"),
        Result(SUITE, "frame -> order submitted p99, metrics on", m99, "us"),
    ]
