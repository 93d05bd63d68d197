"""Reading and writing the entries of the shard streams (``shards``): the codec's form, and the
dead-letter stream for what cannot be read."""

from __future__ import annotations

import logging
from typing import Any

import redis.asyncio
import redis.asyncio.cluster
from redis.typing import EncodableT, FieldT

from adapters.redis.codec import MESSAGE_TYPES, CodecError, decode, encode, tag_of
from adapters.redis.stream_routing import (
    FIELD_DATA,
    FIELD_MID,
    FIELD_TYPE,
    FIELD_VERSION,
    WIRE_VERSION,
    version_problem,
)

AsyncClient = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster

DEAD_LETTER_MAXLEN = 100_000

log = logging.getLogger("tradeplane.redis.shards")


def entry_fields(message: object, mid: str) -> dict[FieldT, EncodableT]:
    """The fields of a stream entry carrying ``message`` (CodecError if it cannot be carried)."""
    return {
        FIELD_VERSION: WIRE_VERSION,
        FIELD_TYPE: tag_of(type(message)),
        FIELD_MID: mid,
        FIELD_DATA: encode(message),
    }


def text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def read_entry(fields: Any) -> tuple[object, str]:
    """The message of an entry and its producer's id; CodecError naming what is wrong."""
    if not fields:
        raise CodecError("the entry is empty (trimmed from the stream before it was read)")
    problem = version_problem(fields)
    if problem is not None:
        raise CodecError(problem)
    raw_type, raw_mid, raw_data = fields.get(FIELD_TYPE), fields.get(FIELD_MID), fields.get(FIELD_DATA)
    if raw_type is None or raw_mid is None or raw_data is None:
        raise CodecError("the entry lacks its 'type', 'mid' or 'data' field")
    tag = text(raw_type)
    kind = MESSAGE_TYPES.get(tag)
    if kind is None:
        raise CodecError(f"unknown message type {tag!r}")
    message = decode(raw_data)
    if type(message) is not kind:
        raise CodecError(f"'type' field says {tag} but the data holds {type(message).__name__}")
    return message, text(raw_mid)


async def dead_letter(
    client: AsyncClient,
    dead_letter_stream: str,
    *,
    stream: str,
    group: str,
    consumer: str,
    entry_id: bytes | str,
    fields: Any,
    reason: str,
) -> None:
    """Copy an entry no consumer can handle to the dead-letter stream with why, then ack it.

    The copy comes first (the two keys may be on different cluster nodes): a crash in between
    dead-letters the entry twice on its redelivery, never loses it."""
    record: dict[FieldT, EncodableT] = {
        bytes(k) if isinstance(k, bytes) else str(k): v for k, v in dict(fields or {}).items()
    }
    record.update(
        {
            b"dead_letter_stream": stream,
            b"dead_letter_id": entry_id,
            b"dead_letter_group": group,
            b"dead_letter_consumer": consumer,
            b"dead_letter_reason": reason,
        }
    )
    await client.xadd(dead_letter_stream, record, maxlen=DEAD_LETTER_MAXLEN, approximate=True)
    await client.xack(stream, group, entry_id)
    log.error("%s/%s: dead-lettered entry %s of %s: %s", group, consumer, text(entry_id), stream, reason)


def stream_batches(response: Any) -> list[tuple[str, list[tuple[bytes, Any]]]]:
    """XREAD(GROUP) replies as (stream name, entries), for RESP2 lists and RESP3 dicts alike."""
    if not response:
        return []
    pairs = response.items() if isinstance(response, dict) else response
    batches = []
    for stream, entries in pairs:
        flat = entries[0] if entries and isinstance(entries[0], list) else entries
        batches.append((text(stream), list(flat)))
    return batches
