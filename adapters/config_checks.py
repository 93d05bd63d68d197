"""Checks shared by the adapters' settings: each raises InvalidParameter naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit

from domain.errors import InvalidParameter


def whole_number(value: object, field: str, low: int, high: int) -> int:
    """An int (never a bool) from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameter(field, value, f"must be a whole number between {low} and {high}")
    return value


def url(value: object, field: str, schemes: tuple[str, ...]) -> str:
    """A URL with one of ``schemes``, a host, and no query or fragment; without a trailing slash."""
    if not isinstance(value, str):
        raise InvalidParameter(field, value, "must be a URL string")
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname or parts.query or parts.fragment:
        raise InvalidParameter(field, value, f"must be a {'/'.join(schemes)} URL without query")
    return value.rstrip("/")


def table_arguments(
    config: Any, values: Mapping[str, object], what: str, tuples: tuple[str, ...]
) -> dict[str, object]:
    """Keyword arguments for the settings dataclass ``config`` from a parsed TOML table: a key it
    does not have raises InvalidParameter naming it and listing the known ones (``what`` names
    the table, e.g. "kraken feed"); the ``tuples`` keys, lists in TOML, become tuples."""
    known = {field.name for field in fields(config)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidParameter(
            unknown[0], values[unknown[0]], f"is not a {what} setting (known: {', '.join(sorted(known))})"
        )
    arguments = dict(values)
    for key in tuples:
        value = arguments.get(key)
        if isinstance(value, list):
            arguments[key] = tuple(value)
    return arguments
