"""The simulated venue's trading side (Binance Spot dialect): to be documented."""

from adapters.exchanges.simulator.trading.errors import VenueError
from adapters.exchanges.simulator.trading.faults import TradingFaults
from adapters.exchanges.simulator.trading.filters import SymbolFilters
from adapters.exchanges.simulator.trading.limits import VenueLimits
from adapters.exchanges.simulator.trading.observed import ObservedMarket
from adapters.exchanges.simulator.trading.stats import VenueStats
from adapters.exchanges.simulator.trading.venue import TradingVenue

__all__ = [
    "ObservedMarket",
    "SymbolFilters",
    "TradingFaults",
    "TradingVenue",
    "VenueError",
    "VenueLimits",
    "VenueStats",
]
