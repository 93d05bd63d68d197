"""Request parameters as the venue reads them: text by name, typed on reading, every one accounted for.

REST parameters come from the query string and a form body (the query wins when both name
one; the same name twice in one of them is refused, -1101). WebSocket API parameters come
from the request's ``params`` object. Either way a handler reads what it knows with typed
getters and then calls ``finish()``: a parameter nobody read makes the request fail with
-1104, as the venue does, so a client cannot believe an option it sent was honoured.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from adapters.exchanges.simulator.trading.errors import (
    DECIMAL_RANGE,
    INTEGER_RANGE,
    VenueError,
    empty,
    illegal,
    invalid_value,
    mandatory,
)

_DECIMAL = re.compile(DECIMAL_RANGE)
_INTEGER = re.compile(INTEGER_RANGE)
MAX_PARAMS = 64
"""More parameters than any endpoint takes: refused before anything is parsed (-1101)."""


class Params:
    """One request's parameters (name -> text); typed getters raise the venue's errors."""

    def __init__(self, values: Mapping[str, str]) -> None:
        if len(values) > MAX_PARAMS:
            raise VenueError(-1101, "Too many parameters sent for this endpoint.")
        self._values = dict(values)
        self._read: set[str] = set()

    @classmethod
    def from_form(cls, query: str, body: str = "") -> Params:
        """REST: ``query`` and ``body`` as sent (percent-encoded); the query wins on a duplicate."""
        merged = _pairs(body)
        merged.update(_pairs(query))
        return cls(merged)

    @classmethod
    def from_json(cls, params: Mapping[str, Any]) -> Params:
        """WebSocket API: the ``params`` object, its JSON values turned into the text REST would send."""
        return cls({str(name): _json_text(str(name), value) for name, value in params.items()})

    # -- reading -----------------------------------------------------------------------

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        return list(self._values)

    def raw(self, name: str) -> str | None:
        """The text as sent, marked read (``None`` when absent)."""
        self._read.add(name)
        return self._values.get(name)

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str | None:
        value = self.raw(name)
        if value is None or value == "":
            if required:
                raise mandatory(name)
            if value == "":
                raise empty(name)
            return None
        if len(value) > max_length:
            raise invalid_value(name)
        return value

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self.text(name, required=required, max_length=41)
        if value is None:
            return None
        if not _DECIMAL.fullmatch(value):
            raise illegal(name, DECIMAL_RANGE)
        return Decimal(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.text(name, required=required, max_length=20)
        if value is None:
            return None
        if not _INTEGER.fullmatch(value):
            raise illegal(name, INTEGER_RANGE)
        return int(value)

    def boolean(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise invalid_value(name)
        return value.lower() == "true"

    def choice(
        self, name: str, choices: Iterable[str], error: VenueError, *, required: bool = False
    ) -> str | None:
        value = self.text(name, required=required, max_length=64)
        if value is None:
            return None
        if value not in set(choices):
            raise error
        return value

    def finish(self) -> None:
        """Refuse the request if it sent a parameter that was never read (-1104)."""
        unread = [name for name in self._values if name not in self._read]
        if unread:
            read = len(self._values) - len(unread)
            raise VenueError(
                -1104,
                f"Not all sent parameters were read; read '{read}' parameter(s) but was sent "
                f"'{len(self._values)}'.",
            )


def _pairs(text: str) -> dict[str, str]:
    if not text:
        return {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise VenueError(-1100, "Illegal characters found in a parameter.") from None
    if len(pairs) > MAX_PARAMS:
        raise VenueError(-1101, "Too many parameters sent for this endpoint.")
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise VenueError(-1101, "Duplicate values for a parameter detected.")
        values[name] = value
    return values


def _json_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "[" + ",".join(f'"{item}"' for item in value) + "]"
    raise illegal(name, "a string, a number or a boolean")
