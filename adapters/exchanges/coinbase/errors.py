"""Errors of the Coinbase adapter."""

from __future__ import annotations

from adapters.exchanges.streaming.failures import MalformedMessage


class CoinbaseError(Exception):
    """Base of the adapter's errors."""


class MalformedFrame(CoinbaseError, MalformedMessage):
    """A frame that is not a usable Coinbase message: not JSON, wrong shape, missing or bad field.

    The feed counts and logs it and carries on. ``reason`` says what is wrong, ``payload``
    holds a truncated ``repr`` of the offending part. ``channel`` and ``sequence`` are the
    envelope's when it could be read (None otherwise): a bad ``l2_data`` frame is a lost
    book update, a bad frame of another channel is not.
    """

    def __init__(
        self, reason: str, payload: object = None, *, channel: str | None = None, sequence: int | None = None
    ) -> None:
        super().__init__(reason, payload)
        self.channel = channel
        self.sequence = sequence


class ProductLookupError(CoinbaseError, ValueError):
    """The public product endpoint could not describe a product: unknown, unreachable, or malformed."""

    def __init__(self, product_id: str, problem: str) -> None:
        self.product_id = product_id
        self.problem = problem
        super().__init__(f"product {product_id}: {problem}")
