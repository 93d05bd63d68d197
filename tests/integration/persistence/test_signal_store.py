"""SqlSignalRepository: every signal committed as it arrives, listed oldest first, exact targets."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine

from adapters.persistence.signal_store import SqlSignalRepository
from domain.identifiers import StrategyId
from domain.signals import Signal
from domain.values import OrderSide
from tests.builders import ETHUSDT, TS, make_signal
from tests.integration.persistence.support import Database

SMA = StrategyId("sma")
RSI = StrategyId("rsi")


def signals_of(database: Database, engine: Engine | None = None) -> SqlSignalRepository:
    return database.track(SqlSignalRepository(engine if engine is not None else database.open()))


def emitted() -> list[Signal]:
    return [
        make_signal(strategy_id=SMA, ts_event=TS + 1),
        make_signal(
            strategy_id=RSI,
            instrument_id=ETHUSDT,
            side=None,
            target_position="-0.123456789012345678901234567890123456",
            strength=0.3,
            reason="RSI 81.2 above 80: go short",
            ts_event=TS + 2,
        ),
        make_signal(strategy_id=SMA, side=OrderSide.SELL, strength=0.1, ts_event=TS + 3),
        make_signal(strategy_id=SMA, side=None, target_position="0", reason="flat: stop", ts_event=TS + 4),
        make_signal(strategy_id=RSI, side=None, target_position="1E+3", reason="é → ✓", ts_event=TS + 5),
    ]


def test_signals_are_read_back_exactly_by_a_new_repository(database: Database, engine: Engine) -> None:
    writer = signals_of(database, engine)
    signals = emitted()
    for signal in signals:
        writer.add(signal)

    reader = signals_of(database)
    assert list(reader.list()) == signals
    target = reader.list(strategy_id=RSI)[0].target_position
    assert target == Decimal("-0.123456789012345678901234567890123456")
    assert type(target) is Decimal
    assert reader.list(strategy_id=SMA)[0].side is OrderSide.BUY


def test_list_filters_by_strategy_and_keeps_the_latest_within_the_limit(
    database: Database, engine: Engine
) -> None:
    store = signals_of(database, engine)
    signals = emitted()
    for signal in signals:
        store.add(signal)

    assert list(store.list(strategy_id=SMA)) == [signals[0], signals[2], signals[3]]
    assert list(store.list(strategy_id=RSI)) == [signals[1], signals[4]]
    assert list(store.list(strategy_id=StrategyId("none"))) == []
    assert list(store.list(limit=2)) == signals[3:], "the latest two, oldest first"
    assert list(store.list(strategy_id=SMA, limit=2)) == [signals[2], signals[3]]
    assert list(store.list(strategy_id=SMA, limit=1)) == [signals[3]]


def test_an_empty_store_lists_nothing(database: Database, engine: Engine) -> None:
    assert list(signals_of(database, engine).list()) == []
