"""In-memory adapters: the test fakes of every port and the embedded default stores."""

from adapters.memory.cache import InMemoryCache
from adapters.memory.clock import ManualClock
from adapters.memory.feed import InMemoryFeed
from adapters.memory.repositories import (
    InMemoryMarketDataRepository,
    InMemorySignalRepository,
    InMemoryTradeRepository,
)

__all__ = [
    "InMemoryCache",
    "InMemoryFeed",
    "InMemoryMarketDataRepository",
    "InMemorySignalRepository",
    "InMemoryTradeRepository",
    "ManualClock",
]
