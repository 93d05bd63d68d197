"""Which Redis stream each message goes to, and the fields of a stream entry.

**Streams.** Messages go to one stream per *family* (``{prefix}stream:{family}``), not one per
type and not one for everything; the families and their types are listed once, in
:mod:`adapters.redis.registry`:

- ``market``: trades, quotes, bars, book snapshots/deltas/invalidations. Their relative order
  matters (an invalidation, then a snapshot, then deltas; a trade against the quote it
  crossed), and a stream is the unit Redis orders.
- ``strategy``: signals, intents, strategy failures; ``reports``: broker reports (an order's
  accept comes before its fills); ``events``: engine events for observers.

Families keep the ordering that matters inside one stream, let a process read only what it
needs, and keep the high-volume market stream's trimming (approximate ``MAXLEN``, 100 000 by
default) away from orders and fills (1 000 000). Order *across* families is not kept.
:class:`StreamRouting` holds the mapping; publisher and consumers must share it.

**Entries** have four fields: ``v`` (the wire format's version, ``WIRE_VERSION``; a consumer
dead-letters an entry of another version rather than guess at it), ``type`` (the codec tag),
``mid`` (the producer's message id, ``{producer_id}:{sequence}``, the same on every retry of a
publish) and ``data`` (the codec's JSON). The stream entry id (``1718000000000-0``) is the same
on every redelivery of an entry.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from adapters.redis.codec import tag_of
from adapters.redis.connection import DEFAULT_PREFIX
from adapters.redis.registry import STREAM_FAMILIES

DEFAULT_FAMILIES: Mapping[type, str] = MappingProxyType(
    {kind: family for family, kinds in STREAM_FAMILIES.items() for kind in kinds}
)
"""Which family (stream) each message type goes to."""

DEFAULT_MAXLEN: Mapping[str, int] = MappingProxyType({"market": 100_000})
"""Approximate MAXLEN per family; the others get ``StreamRouting.default_maxlen``."""

FIELD_VERSION = b"v"
WIRE_VERSION = "1"
"""The version of the entries' form (fields and codec): raised when either changes incompatibly."""
FIELD_TYPE = b"type"
FIELD_MID = b"mid"
FIELD_DATA = b"data"


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamRouting:
    """Stream names and lengths, shared by publishers and consumers of one deployment."""

    prefix: str = DEFAULT_PREFIX
    families: Mapping[type, str] = field(default_factory=lambda: DEFAULT_FAMILIES)
    maxlen: Mapping[str, int] = field(default_factory=lambda: DEFAULT_MAXLEN)
    default_maxlen: int = 1_000_000
    dead_letter_maxlen: int = 100_000

    def __post_init__(self) -> None:
        for kind in self.families:
            tag_of(kind)  # CodecError for a type the codec cannot carry

    def stream(self, family: str) -> str:
        return f"{self.prefix}stream:{family}"

    def stream_of(self, message_type: type) -> str | None:
        """The stream ``message_type`` goes to, or None when it is not routed."""
        family = self.families.get(message_type)
        return None if family is None else self.stream(family)

    def streams_for(self, message_types: Iterable[type] | None = None) -> tuple[str, ...]:
        """The distinct streams carrying ``message_types`` (all routed types when None), in order."""
        kinds = self.families if message_types is None else message_types
        streams = []
        for kind in kinds:
            stream = self.stream_of(kind)
            if stream is None:
                raise ValueError(f"{kind.__name__} is not routed to a stream")
            if stream not in streams:
                streams.append(stream)
        return tuple(streams)

    def maxlen_of(self, stream: str) -> int:
        family = stream.removeprefix(f"{self.prefix}stream:")
        return self.maxlen.get(family, self.default_maxlen)

    @property
    def dead_letter_stream(self) -> str:
        return self.stream("dead-letter")


def version_problem(fields: Mapping[object, object]) -> str | None:
    """Why an entry's ``v`` field is not this process's ``WIRE_VERSION``, or None when it is."""
    raw = fields.get(FIELD_VERSION)
    if raw is None:
        return f"no 'v' field (wire format version; this process reads version {WIRE_VERSION})"
    version = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    if version != WIRE_VERSION:
        return f"wire format version {version!r}; this process reads version {WIRE_VERSION}"
    return None


def default_producer_id() -> str:
    """Unique per process start: host, pid and a random suffix (a restarted process is new)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
