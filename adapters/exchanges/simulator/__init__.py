"""A local exchange simulator speaking the Binance spot market-data dialect (WebSocket + REST depth)."""

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
    "ExchangeSimulator",
    "FrameRecorder",
    "MarketFrame",
    "MarketParams",
    "MarketSource",
    "RandomWalkMarket",
    "RecordedMarket",
    "record_stream",
]
