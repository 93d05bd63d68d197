"""Binance spot market data: pure parsing, raw clients, and the self-healing ``BinanceMarketDataFeed``.

Import the pieces from their modules (``feed``, ``config``, ``parsing``); importing this
package does nothing else.
"""

from adapters.exchanges.binance.config import BinanceFeedConfig
from adapters.exchanges.binance.errors import BinanceError, BinanceHttpError, MalformedFrame, UnknownStream
from adapters.exchanges.binance.feed import BinanceMarketDataFeed
from adapters.exchanges.binance.parsing import (
    parse_book_ticker,
    parse_depth_snapshot,
    parse_depth_update,
    parse_frame,
    parse_trade,
)

__all__ = [
    "BinanceError",
    "BinanceFeedConfig",
    "BinanceHttpError",
    "BinanceMarketDataFeed",
    "MalformedFrame",
    "UnknownStream",
    "parse_book_ticker",
    "parse_depth_snapshot",
    "parse_depth_update",
    "parse_frame",
    "parse_trade",
]
