"""The paper broker: orders filled against live (or replayed) market data, in event time."""

from adapters.brokers.paper.broker import PaperBroker, PaperOrder
from adapters.brokers.paper.config import PaperBrokerConfig

__all__ = ["PaperBroker", "PaperBrokerConfig", "PaperOrder"]
