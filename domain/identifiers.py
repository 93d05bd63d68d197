"""Typed identifiers, so the type checker never mixes an order id with an instrument id."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NewType

from domain.errors import InvalidValue

_SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9_\-/]{0,31}")
_VENUE = re.compile(r"[A-Z][A-Z0-9_]{0,15}")
_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9_\-.:]{1,64}")
_NAME = re.compile(r"[A-Za-z0-9_\-.:]{1,64}")


class InstrumentId(str):
    """``SYMBOL.VENUE`` in upper case, e.g. ``BTCUSDT.BINANCE``.

    A ``str`` subclass so it hashes and compares as fast as a string on the hot path.
    Raises InvalidValue for anything that is not ``SYMBOL.VENUE``.
    """

    __slots__ = ()

    def __new__(cls, value: str) -> InstrumentId:
        if isinstance(value, InstrumentId):
            return value
        if not isinstance(value, str):
            raise InvalidValue("instrument_id", value, "must be a string SYMBOL.VENUE")
        symbol, dot, venue = value.rpartition(".")
        if not dot or not _SYMBOL.fullmatch(symbol) or not _VENUE.fullmatch(venue):
            raise InvalidValue(
                "instrument_id",
                value,
                "must look like SYMBOL.VENUE in upper case, e.g. BTCUSDT.BINANCE",
            )
        return super().__new__(cls, value)

    @classmethod
    def of(cls, symbol: str, venue: str) -> InstrumentId:
        """Build from parts; the symbol is upper-cased as venues differ in case."""
        return cls(f"{symbol.upper()}.{venue.upper()}")

    @property
    def symbol(self) -> str:
        return self.rpartition(".")[0]

    @property
    def venue(self) -> str:
        return self.rpartition(".")[2]


ClientOrderId = NewType("ClientOrderId", str)
VenueOrderId = NewType("VenueOrderId", str)
StrategyId = NewType("StrategyId", str)
TradeId = NewType("TradeId", str)


def client_order_id(value: str) -> ClientOrderId:
    """Validate a client order id: 1-64 characters of ``A-Za-z0-9_-.:`` (venue-safe)."""
    if not isinstance(value, str) or not _CLIENT_ORDER_ID.fullmatch(value):
        raise InvalidValue("client_order_id", value, "must be 1-64 characters of A-Z a-z 0-9 _ - . :")
    return ClientOrderId(value)


def strategy_id(value: str) -> StrategyId:
    """Validate a strategy id: 1-64 characters of ``A-Za-z0-9_-.:``."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidValue("strategy_id", value, "must be 1-64 characters of A-Z a-z 0-9 _ - . :")
    return StrategyId(value)


def highest_sequence(client_order_ids: Iterable[str], prefix: str) -> int:
    """The highest n among ids ``{prefix}-{n}`` (0 when there is none): where a restarted
    engine's generated ids continue."""
    head = f"{prefix}-"
    return max(
        (int(i[len(head) :]) for i in client_order_ids if i.startswith(head) and i[len(head) :].isdigit()),
        default=0,
    )
