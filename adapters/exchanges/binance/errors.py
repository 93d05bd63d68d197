"""Errors of the Binance adapter, each saying whether retrying may help (``is_retryable``)."""

from __future__ import annotations

_PAYLOAD_CHARS = 200
"""How much of an offending payload an error (and so a log line) keeps."""


def truncated(payload: object, limit: int = _PAYLOAD_CHARS) -> str:
    """``repr`` of ``payload`` cut to ``limit`` characters, for one-line logs."""
    text = repr(payload)
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"


class BinanceError(Exception):
    """Base of the adapter's errors."""

    is_retryable = False


class MalformedFrame(BinanceError, ValueError):
    """A frame that is not a usable Binance message: not JSON, wrong shape, missing or bad field.

    The feed counts and logs it and carries on; ``reason`` says what is wrong and
    ``payload`` holds a truncated ``repr`` of the offending part.
    """

    def __init__(self, reason: str, payload: object = None) -> None:
        self.reason = reason
        self.payload = truncated(payload)
        super().__init__(f"{reason} (was {self.payload})")


class UnknownStream(MalformedFrame):
    """A frame of a stream (or raw event type) this adapter does not parse."""


class BinanceHttpError(BinanceError):
    """A REST call answered with an error status (``code``/``msg`` from Binance's error body)."""

    def __init__(
        self, status: int, code: int | None, message: str, *, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"HTTP {status} (code {code}): {message}")

    @property
    def is_retryable(self) -> bool:  # type: ignore[override]
        # 429 = over the limit, 418 = IP banned after ignoring 429s: both clear after Retry-After.
        return self.status >= 500 or self.status in (418, 429)

    @property
    def is_rate_limited(self) -> bool:
        return self.status in (418, 429)
