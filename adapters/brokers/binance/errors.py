"""What a venue answer means for the request that got it, and the errors that carry it.

Every failed request falls in one class, and the class decides what the broker does next:

* ``REFUSED``: the venue did not and will not act on it (a 4xx with an ordinary error code:
  a filter failure, insufficient balance, a bad parameter). An order is rejected with the
  venue's reason.
* ``UNKNOWN``: it may or may not have been executed (a timeout, a dropped connection, a 5xx,
  ``-1006``/``-1007``). Never a failure: the broker asks the venue until it says.
* ``RATE_LIMITED``: 429/418 (or ``-1003``/``-1015``): nothing was done; send nothing until the
  ``Retry-After`` has passed.
* ``CLOCK_SKEW``: ``-1021``, the timestamp was outside the receive window: resync, resend once.
* ``NO_SUCH_ORDER``: ``-2013``, the answer to a query about an order the venue does not have.

No message built here holds a secret: the venue's text is kept, and ``redact`` removes any
signature that a transport library might have put in its own message (a URL).
"""

from __future__ import annotations

import re
from enum import Enum

UNKNOWN_CODES = frozenset({-1006, -1007})
"""The venue's own "execution status unknown" codes (unexpected bus response, timeout)."""
RATE_LIMIT_CODES = frozenset({-1003, -1015})
"""Too many requests (weight), too many new orders (order count)."""
CLOCK_SKEW_CODE = -1021
NO_SUCH_ORDER_CODE = -2013
CANCEL_REJECTED_CODE = -2011
KEY_REFUSED_CODES = frozenset({-1022, -2014, -2015})
"""Invalid signature, bad API-key format, invalid key / IP / permissions."""

_MESSAGE_CHARS = 300
_SIGNATURE = re.compile(r"(signature=)[^&\s\"']*", re.IGNORECASE)


class Outcome(Enum):
    REFUSED = "refused"
    UNKNOWN = "unknown"
    RATE_LIMITED = "rate_limited"
    CLOCK_SKEW = "clock_skew"
    NO_SUCH_ORDER = "no_such_order"


def classify(status: int, code: int | None) -> Outcome:
    """The class of an error answer: HTTP ``status`` and the venue's ``code`` (None if absent)."""
    if status >= 500 or code in UNKNOWN_CODES:
        return Outcome.UNKNOWN
    if status in (418, 429) or code in RATE_LIMIT_CODES:
        return Outcome.RATE_LIMITED
    if code == CLOCK_SKEW_CODE:
        return Outcome.CLOCK_SKEW
    if code == NO_SUCH_ORDER_CODE:
        return Outcome.NO_SUCH_ORDER
    if code is None and status == 408:  # a proxy's timeout: whether it went through is not known
        return Outcome.UNKNOWN
    return Outcome.REFUSED


def redact(text: str, *secrets: str) -> str:
    """``text`` without any ``signature=...`` value nor any of ``secrets``, cut to one log line."""
    text = _SIGNATURE.sub(r"\1<redacted>", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text if len(text) <= _MESSAGE_CHARS else f"{text[:_MESSAGE_CHARS]}..."


class BinanceBrokerError(Exception):
    """Base of the broker's errors; the message is safe to show (no key, secret or signature)."""

    outcome = Outcome.REFUSED


class VenueError(BinanceBrokerError):
    """The venue answered with an error: HTTP ``status``, its ``code`` and ``message``.

    ``retry_after_s`` is set on 429/418; ``request_timestamp_ms`` is the signed request's
    ``timestamp`` (0 for an unsigned one), which bounds when it could still be executed.
    """

    def __init__(
        self,
        what: str,
        status: int,
        code: int | None,
        message: str,
        *,
        retry_after_s: float | None = None,
        request_timestamp_ms: int = 0,
    ) -> None:
        self.what = what
        self.status = status
        self.code = code
        self.message = redact(message)
        self.retry_after_s = retry_after_s
        self.request_timestamp_ms = request_timestamp_ms
        self.outcome = classify(status, code)
        super().__init__(f"{what}: HTTP {status} ({code if code is not None else 'no code'}): {self.message}")

    @property
    def reason(self) -> str:
        """The venue's refusal as an order's reason: ``venue refused (-2010): ...``."""
        code = self.code if self.code is not None else f"HTTP {self.status}"
        return f"venue refused ({code}): {self.message}"


class TransportError(BinanceBrokerError):
    """No answer: a timeout, a refused or dropped connection, an unreadable response.

    Whether the request reached the venue is not known, so its outcome is UNKNOWN.
    """

    outcome = Outcome.UNKNOWN

    def __init__(self, what: str, problem: str, *, request_timestamp_ms: int = 0) -> None:
        self.what = what
        self.problem = redact(problem)
        self.request_timestamp_ms = request_timestamp_ms
        super().__init__(f"{what}: {self.problem}")


class RateLimitBlocked(BinanceBrokerError):
    """Not sent: the venue's rate limit is in force until ``until_ns`` (our clock, ns)."""

    outcome = Outcome.RATE_LIMITED

    def __init__(self, what: str, until_ns: int, detail: str) -> None:
        self.what = what
        self.until_ns = until_ns
        self.detail = detail
        super().__init__(f"{what}: not sent, {detail}")


class MalformedPayload(BinanceBrokerError, ValueError):
    """A venue payload without a field the broker needs, or with a field it cannot read."""

    def __init__(self, what: str, payload: object = None) -> None:
        shown = redact(repr(payload)) if payload is not None else ""
        super().__init__(f"{what}" + (f" (was {shown})" if shown else ""))


__all__ = [
    "CANCEL_REJECTED_CODE",
    "CLOCK_SKEW_CODE",
    "KEY_REFUSED_CODES",
    "NO_SUCH_ORDER_CODE",
    "BinanceBrokerError",
    "MalformedPayload",
    "Outcome",
    "RateLimitBlocked",
    "TransportError",
    "VenueError",
    "classify",
    "redact",
]
