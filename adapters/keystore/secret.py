"""``Secret``: a string that shows itself only when asked to, and ``mask`` for an API key.

A secret that travels as a plain ``str`` ends up, sooner or later, in a log line, a repr in a
traceback or a config dump. Wrapped, every accidental rendering prints ``<secret>`` and only a
deliberate ``reveal()`` gives the value. Pickling and copying are refused so it cannot be
written anywhere in clear by a generic serialiser.
"""

from __future__ import annotations

import hmac
from typing import NoReturn

_SHOWN = "<secret>"


class Secret:
    """A secret value; ``str``, ``repr`` and ``format`` give ``<secret>``, ``reveal()`` the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"a Secret wraps a str, not a {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The value itself: call it only where the secret is used (signing, decrypting)."""
        return self._value

    def __repr__(self) -> str:
        return _SHOWN

    def __str__(self) -> str:
        return _SHOWN

    def __format__(self, spec: str) -> str:
        return format(_SHOWN, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        raise TypeError("a Secret is not hashable (its hash would leak facts about its value)")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or copied: it is never written in clear")


def mask(api_key: str) -> str:
    """Enough of an API key to tell two apart (``vmPU…h8A``), never enough to use it.

    Keys under 16 characters show nothing at all: four and three of them would be most of it.
    """
    if len(api_key) < 16:
        return "…"
    return f"{api_key[:4]}…{api_key[-3:]}"
