"""Reading the market-data store back as the engine's events: a backtest's other source.

What a live run recorded (trades, quotes, bars) comes back as the same domain events, exact,
one time-ordered stream over the three tables, in pages so a year of ticks never sits in
memory at once.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Engine

from adapters.persistence import schema as s
from domain.identifiers import InstrumentId
from domain.market_data import Bar, MarketEvent, QuoteTick, TradeTick
from domain.values import AggressorSide

PAGE = 10_000
KINDS = ("trades", "quotes", "bars")


def read_history(
    engine: Engine,
    instrument_id: InstrumentId,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> Iterator[MarketEvent]:
    """``instrument_id``'s stored events with ``start_ns <= ts_event < end_ns``, oldest first
    (ties: trades, then quotes, then bars, each in the order stored). Raises ValueError for
    an unknown kind."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown market-data kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
    streams = []
    for rank, kind in enumerate(KINDS):
        if kind in kinds:
            table = getattr(s, kind)
            query = select(table).where(table.c.instrument_id == instrument_id)
            if start_ns is not None:
                query = query.where(table.c.ts_event >= start_ns)
            if end_ns is not None:
                query = query.where(table.c.ts_event < end_ns)
            streams.append(_keyed(engine, query.order_by(table.c.ts_event, table.c.id), kind, rank))
    for _, _, event in heapq.merge(*streams):
        yield event


def _keyed(
    engine: Engine, query: Select[Any], kind: str, rank: int
) -> Iterator[tuple[int, int, MarketEvent]]:
    convert = _CONVERT[kind]
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=PAGE).execute(query)
        for row in result:
            event = convert(row)
            yield event.ts_event, rank, event


def _trade(row: Any) -> TradeTick:
    return TradeTick(
        InstrumentId(row.instrument_id),
        row.price,
        row.size,
        AggressorSide(row.aggressor),
        row.trade_id,
        row.ts_event,
        row.ts_init,
    )


def _quote(row: Any) -> QuoteTick:
    return QuoteTick(
        InstrumentId(row.instrument_id),
        row.bid_price,
        row.bid_size,
        row.ask_price,
        row.ask_size,
        row.ts_event,
        row.ts_init,
    )


def _bar(row: Any) -> Bar:
    return Bar(
        InstrumentId(row.instrument_id),
        row.open,
        row.high,
        row.low,
        row.close,
        row.volume,
        row.interval_ns,
        row.ts_event,
        row.ts_init,
    )


_CONVERT: dict[str, Callable[[Any], MarketEvent]] = {"trades": _trade, "quotes": _quote, "bars": _bar}
