"""What every venue's streaming adapter shares: one supervised WebSocket connection, the feed's
lifecycle and health, timestamps and failure descriptions. Venue packages add their protocol."""

from adapters.exchanges.streaming.connection import (
    ConnectionOptions,
    Link,
    StreamProtocol,
    SupervisedConnection,
)
from adapters.exchanges.streaming.failures import MalformedMessage, connection_failure, truncated
from adapters.exchanges.streaming.feed_base import StreamingFeed
from adapters.exchanges.streaming.malformed import MalformedLog
from adapters.exchanges.streaming.timestamps import rfc3339_ns

__all__ = [
    "ConnectionOptions",
    "Link",
    "MalformedLog",
    "MalformedMessage",
    "StreamProtocol",
    "StreamingFeed",
    "SupervisedConnection",
    "connection_failure",
    "rfc3339_ns",
    "truncated",
]
