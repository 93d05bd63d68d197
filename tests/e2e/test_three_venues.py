"""One engine, three venues, over real loopback WebSockets: simulated Binance, Coinbase and Kraken
each speak their own protocol to tradeplane's own adapters; an SMA crossover trades on each venue
and the lead-lag strategy reads Binance to trade Kraken. Orders fill on the right venue at that
venue's fees, positions are kept per instrument, books stay verified, and the consolidated quote
is the best bid and offer of the venues' own books."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from decimal import Decimal

import pytest

from adapters.exchanges.simulator.background import BackgroundLoop
from adapters.exchanges.simulator.coinbase import CoinbaseSimulator
from adapters.exchanges.simulator.kraken import KrakenSimulator
from adapters.exchanges.simulator.market import MarketParams, RandomWalkMarket
from adapters.exchanges.simulator.server import ExchangeSimulator
from domain.identifiers import InstrumentId
from domain.positions import Position
from entrypoints.commands.demo import OtherVenues, demo_settings
from entrypoints.config import Settings, StrategySettings
from entrypoints.container import App, bootstrap

BINANCE = InstrumentId("BTCUSDT.BINANCE")
COINBASE = InstrumentId("BTC-USDT.COINBASE")
KRAKEN = InstrumentId("BTC-USDT.KRAKEN")
DEADLINE_S = 60.0
RATE = 200.0
FEES_BPS = {"BINANCE": Decimal(5), "COINBASE": Decimal(60), "KRAKEN": Decimal(40)}
"""Taker fees the demo settings give each venue (every order of the test is a market order)."""


def _faster(settings: Settings) -> Settings:
    """The demo's strategies with SMAs short enough to trade within seconds."""
    strategies = tuple(
        replace(s, params={"fast": 3, "slow": 8}) if s.kind == "sma_crossover" else s
        for s in settings.strategies
    )
    return replace(settings, strategies=strategies)


def _fills_everywhere(app: App) -> bool:
    venues = {fill.instrument_id for fill in app.trades.list_fills()}
    strategies = {fill.strategy_id for fill in app.trades.list_fills()}
    return {BINANCE, COINBASE, KRAKEN} <= venues and "lead-lag" in strategies


async def _run(app: App) -> None:
    await app.engine.start()
    started = time.monotonic()
    try:
        while not _fills_everywhere(app):
            if time.monotonic() - started > DEADLINE_S:
                fills = {(f.instrument_id, f.strategy_id) for f in app.trades.list_fills()}
                pytest.fail(f"within {DEADLINE_S}s fills came only for {sorted(fills)}")
            await asyncio.sleep(0.05)
    finally:
        await app.engine.stop(cancel_open_orders=True)


@pytest.mark.slow
def test_three_venues_one_engine_fills_on_the_right_venue_and_a_right_consolidated_quote() -> None:
    params = MarketParams(tick_size=Decimal("1"))
    with BackgroundLoop("three-venues") as loop:
        binance = ExchangeSimulator(RandomWalkMarket(("BTCUSDT",), 3, params), seed=3, rate=RATE)
        coinbase = CoinbaseSimulator(("BTC-USDT",), seed=3, rate=RATE, params=params)
        kraken = KrakenSimulator(("BTC/USDT",), seed=3, rate=RATE, params=params)

        async def start() -> None:
            await binance.start()
            await coinbase.start()
            await kraken.start()

        async def stop() -> None:
            await binance.stop()
            await coinbase.stop()
            await kraken.stop()

        loop.run(start())
        try:
            others = OtherVenues(coinbase=(coinbase.ws_url, coinbase.rest_url), kraken=kraken.ws_url)
            app = bootstrap(_faster(demo_settings(binance.ws_url, binance.rest_url, others=others)))
            # Coinbase's and Kraken's instruments were read from the venues, not typed.
            assert app.portfolio.instruments[COINBASE].price_tick == Decimal("1")
            assert app.portfolio.instruments[KRAKEN].base == "BTC"
            asyncio.run(_run(app))
            consolidated = app.market.consolidated("BTC", "USDT", app.portfolio.instruments.values())
            books = {
                BINANCE: loop.run(_top(binance, "BTCUSDT")),
                COINBASE: loop.run(_top(coinbase, "BTC-USDT")),
                KRAKEN: loop.run(_top(kraken, "BTC/USDT")),
            }
        finally:
            loop.run(stop())

    status = app.engine.status()
    fills = list(app.trades.list_fills())
    assert status.handler_errors == 0, app.bus.stats.last_failures
    assert [(view.base, view.quote) for view in status.consolidated] == [("BTC", "USDT")]
    for feed in status.feeds:
        assert feed.malformed == 0, feed
        assert all(i.book_verified for i in feed.instruments), feed

    # Each fill is on its order's venue, at that venue's taker fee.
    orders = {order.client_order_id: order for order in app.trades.list_orders()}
    for fill in fills:
        assert orders[fill.client_order_id].instrument_id == fill.instrument_id
        rate = FEES_BPS[fill.instrument_id.venue] / Decimal(10_000)
        assert fill.fee == (fill.price * fill.quantity * rate).quantize(fill.fee), fill
    # The lead-lag strategy traded the follower only.
    assert {f.instrument_id for f in fills if f.strategy_id == "lead-lag"} == {KRAKEN}

    # Positions are per instrument and each equals the fold of its fills.
    for instrument_id in (BINANCE, COINBASE, KRAKEN):
        folded = Position.from_fills(instrument_id, [f for f in fills if f.instrument_id == instrument_id])
        assert app.portfolio.position(instrument_id).state() == folded.state()

    # The consolidated quote is the best of the venues' last quotes, each line its venue's.
    lines = {line.instrument_id: line for line in consolidated.lines}
    assert set(lines) == {BINANCE, COINBASE, KRAKEN}
    bids = {i: line.quote.bid_price for i, line in lines.items() if line.quote is not None}
    asks = {i: line.quote.ask_price for i, line in lines.items() if line.quote is not None}
    assert consolidated.best_bid is not None
    assert consolidated.best_ask is not None
    assert consolidated.best_bid.price == max(bids.values())
    assert consolidated.best_ask.price == min(asks.values())
    for instrument_id, (bid, ask) in books.items():  # the venues moved on since: near, not equal
        assert abs(bids[instrument_id] - bid) < 50
        assert abs(asks[instrument_id] - ask) < 50


async def _top(
    simulator: ExchangeSimulator | CoinbaseSimulator | KrakenSimulator, symbol: str
) -> tuple[Decimal, Decimal]:
    view = simulator.book(symbol)
    return view.bids[0][0], view.asks[0][0]


def test_strategy_settings_are_what_the_test_expects() -> None:
    """The demo runs an SMA per venue and the lead-lag strategy from the first venue to the last."""
    others = OtherVenues(coinbase=("ws://127.0.0.1:1", "http://127.0.0.1:1"), kraken="ws://127.0.0.1:2")
    settings = demo_settings("ws://127.0.0.1:3", "http://127.0.0.1:3", others=others)
    kinds = [(s.id, s.kind, s.instruments) for s in settings.strategies]
    assert kinds == [
        ("sma-demo", "sma_crossover", ("BTCUSDT.BINANCE",)),
        ("sma-coinbase", "sma_crossover", ("BTC-USDT.COINBASE",)),
        ("sma-kraken", "sma_crossover", ("BTC-USDT.KRAKEN",)),
        ("lead-lag", "lead_lag", ("BTCUSDT.BINANCE", "BTC-USDT.KRAKEN")),
    ]
    assert isinstance(settings.strategies[0], StrategySettings)
