"""In-memory adapters: the test fakes of every port and the embedded default stores."""

from adapters.memory.cache import InMemoryCache
from adapters.memory.clock import LiveClock, ManualClock
from adapters.memory.feed import InMemoryFeed
from adapters.memory.repositories import (
    InMemoryMarketDataRepository,
    InMemorySignalRepository,
    InMemoryTradeRepository,
)
from adapters.memory.secrets import EnvironmentSecretStore, InMemorySecretStore

__all__ = [
    "EnvironmentSecretStore",
    "InMemoryCache",
    "InMemoryFeed",
    "InMemoryMarketDataRepository",
    "InMemorySecretStore",
    "InMemorySignalRepository",
    "InMemoryTradeRepository",
    "LiveClock",
    "ManualClock",
]
