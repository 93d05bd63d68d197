"""A message class's JSON form, derived from its fields and their type hints (no field list by hand).

:func:`schema_of` reads a frozen dataclass or a ``NamedTuple`` (``dataclasses.fields`` or
``_fields``, and ``typing.get_type_hints``) and builds, once per class, an encoder and a
decoder per field, following the rules of the wire format described in
:mod:`adapters.redis.codec`. A hint those rules do not cover (``object``, a ``dict``, a union
whose members look alike in JSON) raises TypeError when the schema is built, never later on a
message.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from enum import Enum
from itertools import repeat
from types import NoneType, UnionType
from typing import Any, NamedTuple, Union, get_args, get_origin, get_type_hints

from domain.errors import DomainError, InvalidValue

_TEXT_CACHE_SIZE = 4096
"""Distinct texts remembered by each cache of validated values (decimals, instrument ids): they
repeat from one message to the next; a full cache starts again empty."""

_REFUSED = (DomainError, ValueError, ArithmeticError)
"""What a validating constructor raises on values it refuses (a huge int as a signal's strength
makes ``math.isfinite`` raise OverflowError)."""


class FieldError(Exception):
    """A value the codec refuses, and where it sits in the message.

    ``path`` grows as the error travels out of nested values: ``.fill.side``, ``.bids[0][1]``,
    ``.rejections[2]``. ``whole`` marks a problem of the object at ``path`` itself (not a JSON
    object, missing fields, refused by its constructor) rather than of one value.
    """

    def __init__(self, problem: str, value: object = None, *, whole: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.value = value
        self.whole = whole
        self.path = ""

    def at(self, step: str) -> FieldError:
        """The same error, one level further out (``step`` is ``.name`` or ``[index]``)."""
        self.path = step + self.path
        return self

    def describe(self, root: str) -> str:
        """``{root}{object path}: {field} {problem}, was {value!r}``; a whole object's has no value."""
        if self.whole:
            return f"{root}{self.path}: {self.problem}"
        head, _, field = self.path.rpartition(".")
        return f"{root}{head}: {field} {self.problem}, was {self.value!r}"


class _Codec(NamedTuple):
    """How values of one type hint travel, both ways, and what to say when one is refused."""

    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    wire_types: frozenset[type]
    """The Python types of its JSON form (a union dispatches on them when decoding)."""
    noun: str
    """What the JSON value must be: "a finite decimal string"."""
    py_noun: str
    """What the Python value must be: "a finite Decimal"."""
    encodes_as_is: tuple[type, ...] = ()
    """Python types that are their own JSON form here (a str, an int): no call to ``encode``."""
    decodes_as_is: tuple[type, ...] = ()
    """JSON types that are their own value here: no call to ``decode``."""


class Schema:
    """One message class as a JSON object: its fields in declaration order, each with its codec.

    ``encode(message, into)`` adds the fields of ``message`` to the dict ``into``;
    ``decode(data, members)`` checks that ``data`` is a dict with exactly the keys ``members``
    and builds the message. Both raise FieldError. Decoded values are built with the class's
    validating constructor: a dataclass checks itself in ``__post_init__``; a NamedTuple with a
    ``create`` classmethod (market data, whose plain constructor does not validate) is built
    with ``create``.

    The two functions are generated as straight-line Python from the fields (as ``dataclasses``
    generates ``__init__``; the text is in ``source``): a loop over the fields costs about twice
    as much per message, and these run for every message between services.
    """

    __slots__ = ("decode", "encode", "kind", "names", "source")

    def __init__(self, kind: type) -> None:
        tuple_fields = _named_tuple_fields(kind)
        if dataclasses.is_dataclass(kind):
            names = tuple(field.name for field in dataclasses.fields(kind))
        elif tuple_fields is not None:
            names = tuple_fields
        else:
            raise TypeError(f"{kind.__name__} is neither a dataclass nor a NamedTuple")
        hints = get_type_hints(kind)
        codecs = [_codec_for(hints[name], f"{kind.__name__}.{name}") for name in names]
        create = getattr(kind, "create", None) if tuple_fields is not None else None
        scope: dict[str, Any] = {
            "FieldError": FieldError,
            "REFUSED": _REFUSED,
            "build": create if callable(create) else kind,
            "member_problems": _member_problems,
        }
        for index, codec in enumerate(codecs):
            scope[f"encodes_as_is_{index}"] = codec.encodes_as_is
            scope[f"encode_{index}"] = codec.encode
            scope[f"decodes_as_is_{index}"] = codec.decodes_as_is
            scope[f"decode_{index}"] = codec.decode
        self.kind = kind
        self.names = frozenset(names)
        """The members of its JSON object."""
        self.source = _ENCODE.format(
            fields="".join(_ENCODE_FIELD.format(name=name, index=index) for index, name in enumerate(names))
            or _NO_FIELDS
        ) + _DECODE.format(
            fields="".join(_DECODE_FIELD.format(name=name, index=index) for index, name in enumerate(names))
            or _NO_FIELDS,
            arguments=", ".join(f"{name}=value_{index}" for index, name in enumerate(names)),
        )
        exec(compile(self.source, f"<codec of {kind.__name__}>", "exec"), scope)
        self.encode: Callable[[Any, dict[str, Any]], dict[str, Any]] = scope["encode"]
        self.decode: Callable[[object, frozenset[str]], Any] = scope["decode"]


# The generated functions; ``field`` says which field a FieldError comes from.
_ENCODE = """\
def encode(message, into):
    field = ""
    try:
{fields}    except FieldError as error:
        raise error.at("." + field) from None
    return into

"""
_ENCODE_FIELD = """\
        field = "{name}"
        value = message.{name}
        into[field] = value if type(value) in encodes_as_is_{index} else encode_{index}(value)
"""
_DECODE = """\
def decode(data, members):
    if type(data) is not dict:
        raise FieldError("expected a JSON object, was " + repr(data), whole=True)
    if data.keys() != members:
        raise FieldError(member_problems(data, members), whole=True)
    field = ""
    try:
{fields}    except FieldError as error:
        raise error.at("." + field) from None
    try:
        return build({arguments})
    except REFUSED as error:
        raise FieldError(str(error), whole=True) from None
"""
_NO_FIELDS = "        pass\n"
_DECODE_FIELD = """\
        field = "{name}"
        raw = data[field]
        value_{index} = raw if type(raw) in decodes_as_is_{index} else decode_{index}(raw)
"""


_schemas: dict[type, Schema] = {}


def schema_of(kind: type) -> Schema:
    """The schema of ``kind`` (built once); TypeError when a field's hint has no JSON form here."""
    schema = _schemas.get(kind)
    if schema is None:
        schema = _schemas[kind] = Schema(kind)
    return schema


def _named_tuple_fields(kind: type) -> tuple[str, ...] | None:
    """The field names of a NamedTuple class; None for any other class."""
    fields = getattr(kind, "_fields", None) if issubclass(kind, tuple) else None
    return None if fields is None else tuple(fields)


def _member_problems(data: dict[Any, Any], members: frozenset[str]) -> str:
    missing = sorted(members - data.keys())
    unknown = sorted(map(repr, data.keys() - members))
    problems = []
    if missing:
        problems.append(f"missing field(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}")
    return "; ".join(problems)


# -- one codec per kind of type hint -------------------------------------------------------------


def _codec_for(hint: Any, where: str) -> _Codec:
    origin = get_origin(hint)
    if origin is Union or origin is UnionType:
        members = [arg for arg in get_args(hint) if arg is not NoneType]
        inner = _codec_for(members[0], where) if len(members) == 1 else _union(members, where)
        return _optional(inner) if len(members) < len(get_args(hint)) else inner
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return _tuple_of(_codec_for(args[0], where))
        return _fixed_tuple(tuple(_codec_for(arg, where) for arg in args))
    supertype = getattr(hint, "__supertype__", None)  # a typing.NewType (ClientOrderId, ...)
    if supertype is not None:
        return _codec_for(supertype, where)
    if isinstance(hint, type):
        simple = _SIMPLE.get(hint)
        if simple is not None:
            return simple
        if issubclass(hint, Enum):
            return _enum(hint, where)
        if issubclass(hint, str):
            identifier = _identifiers.get(hint)
            if identifier is None:
                identifier = _identifiers[hint] = _identifier(hint)
            return identifier
        if dataclasses.is_dataclass(hint) or _named_tuple_fields(hint) is not None:
            return _object(hint)
    raise TypeError(f"{where}: the Redis codec has no JSON form for {hint!r}")


def _exact(types: tuple[type, ...], problem: str) -> Callable[[Any], Any]:
    """A value of one of ``types`` (exactly: a bool is no int here) is its own form; others are refused."""

    def check(value: Any) -> Any:
        if type(value) in types:
            return value
        raise FieldError(problem, value)

    return check


def _decimal_encode(value: Any) -> str:
    if type(value) is Decimal and value.is_finite():
        return str(value)
    raise FieldError("must be a finite Decimal", value)


_decimals: dict[str, Decimal] = {}
"""Decimals already decoded, by their text (prices repeat from one message to the next)."""


def _decimal_decode(raw: Any) -> Decimal:
    if type(raw) is not str:
        raise FieldError("must be a finite decimal string", raw)
    value = _decimals.get(raw)
    if value is not None:
        return value
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    # Only the exact text str() writes: " 1.5", "1_0" or "+1" would not survive a round trip.
    if value is None or not value.is_finite() or str(value) != raw:
        raise FieldError("must be a finite decimal string", raw)
    if len(_decimals) >= _TEXT_CACHE_SIZE:
        _decimals.clear()
    _decimals[raw] = value
    return value


def _float_encode(value: Any) -> float | int:
    if (type(value) is float and math.isfinite(value)) or type(value) is int:
        return value  # an int stays an int (a signal's strength of 0 or 1)
    raise FieldError("must be a finite float", value)


def _str_encode(value: Any) -> str:
    if isinstance(value, str):  # a str subclass (an InstrumentId) is written as the str it is
        return value
    raise FieldError("must be a str", value)


def _str_decode(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    raise FieldError("must be a string", raw)


def _plain(kind: type, noun: str, py_noun: str) -> _Codec:
    """A type whose values are their own JSON form (an int, a bool): only that exact type passes."""
    types = (kind,)
    return _Codec(
        _exact(types, f"must be {py_noun}"),
        _exact(types, f"must be {noun}"),
        frozenset(types),
        noun,
        py_noun,
        types,
        types,
    )


# Each codec's functions handle every value; ``encodes_as_is``/``decodes_as_is`` only spare a call.
# Integers of more than 64 bits are refused by orjson, on both sides.
_SIMPLE: dict[type, _Codec] = {
    Decimal: _Codec(
        _decimal_encode, _decimal_decode, frozenset({str}), "a finite decimal string", "a finite Decimal"
    ),
    int: _plain(int, "an integer", "an int"),
    bool: _plain(bool, "true or false", "a bool"),
    float: _Codec(
        _float_encode,
        _exact((float, int), "must be a number"),
        frozenset({float, int}),
        "a number",
        "a finite float",
        (int,),
        (float, int),
    ),
    str: _Codec(_str_encode, _str_decode, frozenset({str}), "a string", "a str", (str,), (str,)),
}


_identifiers: dict[type, _Codec] = {}
"""One codec (and so one cache of validated texts) per identifier class."""


def _identifier(kind: type[str]) -> _Codec:
    """A validating str subclass (InstrumentId): each distinct text is validated once."""
    known: dict[str, str] = {}

    def decode(raw: Any) -> str:
        value = known.get(raw) if isinstance(raw, str) else None
        if value is not None:
            return value
        if not isinstance(raw, str):
            raise FieldError("must be a string", raw)
        try:
            value = kind(raw)
        except InvalidValue as error:
            raise FieldError(error.problem, raw) from None
        except _REFUSED as error:
            raise FieldError(str(error), raw) from None
        if len(known) >= _TEXT_CACHE_SIZE:
            known.clear()
        known[raw] = value
        return value

    return _Codec(_str_encode, decode, frozenset({str}), f"a {kind.__name__}", "a str", (kind, str))


def _enum(kind: type[Enum], where: str) -> _Codec:
    members = {member.value: member for member in kind}
    wire_types = frozenset(type(value) for value in members)
    if not wire_types <= {str, int}:
        raise TypeError(f"{where}: the values of {kind.__name__} are not all strings or integers")
    problem = f"must be a value of {kind.__name__} ({', '.join(map(str, members))})"

    def encode(value: Any) -> Any:
        if type(value) is kind:
            return value._value_  # what .value returns, without the descriptor's cost
        raise FieldError(f"must be a member of {kind.__name__}", value)

    def decode(raw: Any) -> Any:
        # The JSON type first: True and 1.0 would otherwise find OrderSide.BUY (and a str never
        # equals an int, so the value then picks the member of that type).
        member = members.get(raw) if type(raw) in wire_types else None
        if member is None:
            raise FieldError(problem, raw)
        return member

    return _Codec(encode, decode, wire_types, f"a value of {kind.__name__}", f"a member of {kind.__name__}")


def _optional(inner: _Codec) -> _Codec:
    encode_inner, decode_inner = inner.encode, inner.decode

    def encode(value: Any) -> Any:
        return None if value is None else encode_inner(value)

    def decode(raw: Any) -> Any:
        return None if raw is None else decode_inner(raw)

    return _Codec(
        encode,
        decode,
        inner.wire_types | {NoneType},
        f"{inner.noun} or null",
        f"{inner.py_noun} or None",
        (*inner.encodes_as_is, NoneType),
        (*inner.decodes_as_is, NoneType),
    )


def _union(members: list[Any], where: str) -> _Codec:
    """Several types in one field (``Decimal | int``): each must look different in JSON."""
    codecs = [_codec_for(member, where) for member in members]
    by_wire_type: dict[type, _Codec] = {}
    for codec in codecs:
        for wire_type in codec.wire_types:
            if wire_type in by_wire_type:
                raise TypeError(f"{where}: the members of {members} are not told apart by their JSON type")
            by_wire_type[wire_type] = codec
    noun = " or ".join(codec.noun for codec in codecs)
    py_noun = " or ".join(codec.py_noun for codec in codecs)

    def encode(value: Any) -> Any:
        for codec in codecs:
            try:
                return codec.encode(value)
            except FieldError:
                continue
        raise FieldError(f"must be {py_noun}", value)

    def decode(raw: Any) -> Any:
        codec = by_wire_type.get(type(raw))
        if codec is None:
            raise FieldError(f"must be {noun}", raw)
        return codec.decode(raw)

    return _Codec(encode, decode, frozenset(by_wire_type), noun, py_noun)


def _tuple_of(item: _Codec) -> _Codec:
    """``tuple[X, ...]``: a JSON array; an error names the index (``rejections[2]``)."""
    encode_item, decode_item = item.encode, item.decode

    def encode(value: Any) -> list[Any]:
        if type(value) is not tuple:
            raise FieldError("must be a tuple", value)
        return _each(repeat(encode_item), value)

    def decode(raw: Any) -> tuple[Any, ...]:
        if type(raw) is not list:
            raise FieldError(f"must be a list of {item.noun}", raw)
        return tuple(_each(repeat(decode_item), raw))

    return _Codec(encode, decode, frozenset({list}), f"a list of {item.noun}", "a tuple")


def _fixed_tuple(items: tuple[_Codec, ...]) -> _Codec:
    """``tuple[X, Y]`` (a book level): a JSON array of exactly that many values."""
    size = len(items)
    noun = f"a list of {size}: {', '.join(item.noun for item in items)}"
    encoders = tuple(item.encode for item in items)
    decoders = tuple(item.decode for item in items)

    def encode(value: Any) -> list[Any]:
        if type(value) is not tuple or len(value) != size:
            raise FieldError(f"must be a tuple of {size}", value)
        return _each(encoders, value)

    def decode(raw: Any) -> tuple[Any, ...]:
        if type(raw) is not list or len(raw) != size:
            raise FieldError(f"must be {noun}", raw)
        return tuple(_each(decoders, raw))

    return _Codec(encode, decode, frozenset({list}), noun, f"a tuple of {size}")


def _each(functions: Iterable[Callable[[Any], Any]], values: Iterable[Any]) -> list[Any]:
    """Each function applied to its value, in order; a FieldError names the index."""
    out = []
    for index, (function, value) in enumerate(zip(functions, values, strict=False)):
        try:
            out.append(function(value))
        except FieldError as error:
            raise error.at(f"[{index}]") from None
    return out


def _object(kind: type) -> _Codec:
    """A nested message (the ``Fill`` of an ``OrderFilled``): a JSON object without a tag."""
    schema = schema_of(kind)
    members = schema.names

    def encode(value: Any) -> dict[str, Any]:
        if type(value) is not kind:
            raise FieldError(f"must be a {kind.__name__}", value)
        return schema.encode(value, {})

    def decode(raw: Any) -> Any:
        return schema.decode(raw, members)

    return _Codec(encode, decode, frozenset({dict}), "a JSON object", f"a {kind.__name__}")
