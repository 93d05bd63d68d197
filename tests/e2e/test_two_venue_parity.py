"""Backtest and live are one path on two venues: a portfolio of an SMA on each venue and the
lead-lag strategy (Binance leads, the other venue follows), through one engine and one account,
gives the same signals, orders and fills on the same ticks replayed either way.

The ticks go once through the backtest of the configuration (``run_portfolio`` on two trades
CSVs, merged on ``ts_event``) and once live: the Binance simulator replays recording A as
``btcusdt@trade`` frames and the Coinbase (or Kraken) simulator replays recording B in its
own protocol (``market_trades`` / ``trade``), read by the real ``CoinbaseMarketDataFeed`` /
``KrakenMarketDataFeed`` into one running engine built from the very settings of the
backtest plus a ``[feeds.*]`` table per venue.

What is made equal, beyond what the single-venue parity test explains (trades only, event
time on a ``ManualClock`` moved by each event, the same ids):

* Arrival order across two connections. Two sockets give no order between them: left free,
  the engine would see the venues' trades interleaved by scheduling luck, and ``lead_lag``
  compares the venues' windows at each arrival. Both simulators are paused and stepped by
  hand instead (``publish_step``): the test walks the merged timeline, publishes each trade on
  its venue, and waits until the engine has counted it before publishing the next, so the
  live arrival order is the backtest's merge order by construction. The two recordings never
  share an instant (one on even milliseconds, the other on odd), so that order has one answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pytest

from adapters.exchanges.simulator import (
    CoinbaseSimulator,
    ExchangeSimulator,
    KrakenSimulator,
    RecordedMarket,
)
from adapters.historical import read_merged
from adapters.memory import ManualClock
from application.ports import MarketDataFeed
from domain.market_data import TradeTick
from entrypoints import container
from entrypoints.backtest.portfolio import PortfolioOutcome, run_portfolio
from entrypoints.backtest.portfolio_spec import PortfolioSpec, load_config, portfolio_settings
from entrypoints.config import FeedSettings, Settings
from entrypoints.container import App
from tests.e2e.recorded_ticks import (
    RecordedTrade,
    at_precision,
    interleaved,
    swinging_trades,
    write_trade_recording,
    write_trades_csv,
)
from tests.e2e.test_backtest_parity import EventTimedFeed, Tape

LEADER = "BTCUSDT.BINANCE"
SYMBOL = "BTCUSDT"
"""The recordings' (Binance-style) symbol; each follower simulator serves it in its own form."""
TRADES = 1500
"""Trades per venue."""
SEED = 20240102
WAIT_S = 20.0
"""Longest wait for any one step of the live run (connect, subscribe, one trade's arrival)."""
TEST_S = 30.0

RISK_AND_STOPS = """
[risk]
max_orders_per_window = 3
window_ns = 60_000_000_000
max_data_age_ns = 1_000_000_000
price_band_fraction = "0.01"

[stops]
trailing_fraction = "0.003"
"""
"""Time-dependent rules that bite on these series: the throttle refuses by the millisecond
(across both venues' orders), trailing stops exit between signals."""


@dataclass(frozen=True, slots=True)
class Follower:
    """The venue that follows: its instrument, how its simulator is made, its feed's table."""

    venue: str
    instrument: str
    venue_symbol: str
    expected_subscriptions: list[dict[str, list[str]]]

    def simulator(self, recording: Path) -> CoinbaseSimulator | KrakenSimulator:
        market = RecordedMarket(recording)
        if self.venue == "COINBASE":
            return CoinbaseSimulator((self.venue_symbol,), rate=0.0, heartbeat_interval=0.5, market=market)
        return KrakenSimulator((self.venue_symbol,), rate=0.0, heartbeat_interval=0.5, market=market)

    def feed(self, simulator: CoinbaseSimulator | KrakenSimulator) -> FeedSettings:
        options: dict[str, object] = {
            "instrument_ids": [self.instrument],
            "ws_url": simulator.ws_url,
            "use_system_proxy": False,
            "reconnect_initial_delay": 0.1,
            "reconnect_max_delay": 1.0,
            "open_timeout": 5.0,
        }
        if isinstance(simulator, CoinbaseSimulator):
            options |= {"rest_url": simulator.rest_url, "channels": ["market_trades"]}
        else:
            options |= {"channels": ["trade"]}
        return FeedSettings(kind=self.venue.lower(), options=options)


FOLLOWERS = {
    "coinbase": Follower(
        "COINBASE",
        "BTC-USDT.COINBASE",
        "BTC-USDT",
        [{"heartbeats": [], "market_trades": ["BTC-USDT"]}],
    ),
    "kraken": Follower(
        "KRAKEN",
        "BTC-USDT.KRAKEN",
        "BTC/USDT",
        [{"instrument": [], "trade": ["BTC/USDT"]}],
    ),
}


def config_text(follower: str, follower_venue: str, extra: str = "") -> str:
    """One USDT account; an SMA on each venue and lead-lag from Binance to ``follower``; each
    venue's fees (the follower's dearer), so a fill on the wrong venue would show."""

    def instrument(instrument_id: str) -> str:
        return (
            f'[[instruments]]\nid = "{instrument_id}"\nbase = "BTC"\nquote = "USDT"\n'
            'price_tick = "0.01"\nlot_size = "0.00001"\nmin_quantity = "0.00001"\nmin_notional = "5"\n'
        )

    def sma(strategy_id: str, instrument_id: str) -> str:
        return (
            f'[[strategies]]\nid = "{strategy_id}"\nkind = "sma_crossover"\n'
            f'instruments = ["{instrument_id}"]\n'
            'params = { fast = 10, slow = 40 }\nsizing = { kind = "fixed_quantity", quantity = "0.1" }\n'
        )

    return "\n".join(
        [
            '[engine]\nvaluation_currency = "USDT"\n',
            '[account]\nbalances = { USDT = "100000" }\n',
            instrument(LEADER),
            instrument(follower),
            '[broker]\nkind = "paper"\nmaker_fee_bps = "10"\ntaker_fee_bps = "10"\n',
            f'[broker.venues.{follower_venue}]\nmaker_fee_bps = "25"\ntaker_fee_bps = "25"\n',
            sma("sma-leader", LEADER),
            sma("sma-follower", follower),
            '[[strategies]]\nid = "lead-lag"\nkind = "lead_lag"\n'
            f'instruments = ["{LEADER}", "{follower}"]\n'
            f'params = {{ leader = "{LEADER}", threshold_bps = 5, lookback = 20, source = "trade" }}\n'
            'sizing = { kind = "fixed_quantity", quantity = "0.1" }\n',
            '[storage]\nkind = "memory"\n',
            extra,
        ]
    )


# -- the recordings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Files:
    config: Path
    csvs: dict[str, Path]
    recordings: dict[str, Path]
    timeline: list[str]
    """The instrument of each trade of both venues, in ``ts_event`` order."""


@pytest.fixture(scope="module")
def ticks() -> dict[str, list[RecordedTrade]]:
    """The leader's swing on even milliseconds; the follower's, a quarter swing late, on odd ones.

    The follower's ids are its own; its prices and sizes are written at its venue's tick and
    lot, as its simulator prints them, so its CSV and its venue's frames hold the same text.
    """
    leader = interleaved(swinging_trades(TRADES, seed=SEED), odd=False)
    follower = swinging_trades(TRADES, seed=SEED + 1, lag=125, first_id=7_000_001)
    return {
        "leader": leader,
        "follower": at_precision(interleaved(follower, odd=True), price_places=2, size_places=3),
    }


def _files(
    tmp_path: Path, ticks: dict[str, list[RecordedTrade]], follower: Follower, extra: str = ""
) -> Files:
    config = tmp_path / "two-venues.toml"
    config.write_text(config_text(follower.instrument, follower.venue, extra))
    by_instrument = {LEADER: ticks["leader"], follower.instrument: ticks["follower"]}
    csvs = {i: write_trades_csv(tmp_path / f"{i}-trades.csv", t) for i, t in by_instrument.items()}
    recordings = {
        i: write_trade_recording(tmp_path / f"{i}.jsonl", SYMBOL, t) for i, t in by_instrument.items()
    }
    stamped = sorted((trade.time_ms, i) for i, trades in by_instrument.items() for trade in trades)
    timeline = [instrument for _, instrument in stamped]  # times are distinct across venues
    return Files(config, csvs, recordings, timeline)


# -- the two paths ---------------------------------------------------------------------------------


def run_backtest_path(files: Files) -> tuple[PortfolioOutcome, Tape, Settings]:
    """The backtest of the configuration, its engine watched; and the settings it ran on."""
    spec = PortfolioSpec(config=str(files.config), data={i: (str(path),) for i, path in files.csvs.items()})
    tapes: list[Tape] = []
    outcome = run_portfolio(spec, attach=lambda app: tapes.append(Tape.attach(app)))
    assert len(tapes) == 1
    return outcome, tapes[0], portfolio_settings(spec, load_config(spec.config))


class Steppable(Protocol):
    def publish_step(self) -> bool: ...


async def _until(condition: Callable[[], bool], what: Callable[[], str]) -> None:
    """Wait for ``condition`` without sleeping a scheduler tick per check: a trade takes well
    under a millisecond over loopback, and the walk waits for thousands of them."""
    deadline = time.monotonic() + WAIT_S
    spins = 0
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {WAIT_S}s: {what()}")
        spins += 1
        await asyncio.sleep(0 if spins < 2_000 else 0.001)


async def run_live_path(settings: Settings, files: Files, follower: Follower) -> Tape:
    """Both simulators paused; one engine on ``settings`` plus both feeds; the merged timeline
    walked one trade at a time, each published on its venue and seen by the engine before the next."""
    binance = ExchangeSimulator(RecordedMarket(files.recordings[LEADER]), rate=0.0, ping_interval=None)
    other = follower.simulator(files.recordings[follower.instrument])
    binance.pause()  # nothing is published but what the walk publishes
    other.pause()
    await binance.start()
    await other.start()
    app: App | None = None
    try:
        binance_feed = FeedSettings(
            kind="binance",
            options={
                "instrument_ids": [LEADER],
                "ws_url": binance.ws_url,
                "rest_url": binance.rest_url,
                "streams": ["trade"],
                "use_system_proxy": False,
                "reconnect_initial_delay": 0.1,
                "reconnect_max_delay": 1.0,
                "open_timeout": 5.0,
            },
        )
        live = replace(settings, feeds=(binance_feed, follower.feed(other)))
        clock = ManualClock()
        real_feeds: list[MarketDataFeed] = container.build_feeds(live, clock)
        feeds = [EventTimedFeed(feed, clock) for feed in real_feeds]
        app = running = container.bootstrap(live, clock=clock, feeds=feeds)
        tape = Tape.attach(running)
        await running.engine.start()
        await _until(
            lambda: binance.subscriptions() == [[f"{SYMBOL.lower()}@trade"]],
            lambda: f"the Binance feed subscribed (subscriptions {binance.subscriptions()})",
        )
        await _until(
            lambda: other.subscriptions() == follower.expected_subscriptions,
            lambda: f"the {follower.venue} feed subscribed (subscriptions {other.subscriptions()})",
        )

        venues: dict[str, Steppable] = {LEADER: binance, follower.instrument: other}
        market = running.market
        for seen, instrument in enumerate(files.timeline, start=1):
            assert venues[instrument].publish_step(), f"{instrument}'s recording ended early"
            await _until(
                lambda: market.trades_seen >= seen,  # noqa: B023 - awaited within this iteration
                lambda: f"trade {seen} ({instrument}) reached the engine",  # noqa: B023
            )
            assert market.trades_seen == seen, "one step publishes one trade"
        assert not binance.publish_step()
        assert not other.publish_step()

        await running.engine.stop(cancel_open_orders=False)  # the backtest cancels nothing at its end
        for feed in feeds:
            health = feed.health()
            assert (health.malformed, health.reconnects) == (0, 0), health
        assert (running.market.quotes, running.market.books) == ({}, {}), "trades only, as in the backtest"
        return tape
    finally:
        if app is not None:
            await app.engine.stop(cancel_open_orders=False)
            app.close()
        await binance.stop()
        await other.stop()


# -- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("follower", list(FOLLOWERS.values()), ids=list(FOLLOWERS))
def test_the_files_and_the_recordings_hold_the_same_ticks_on_distinct_instants(
    tmp_path: Path, ticks: dict[str, list[RecordedTrade]], follower: Follower
) -> None:
    files = _files(tmp_path, ticks, follower)
    leader_times = {t.time_ms for t in ticks["leader"]}
    assert leader_times.isdisjoint(t.time_ms for t in ticks["follower"])
    for instrument, trades in ((LEADER, ticks["leader"]), (follower.instrument, ticks["follower"])):
        read = list(read_merged([files.csvs[instrument]], instrument))
        assert [(str(t.price), str(t.size), t.ts_event) for t in read if isinstance(t, TradeTick)] == [
            (trade.price, trade.quantity, trade.time_ms * 1_000_000) for trade in trades
        ]
    assert len(files.timeline) == 2 * TRADES


@pytest.mark.parametrize("risk_config", ["", RISK_AND_STOPS], ids=["defaults", "risk-limits-and-stops"])
@pytest.mark.parametrize("follower", list(FOLLOWERS.values()), ids=list(FOLLOWERS))
def test_a_portfolio_backtest_and_a_live_run_on_two_venues_give_the_same_signals_orders_and_fills(
    tmp_path: Path, ticks: dict[str, list[RecordedTrade]], follower: Follower, risk_config: str
) -> None:
    started = time.monotonic()
    files = _files(tmp_path, ticks, follower, risk_config)

    outcome, backtest, settings = run_backtest_path(files)
    live = asyncio.run(asyncio.wait_for(run_live_path(settings, files, follower), TEST_S))

    result = outcome.result
    assert result.events == 2 * TRADES
    assert result.handler_errors == 0
    assert result.fills == backtest.fills()
    assert live.app.bus.stats.handler_errors == 0, live.app.bus.stats.last_failures

    assert _signal_lines(live) == _signal_lines(backtest)
    assert live.signals == backtest.signals
    assert live.refusals == backtest.refusals
    assert live.orders() == backtest.orders()
    assert live.fills() == backtest.fills()
    assert live.app.portfolio.account.balances == backtest.app.portfolio.account.balances

    # Not a trivial agreement: every strategy traded, lead-lag the follower only.
    fills = backtest.fills()
    by_strategy: dict[str, set[str]] = {}
    for fill in fills:
        by_strategy.setdefault(str(fill.strategy_id), set()).add(str(fill.instrument_id))
    assert {k: v for k, v in by_strategy.items() if k != "risk-stops"} == {
        "sma-leader": {LEADER},
        "sma-follower": {follower.instrument},
        "lead-lag": {follower.instrument},
    }
    if risk_config:
        assert backtest.refusals, "the throttle should have refused some intents"
        assert "risk-stops" in by_strategy, "a trailing stop should have exited"
    lead_lag = [s for s in backtest.signals if s.strategy_id == "lead-lag"]
    assert lead_lag, "lead-lag should have signalled"
    assert {str(s.instrument_id) for s in lead_lag} == {follower.instrument}
    fee_rates = {str(f.instrument_id): f.fee / (f.price * f.quantity) for f in fills}
    assert fee_rates == {LEADER: Decimal("0.001"), follower.instrument: Decimal("0.0025")}
    assert time.monotonic() - started < TEST_S


def _signal_lines(tape: Tape) -> list[tuple[Any, ...]]:
    return [(s.strategy_id, s.instrument_id, s.side, s.target_position, s.ts_event) for s in tape.signals]
