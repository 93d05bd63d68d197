"""Kraken WebSocket v2 market data: pure parsing, the book checksum, the local books, the feed."""
