"""Checks shared by the adapters' settings: each raises InvalidParameter naming the field."""

from __future__ import annotations

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
