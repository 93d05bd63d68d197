"""Errors of the Binance adapter, each saying whether retrying may help (``is_retryable``)."""

from __future__ import annotations

from adapters.exchanges.streaming.failures import (
    MalformedMessage,
    connection_failure,
    truncated,
    truncated_text,
)

__all__ = [
    "BinanceError",
    "BinanceHttpError",
    "MalformedFrame",
    "UnknownStream",
    "connection_failure",
    "truncated",
    "truncated_text",
]


class BinanceError(Exception):
    """Base of the adapter's errors."""

    is_retryable = False


class MalformedFrame(BinanceError, MalformedMessage):
    """A frame that is not a usable Binance message: not JSON, wrong shape, missing or bad field.

    The feed counts and logs it and carries on; ``reason`` says what is wrong and
    ``payload`` holds a truncated ``repr`` of the offending part.
    """


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
