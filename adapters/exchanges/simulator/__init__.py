"""A local exchange simulator: one seeded market served in the Binance spot, Coinbase Advanced Trade
and Kraken WebSocket v2 market-data dialects."""

from adapters.exchanges.simulator.coinbase import CoinbaseSimulator
from adapters.exchanges.simulator.kraken import KrakenSimulator
from adapters.exchanges.simulator.market import (
    BookView,
    MarketFrame,
    MarketParams,
    MarketSource,
    RandomWalkMarket,
)
from adapters.exchanges.simulator.recording import FrameRecorder, RecordedMarket, record_stream
from adapters.exchanges.simulator.server import ExchangeSimulator

__all__ = [
    "BookView",
    "CoinbaseSimulator",
    "ExchangeSimulator",
    "FrameRecorder",
    "KrakenSimulator",
    "MarketFrame",
    "MarketParams",
    "MarketSource",
    "RandomWalkMarket",
    "RecordedMarket",
    "record_stream",
]
