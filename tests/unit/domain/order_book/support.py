"""Builders of the order-book tests: snapshots, deltas, levels, and a book to start from."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, BookSnapshot

BTC = InstrumentId("BTCUSDT.BINANCE")
ETH = InstrumentId("ETHUSDT.BINANCE")
D = Decimal

Levels = Iterable[tuple[str, str]]


def snap(sequence: int, bids: Levels = (), asks: Levels = (), instrument: InstrumentId = BTC) -> BookSnapshot:
    return BookSnapshot.create(
        instrument_id=instrument,
        bids=bids,
        asks=asks,
        sequence=sequence,
        ts_event=sequence,
        ts_init=sequence + 1,
    )


def delta(
    first: int, last: int, bids: Levels = (), asks: Levels = (), instrument: InstrumentId = BTC
) -> BookDelta:
    return BookDelta.create(
        instrument_id=instrument,
        bids=bids,
        asks=asks,
        first_sequence=first,
        last_sequence=last,
        ts_event=last * 10,
        ts_init=last * 10 + 1,
    )


def levels(*pairs: tuple[str, str]) -> list[tuple[Decimal, Decimal]]:
    return [(D(p), D(s)) for p, s in pairs]
