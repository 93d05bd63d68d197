"""Coinbase Advanced Trade market data: pure parsing, the local level2 books, the products REST
endpoint, and the self-healing ``CoinbaseMarketDataFeed``."""
