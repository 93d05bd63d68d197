"""Free text in requests must be printable: no control characters reach the log or the state.

Every ``string`` of a request (nested messages, repeated fields, map keys and values) is
checked. Refused: every character of Unicode category C (controls such as NUL, TAB, CR, LF,
ESC, DEL and C1; format characters such as zero-width spaces and bidi overrides; surrogates;
private use; unassigned code points) and the line and paragraph separators U+2028/U+2029.
These can forge or hide log lines, break terminals, or make two ids look alike. Letters, marks,
digits, punctuation, symbols and spaces of any script are accepted.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from entrypoints.grpc.errors import ApiError, invalid

_REFUSED_SEPARATORS = frozenset({"Zl", "Zp"})


def first_control(text: str) -> int | None:
    """The index of the first refused character of ``text``, or None when it is clean."""
    if text.isprintable():  # C speed; false also for spaces other than ' ', which are fine
        return None
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category[0] == "C" or category in _REFUSED_SEPARATORS:
            return index
    return None


def check_text(text: str, field: str, *, what: str = "") -> None:
    """Raise INVALID_ARGUMENT naming ``field`` if ``text`` holds a refused character."""
    index = first_control(text)
    if index is not None:
        raise _refusal(field, what, text[index], index)


def _refusal(field: str, what: str, char: str, index: int) -> ApiError:
    return invalid(
        field,
        f"{what}contains a control character (U+{ord(char):04X} at position {index});"
        " only printable text is accepted",
    )


def check_message(message: Message, prefix: str = "") -> None:
    """Check every string set in ``message``; the refusal names the field by its path."""
    flat = _flat_strings(message.DESCRIPTOR)
    if flat is not None and all(getattr(message, name).isprintable() for name in flat):
        return  # the common case: a flat request whose text is plain ASCII or printable
    for field, value in message.ListFields():
        name = prefix + field.name
        if field.type == FieldDescriptor.TYPE_STRING:
            if field.is_repeated:
                for index, item in enumerate(value):
                    check_text(item, f"{name}[{index}]")
            else:
                check_text(value, name)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            entry = field.message_type
            if entry is None:  # never for a message field; keeps the types honest
                continue
            if entry.GetOptions().map_entry:
                _check_map(value, entry, name)
            elif field.is_repeated:
                for index, item in enumerate(value):
                    check_message(item, f"{name}[{index}].")
            else:
                check_message(value, name + ".")


_FLAT: dict[Any, tuple[str, ...] | None] = {}


def _flat_strings(descriptor: Any) -> tuple[str, ...] | None:
    """The string fields of a message type with no nested message, map or repeated string
    (most requests); None for any other. Checking those by name is a few attribute reads,
    where walking ``ListFields`` builds a tuple per field set."""
    try:
        return _FLAT[descriptor]
    except KeyError:
        pass
    names: list[str] = []
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE or (
            field.type == FieldDescriptor.TYPE_STRING and field.is_repeated
        ):
            _FLAT[descriptor] = None
            return None
        if field.type == FieldDescriptor.TYPE_STRING:
            names.append(field.name)
    flat = _FLAT[descriptor] = tuple(names)
    return flat


def _check_map(entries: Mapping[Any, Any], entry: Descriptor, name: str) -> None:
    value_field = entry.fields_by_name["value"]
    for key, item in entries.items():
        if isinstance(key, str):
            check_text(key, name, what="a key ")
        if value_field.type == FieldDescriptor.TYPE_STRING:
            check_text(item, f"{name}.{key}")
        elif value_field.type == FieldDescriptor.TYPE_MESSAGE:
            check_message(item, f"{name}.{key}.")
