"""Binance Spot trading: signed REST and the WebSocket API's order updates behind the broker ports.

``BinanceBroker`` (``broker``) is the broker; ``BinanceBrokerConfig`` (``config``) its settings;
``ApiCredentials`` (``credentials``) the key and the signer of its secret;
``BinanceInstrumentProvider`` (``instruments``) the venue's own instruments. Importing this
package does nothing else.
"""

from adapters.brokers.binance.broker import BinanceBroker
from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.errors import BinanceBrokerError
from adapters.brokers.binance.instruments import BinanceInstrumentProvider
from adapters.brokers.binance.venue_queries import VenueSnapshot

__all__ = [
    "ApiCredentials",
    "BinanceBroker",
    "BinanceBrokerConfig",
    "BinanceBrokerError",
    "BinanceInstrumentProvider",
    "VenueSnapshot",
]
