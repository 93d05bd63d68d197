"""Backtest and live are one path: the same recorded ticks give the same signals, orders and fills.

The ticks go once through ``tradeplane backtest`` (``run_backtest`` on a Binance trades CSV)
and once live: the exchange simulator replays them over a loopback WebSocket as
``btcusdt@trade`` frames, the real ``BinanceMarketDataFeed`` parses them, and a running engine
built from the very settings of the backtest (``settings_for``, plus a ``[feeds.binance]``
table pointing at the simulator) trades them on the paper broker.

What is made equal, and why:

* Streams: trades only. The backtest's data holds trades and nothing else; a live quote or
  book would let the paper broker fill against it where the backtest fills at the last
  trade (``last_trade_liquidity``), which is a different market, not a different path.
* Clock: the backtest's clock is the replayed event's time (``ReplayClock``, moved to each
  event's ``ts_event`` before it is published). The live engine here runs on a clock that
  follows the event time the same way: a wrapper around the real feed moves a
  ``ManualClock`` to each event's ``ts_event`` just before the event reaches the bus. A
  wall clock could not agree: the engine's time-dependent rules (the order-rate throttle,
  the stale-data guard, order timestamps) would see network and scheduling delays that no
  recording holds. With event time they see what the backtest sees, and the second
  scenario makes them bite (rate-limit rejections whose reasons name milliseconds, trailing
  stops). The feed itself still stamps ``ts_init`` with the clock's reading on receipt,
  which is the previous event's time; nothing compared here reads a tick's ``ts_init``.
* Ids: the same settings give the same client order id prefix (``BT``), and the in-memory
  stores give the paper venue the same id prefix, so every id matches too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.exchanges.binance import parse_frame
from adapters.exchanges.simulator import ExchangeSimulator, RecordedMarket
from adapters.historical import read_merged
from adapters.memory import ManualClock
from application.messages import IntentRejected, SignalEmitted
from application.ports import FeedHealth, MarketDataFeed
from domain.market_data import MarketEvent, TradeTick
from domain.orders import Fill
from domain.signals import Signal
from entrypoints import container
from entrypoints.backtest.outcome import BacktestOutcome
from entrypoints.backtest.run import run_backtest
from entrypoints.backtest.settings import settings_for
from entrypoints.backtest.spec import BacktestSpec
from entrypoints.config import FeedSettings, Settings
from entrypoints.container import App
from tests.e2e.recorded_ticks import (
    RecordedTrade,
    swinging_trades,
    write_trade_recording,
    write_trades_csv,
)

SYMBOL = "BTCUSDT"
INSTRUMENT = "BTCUSDT.BINANCE"
TRADES = 3000
SEED = 20240101
WAIT_S = 20.0
"""Longest wait for any one step of the live run (connect, replay); it takes well under a second."""

RISK_AND_STOPS = f"""
[[instruments]]
id = "{INSTRUMENT}"
base = "BTC"
quote = "USDT"
price_tick = "0.01"
lot_size = "0.00001"
min_quantity = "0.00001"
min_notional = "5"

[risk]
max_orders_per_window = 3
window_ns = 60_000_000_000
max_data_age_ns = 1_000_000_000
price_band_fraction = "0.01"

[stops]
trailing_fraction = "0.003"
"""
"""Time-dependent rules that bite on this series: the throttle refuses and retries by the
millisecond, trailing stops exit between crossovers."""


# -- the two paths ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Tape:
    """What one engine did: its signals and risk refusals as published, orders and fills as journaled."""

    app: App
    signals: list[Signal] = field(default_factory=list)
    refusals: list[IntentRejected] = field(default_factory=list)

    @classmethod
    def attach(cls, app: App) -> Tape:
        tape = cls(app)
        app.bus.subscribe(SignalEmitted, lambda message: tape.signals.append(message.signal))
        app.bus.subscribe(IntentRejected, tape.refusals.append)
        return tape

    def orders(self) -> list[tuple[Any, ...]]:
        return [
            (
                order.client_order_id,
                order.strategy_id,
                order.instrument_id,
                order.side,
                order.order_type,
                order.time_in_force,
                order.quantity,
                order.price,
                order.reduce_only,
                order.ts_init,
                order.status,
                order.filled_quantity,
            )
            for order in self.app.trades.list_orders()
        ]

    def fills(self) -> list[Fill]:
        return list(self.app.trades.list_fills())


class EventTimedFeed:
    """A feed whose events move ``clock`` to their ``ts_event`` on their way to the bus.

    This is what ``BacktestRunner`` does for each replayed event (``clock.now = ts_event``,
    then publish), done around a live feed; the feed itself is untouched.
    """

    def __init__(self, feed: MarketDataFeed, clock: ManualClock) -> None:
        self.name = feed.name
        self._feed = feed
        self._clock = clock

    async def run(self, sink: Callable[[MarketEvent], None]) -> None:
        clock = self._clock

        def timed(event: MarketEvent) -> None:
            if event.ts_event > clock.now_ns():
                clock.set(event.ts_event)
            sink(event)

        await self._feed.run(timed)

    async def stop(self) -> None:
        await self._feed.stop()

    def health(self) -> FeedHealth:
        return self._feed.health()


def run_backtest_path(spec: BacktestSpec, monkeypatch: pytest.MonkeyPatch) -> tuple[BacktestOutcome, Tape]:
    """``run_backtest`` as the CLI calls it; the engine it bootstraps is watched, not changed."""
    tapes: list[Tape] = []
    real_bootstrap = container.bootstrap

    def watched(settings: Settings, **kwargs: Any) -> App:
        app = real_bootstrap(settings, **kwargs)
        tapes.append(Tape.attach(app))
        return app

    with monkeypatch.context() as patch:
        patch.setattr(container, "bootstrap", watched)
        outcome = run_backtest(spec)
    assert len(tapes) == 1
    return outcome, tapes[0]


async def _wait_until(condition: Callable[[], bool], what: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {WAIT_S}s: {what()}")
        await asyncio.sleep(0.01)


async def run_live_path(settings: Settings, recording: Path, trades: int) -> Tape:
    """The simulator replays ``recording`` to a running engine built on ``settings`` plus a feed."""
    simulator = ExchangeSimulator(RecordedMarket(recording), rate=0.0, ping_interval=None)
    simulator.pause()  # nothing is published before the engine has subscribed
    await simulator.start()
    app: App | None = None
    try:
        live = replace(
            settings,
            feeds=(
                FeedSettings(
                    kind="binance",
                    options={
                        "instrument_ids": [INSTRUMENT],
                        "ws_url": simulator.ws_url,
                        "rest_url": simulator.rest_url,
                        "streams": ["trade"],
                        "use_system_proxy": False,
                        "reconnect_initial_delay": 0.1,
                        "reconnect_max_delay": 1.0,
                        "open_timeout": 5.0,
                    },
                ),
            ),
        )
        clock = ManualClock()
        feeds = [EventTimedFeed(feed, clock) for feed in container.build_feeds(live, clock)]
        app = running = container.bootstrap(live, clock=clock, feeds=feeds)
        tape = Tape.attach(running)
        await running.engine.start()
        await _wait_until(
            lambda: simulator.subscriptions() == [[f"{SYMBOL.lower()}@trade"]],
            lambda: f"the feed subscribed (subscriptions {simulator.subscriptions()})",
        )
        simulator.resume()
        await _wait_until(
            lambda: running.market.trades_seen >= trades,
            lambda: f"{trades} trades reached the engine (only {running.market.trades_seen})",
        )
        await running.engine.stop(cancel_open_orders=False)  # the backtest cancels nothing at its end
        health = feeds[0].health()
        assert (health.malformed, health.reconnects) == (0, 0), health
        assert running.market.trades_seen == trades
        assert (running.market.quotes, running.market.books) == ({}, {}), "trades only, as in the backtest"
        return tape
    finally:
        if app is not None:
            await app.engine.stop(cancel_open_orders=False)
            app.close()
        await simulator.stop()


# -- the test --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded() -> list[RecordedTrade]:
    return swinging_trades(TRADES, seed=SEED)


@pytest.fixture
def files(tmp_path: Path, recorded: list[RecordedTrade]) -> tuple[Path, Path]:
    csv = write_trades_csv(tmp_path / f"{SYMBOL}-trades-2024-01.csv", recorded)
    recording = write_trade_recording(tmp_path / f"{SYMBOL}-trades.jsonl", SYMBOL, recorded)
    return csv, recording


def _frames(recording: Path) -> Iterator[bytes]:
    with recording.open("rb") as lines:
        yield from (line.rstrip(b"\n") for line in lines if line.strip())


def test_the_csv_and_the_recording_hold_the_same_ticks(files: tuple[Path, Path]) -> None:
    csv, recording = files

    from_csv = list(read_merged([csv], INSTRUMENT))
    from_frames = [parse_frame(raw, 0) for raw in _frames(recording)]

    assert len(from_csv) == TRADES
    assert all(type(tick) is TradeTick for tick in from_frames)
    assert [tick._replace(ts_init=0) for tick in from_csv] == from_frames


def _round_trips(fills: list[Fill]) -> int:
    position, trips = Decimal(0), 0
    for fill in fills:
        before, position = position, position + fill.signed_quantity
        trips += before != 0 and position == 0
    return trips


@pytest.mark.parametrize("risk_config", [None, RISK_AND_STOPS], ids=["cli-defaults", "risk-limits-and-stops"])
def test_a_backtest_and_a_live_run_of_the_same_ticks_give_the_same_signals_orders_and_fills(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, risk_config: str | None
) -> None:
    csv, recording = files
    config = None
    if risk_config is not None:
        config = tmp_path / "risk.toml"
        config.write_text(risk_config)
    spec = BacktestSpec(
        data=(str(csv),),
        strategy="sma_crossover",
        params={"fast": "10", "slow": "40"},
        instrument=INSTRUMENT,
        capital=Decimal(10_000),
        fees_bps=Decimal(10),
        config=None if config is None else str(config),
    )

    outcome, backtest = run_backtest_path(spec, monkeypatch)
    live = asyncio.run(asyncio.wait_for(run_live_path(settings_for(spec, INSTRUMENT), recording, TRADES), 60))

    # The backtest's own report agrees with what its engine journaled.
    result = outcome.result
    assert result.events == TRADES
    assert result.handler_errors == 0
    assert result.signals == len(backtest.signals)
    assert result.orders == len(backtest.orders())
    assert result.fills == backtest.fills()
    assert live.app.bus.stats.handler_errors == 0, live.app.bus.stats.last_failures

    # The same signals: strategy, instrument, side or target, strength, reason, time.
    assert [
        (s.strategy_id, s.instrument_id, s.side, s.target_position, s.ts_event) for s in live.signals
    ] == [(s.strategy_id, s.instrument_id, s.side, s.target_position, s.ts_event) for s in backtest.signals]
    assert live.signals == backtest.signals
    # The same refusals by risk, reasons (and the milliseconds they name) included.
    assert live.refusals == backtest.refusals
    # The same orders, in the same order: ids, side, type, quantity, price, times, outcome.
    assert live.orders() == backtest.orders()
    # The same fills, in the same order: quantity, price, fee, liquidity, ids, time.
    assert [(f.side, f.quantity, f.price, f.fee) for f in live.fills()] == [
        (f.side, f.quantity, f.price, f.fee) for f in backtest.fills()
    ]
    assert live.fills() == backtest.fills()
    # And the account they leave is the same.
    assert live.app.portfolio.account.balances == backtest.app.portfolio.account.balances

    # Not a trivial agreement: the strategy traded in and out several times.
    assert _round_trips(backtest.fills()) >= 3
    if risk_config is not None:
        assert backtest.refusals, "the throttle should have refused some intents"
        assert "risk-stops" in {order[1] for order in backtest.orders()}, "a trailing stop should have exited"
