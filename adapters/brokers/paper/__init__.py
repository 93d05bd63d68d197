"""The paper broker: orders filled against live (or replayed) market data, in event time."""

from adapters.brokers.paper.broker import PaperBroker
from adapters.brokers.paper.config import PaperBrokerConfig
from adapters.brokers.paper.orders import PaperOrder
from adapters.brokers.paper.venue_log import VenueLog, VenueLogError

__all__ = ["PaperBroker", "PaperBrokerConfig", "PaperOrder", "VenueLog", "VenueLogError"]
