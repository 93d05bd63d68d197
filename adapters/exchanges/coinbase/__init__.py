"""Coinbase Advanced Trade market data: pure parsing, the local level2 books, the products REST
endpoint, and the self-healing ``CoinbaseMarketDataFeed``."""

from adapters.exchanges.coinbase.config import CoinbaseFeedConfig
from adapters.exchanges.coinbase.errors import CoinbaseError, MalformedFrame, ProductLookupError
from adapters.exchanges.coinbase.feed import CoinbaseMarketDataFeed
from adapters.exchanges.coinbase.instruments import CoinbaseInstrumentProvider
from adapters.exchanges.coinbase.parsing import parse_frame

__all__ = [
    "CoinbaseError",
    "CoinbaseFeedConfig",
    "CoinbaseInstrumentProvider",
    "CoinbaseMarketDataFeed",
    "MalformedFrame",
    "ProductLookupError",
    "parse_frame",
]
