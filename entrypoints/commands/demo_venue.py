"""The demo's venue: the simulated market (and, for ``--broker binance``, the simulated trading
venue that speaks Binance's trading API) served from an event loop of its own, in a thread.

The engine asks a networked venue for its instruments, account and orders before its own loop
runs; a venue served from another thread answers those calls like a remote one does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from adapters.exchanges.simulator import ExchangeSimulator, MarketParams, RandomWalkMarket
from adapters.exchanges.simulator.background import BackgroundLoop
from adapters.exchanges.simulator.trading import TradingVenue

DEMO_BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("1")}
"""What the simulated Binance account holds at start (the paper demo starts from USDT only)."""


@dataclass(slots=True)
class DemoVenue:
    loop: BackgroundLoop
    simulator: ExchangeSimulator
    trading: TradingVenue | None
    api_key: str = ""
    api_secret: str = ""

    async def stop(self) -> None:
        async def stop_all() -> None:
            await self.simulator.stop()
            if self.trading is not None:
                await self.trading.stop()

        try:
            await self.loop.run_async(stop_all())
        finally:
            self.loop.close()


async def start_demo_venue(*, seed: int, rate: float, trading: bool) -> DemoVenue:
    """Start the market (one dollar between price levels, so it moves like BTC) and, with
    ``trading``, a Binance trading venue over it with a throwaway key made for this run."""
    loop = BackgroundLoop("demo-venue")
    market = RandomWalkMarket(("BTCUSDT",), seed, MarketParams(tick_size=Decimal("1")))
    venue = None
    api_key = api_secret = ""
    if trading:
        api_key, api_secret = secrets.token_hex(32), secrets.token_hex(32)
        venue = TradingVenue(
            market=market, api_key=api_key, api_secret=api_secret, balances=DEMO_BALANCES, seed=seed
        )
    simulator = ExchangeSimulator(venue.market if venue is not None else market, seed=seed, rate=rate)

    async def start_all() -> None:
        await simulator.start()
        if venue is not None:
            await venue.start(host="127.0.0.1", port=0)

    try:
        await loop.run_async(start_all())
    except BaseException:
        loop.close()
        raise
    return DemoVenue(loop=loop, simulator=simulator, trading=venue, api_key=api_key, api_secret=api_secret)
