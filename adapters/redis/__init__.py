"""Redis adapters: the ``Cache`` port (latest quotes and state) and the ``EventBus`` between
processes (Streams with consumer groups), sharing one JSON codec for bus messages.

Nothing here is used unless the composition root wires it; the defaults need no Redis.
"""

from adapters.redis.cache import RedisCache
from adapters.redis.codec import CodecError, decode, encode
from adapters.redis.connection import DEFAULT_PREFIX, RedisHealth
from adapters.redis.stream_bus import RedisStreamBus
from adapters.redis.stream_consumer import Delivery, HandlerFailed, RedisStreamConsumer
from adapters.redis.stream_routing import StreamRouting

__all__ = [
    "DEFAULT_PREFIX",
    "CodecError",
    "Delivery",
    "HandlerFailed",
    "RedisCache",
    "RedisHealth",
    "RedisStreamBus",
    "RedisStreamConsumer",
    "StreamRouting",
    "decode",
    "encode",
]
