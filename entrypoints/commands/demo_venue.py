"""The demo's venues: the simulated markets (Binance, and with ``--venues`` Coinbase and Kraken,
each in its own protocol; for ``--broker binance`` also the simulated trading venue that speaks
Binance's trading API) served from an event loop of their own, in a thread.

The engine asks a networked venue for its instruments, account and orders before its own loop
runs; a venue served from another thread answers those calls like a remote one does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from adapters.exchanges.simulator import ExchangeSimulator, MarketParams, RandomWalkMarket
from adapters.exchanges.simulator.background import BackgroundLoop
from adapters.exchanges.simulator.coinbase import CoinbaseSimulator
from adapters.exchanges.simulator.kraken import KrakenSimulator
from adapters.exchanges.simulator.trading import TradingVenue

DEMO_BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("1")}
"""What the simulated Binance account holds at start (the paper demo starts from USDT only)."""

VENUES = ("binance", "coinbase", "kraken")
"""The venues the demo can simulate, in the order it lists them."""

COINBASE_PRODUCT = "BTC-USDT"
KRAKEN_PAIR = "BTC/USDT"
"""Bitcoin against USDT on every venue, so one account in USDT trades all three and the
consolidated quote compares like with like."""


@dataclass(slots=True)
class DemoVenue:
    loop: BackgroundLoop
    simulator: ExchangeSimulator
    trading: TradingVenue | None
    api_key: str = ""
    api_secret: str = ""
    coinbase: CoinbaseSimulator | None = None
    kraken: KrakenSimulator | None = None

    async def stop(self) -> None:
        async def stop_all() -> None:
            await self.simulator.stop()
            if self.trading is not None:
                await self.trading.stop()
            if self.coinbase is not None:
                await self.coinbase.stop()
            if self.kraken is not None:
                await self.kraken.stop()

        try:
            await self.loop.run_async(stop_all())
        finally:
            self.loop.close()


async def start_demo_venue(
    *, seed: int, rate: float, trading: bool, venues: tuple[str, ...] = ("binance",)
) -> DemoVenue:
    """Start the market (one dollar between price levels, so it moves like BTC) and, with
    ``trading``, a Binance trading venue over it with a throwaway key made for this run. Each
    other venue of ``venues`` serves the same seeded market in its own protocol."""
    loop = BackgroundLoop("demo-venue")
    params = MarketParams(tick_size=Decimal("1"))
    market = RandomWalkMarket(("BTCUSDT",), seed, params)
    venue = None
    api_key = api_secret = ""
    if trading:
        api_key, api_secret = secrets.token_hex(32), secrets.token_hex(32)
        venue = TradingVenue(
            market=market, api_key=api_key, api_secret=api_secret, balances=DEMO_BALANCES, seed=seed
        )
    simulator = ExchangeSimulator(venue.market if venue is not None else market, seed=seed, rate=rate)
    coinbase = (
        CoinbaseSimulator((COINBASE_PRODUCT,), seed=seed, rate=rate, params=params)
        if "coinbase" in venues
        else None
    )
    kraken = (
        KrakenSimulator((KRAKEN_PAIR,), seed=seed, rate=rate, params=params) if "kraken" in venues else None
    )

    async def start_all() -> None:
        await simulator.start()
        if venue is not None:
            await venue.start(host="127.0.0.1", port=0)
        if coinbase is not None:
            await coinbase.start()
        if kraken is not None:
            await kraken.start()

    try:
        await loop.run_async(start_all())
    except BaseException:
        loop.close()
        raise
    return DemoVenue(
        loop=loop,
        simulator=simulator,
        trading=venue,
        api_key=api_key,
        api_secret=api_secret,
        coinbase=coinbase,
        kraken=kraken,
    )
