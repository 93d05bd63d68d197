"""Errors of the Kraken adapter; a malformed message is the streaming layer's MalformedMessage."""

from __future__ import annotations

from adapters.exchanges.streaming.failures import MalformedMessage


class UnknownMessage(MalformedMessage):
    """A well-formed message of a channel or method this adapter does not read (counted, ignored)."""


class InstrumentLookupError(ValueError):
    """The venue's instrument list could not be read, or lacks (or garbles) a pair; names the pair."""


__all__ = ["InstrumentLookupError", "MalformedMessage", "UnknownMessage"]
