"""RFC 3339 timestamps with up to nanosecond precision, as integer nanoseconds since the epoch.

``datetime`` keeps microseconds only, and venues send nine fraction digits
(``2023-02-09T20:32:50.714964855Z``); the engine's clocks are integer nanoseconds, so the
fraction is read as digits, never through a float.
"""

from __future__ import annotations

import re
from calendar import timegm
from datetime import date

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_SECOND_CACHE: dict[str, int] = {}
"""Nanoseconds of a ``YYYY-MM-DDTHH:MM:SS`` prefix: messages of one second share it."""
_CACHE_LIMIT = 4096


def rfc3339_ns(text: object) -> int:
    """``2023-02-09T20:32:50.714964855Z`` -> 1675974770714964855; raises ValueError otherwise.

    An offset (``+02:00``) is applied; more than nine fraction digits are cut (not rounded).
    """
    if type(text) is not str:
        raise ValueError(f"a timestamp must be an RFC 3339 string (was {text!r:.60})")
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r:.60}")
    prefix = text[:19]
    seconds_ns = _SECOND_CACHE.get(prefix)
    if seconds_ns is None:
        year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
        try:  # a real calendar date (no 30 February); a leap second reads as the next second
            date(year, month, day)
        except ValueError:
            raise ValueError(f"not a valid date: {text!r:.60}") from None
        if not (hour <= 23 and minute <= 59 and second <= 60):
            raise ValueError(f"not a valid time of day: {text!r:.60}")
        seconds_ns = timegm((year, month, day, hour, minute, second, 0, 0, 0)) * 1_000_000_000
        if len(_SECOND_CACHE) >= _CACHE_LIMIT:
            _SECOND_CACHE.clear()
        _SECOND_CACHE[prefix] = seconds_ns
    fraction = match.group(7)
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    if match.group(8) is None:
        sign = 1 if match.group(9) == "+" else -1
        offset_s = int(match.group(10)) * 3600 + int(match.group(11)) * 60
        seconds_ns -= sign * offset_s * 1_000_000_000
    result = seconds_ns + nanos
    if result < 0:
        raise ValueError(f"a timestamp before 1970 is not a venue's: {text!r:.60}")
    return result
