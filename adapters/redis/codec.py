"""The wire form of bus messages: one JSON object per message, tagged with its type (orjson bytes).

The form is derived from the message classes (:mod:`adapters.redis.schema`); the registered
classes are listed in :mod:`adapters.redis.registry`. Nothing persistent depends on it yet, but
it is stable: it changes only when a message class changes.

**Format.** A message is a JSON object whose first member ``"type"`` is its class name
(``"QuoteTick"``, ``"OrderFilled"``), followed by every field of the class by name, in
declaration order; every field is always present. A field's JSON value follows from its hint:

- ``Decimal``: a string, the exact text ``str(Decimal)`` writes (the to-scientific-string form
  of the General Decimal Arithmetic specification: ``"65000.10"``, ``"-0"``, ``"1E-8"``), never a
  JSON number; only finite values.
- ``int`` (nanosecond timestamps, sequences, counts): a JSON integer of at most 64 bits;
  ``bool``: ``true`` or ``false``; ``float`` (a signal's strength): a JSON number, an int
  staying an int.
- ``str`` and identifiers (``InstrumentId``, the ``NewType`` ids ``ClientOrderId``,
  ``StrategyId``...): a string.
- an ``Enum``: its value (``OrderSide.BUY`` is ``1``, ``OrderType.LIMIT`` is ``"LIMIT"``).
- ``X | None``: ``null`` or the form of ``X``. A union of types (``Decimal | int``, the limit of a
  risk rejection): the form of the value's own type (``"5.0"`` or ``5``), so the kind survives.
- ``tuple[X, ...]``, and fixed tuples such as a book level ``(price, size)``: a JSON array.
- a nested message (the ``Fill`` of an ``OrderFilled``, the intent and risk rejections of an
  ``IntentRejected``, the ``OrderEvent`` of an ``OrderUpdated``, the ``Signal`` of a
  ``SignalEmitted``): a JSON object of its fields, without a tag.

For example::

    {"type":"TradeTick","instrument_id":"BTCUSDT.BINANCE","price":"65000.10","size":"0.0015",
     "aggressor":1,"trade_id":"812","ts_event":1718000000000000000,"ts_init":1718000000000000001}

**Decoding is strict**, because a payload comes from another process: an unknown tag, a missing
or unknown field, a wrong JSON type, a decimal that is not finite or not in its exact form, an
unknown enum value, or a value the domain refuses raises :class:`CodecError` naming the type
and the field (``cannot decode OrderFilled.fill: side must be a value of OrderSide (1, -1),
was 'UP'``). Decoded values are built with the domain's validating constructors (a dataclass's
``__post_init__``, a market-data tuple's ``create``), so ``decode(encode(m)) == m`` with the
same digits, exponents and int/Decimal kinds, and nothing decodes that the domain would refuse.
Encoding refuses what it could not decode exactly (a float where a Decimal belongs, a NaN).

Changing a message's fields is a format change: consumers refuse unknown and missing fields
rather than drop or invent data, so producers and consumers are upgraded together.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson

from adapters.redis import registry
from adapters.redis.schema import FieldError, Schema, schema_of

__all__ = [
    "MESSAGE_TYPES",
    "TAG",
    "CodecError",
    "decode",
    "encode",
    "from_dict",
    "tag_of",
    "to_dict",
]

TAG = "type"
"""The member of every encoded message that names its type."""


class CodecError(ValueError):
    """A message that cannot be encoded, or a payload that is not a message this codec wrote.

    The text names the message type and the field at fault, e.g.
    ``cannot decode QuoteTick: bid_price must be a finite decimal string, was 1.5``.
    """


def _tagged(kinds: tuple[type, ...]) -> dict[str, tuple[type, Schema, frozenset[str]]]:
    by_tag: dict[str, tuple[type, Schema, frozenset[str]]] = {}
    for kind in kinds:
        if kind.__name__ in by_tag:
            raise TypeError(f"two message types are named {kind.__name__}: tags must be unique")
        schema = schema_of(kind)
        if TAG in schema.names:
            raise TypeError(f"{kind.__name__} has a field named {TAG!r}, the member that holds the tag")
        by_tag[kind.__name__] = (kind, schema, schema.names | {TAG})
    return by_tag


_BY_TAG = _tagged(registry.MESSAGE_TYPES)
_BY_TYPE = {kind: (tag, schema) for tag, (kind, schema, _) in _BY_TAG.items()}

MESSAGE_TYPES: Mapping[str, type] = MappingProxyType({tag: kind for tag, (kind, _, _) in _BY_TAG.items()})
"""Every type the codec handles, by its tag."""


def tag_of(message_type: type) -> str:
    """The tag of ``message_type``; CodecError when the codec does not handle it."""
    if message_type not in _BY_TYPE:
        raise CodecError(f"{message_type.__name__} is not a message type the codec handles")
    return message_type.__name__


def to_dict(message: object) -> dict[str, Any]:
    """``message`` as a JSON-able dict with its tag under ``"type"``; CodecError on a bad field."""
    try:
        tag, schema = _BY_TYPE[type(message)]
    except KeyError:
        raise CodecError(
            f"cannot encode {type(message).__name__}: not a message type the codec handles"
        ) from None
    try:
        return schema.encode(message, {TAG: tag})
    except FieldError as error:
        raise CodecError(f"cannot encode {error.describe(tag)}") from None


def from_dict(data: Mapping[str, Any]) -> object:
    """The message ``data`` (as made by :func:`to_dict`) encodes; CodecError when it is not one."""
    if type(data) is not dict:
        raise CodecError(f"cannot decode: expected a JSON object, was a {type(data).__name__}")
    tag = data.get(TAG)
    if type(tag) is not str or tag not in _BY_TAG:
        if tag is None:
            raise CodecError(f"cannot decode: no {TAG!r} member naming the message type")
        raise CodecError(f"cannot decode: unknown message type {tag!r}")
    _, schema, members = _BY_TAG[tag]
    try:
        return schema.decode(data, members)
    except FieldError as error:
        raise CodecError(f"cannot decode {error.describe(tag)}") from None


def encode(message: object) -> bytes:
    """``message`` as JSON bytes; CodecError for a type the codec does not handle or a bad field."""
    data = to_dict(message)
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError as error:  # a str that is not valid UTF-8 (a lone surrogate)
        raise CodecError(f"cannot encode {data[TAG]}: {error}") from None


def decode(payload: bytes | bytearray | memoryview | str) -> object:
    """The message in ``payload`` (JSON from :func:`encode`); CodecError when it is not one."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise CodecError(f"cannot decode: not JSON ({error})") from None
    return from_dict(data)
