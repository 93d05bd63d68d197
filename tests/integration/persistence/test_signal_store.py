"""SqlSignalRepository: every signal committed as it arrives, or riding the trades store's
transaction (one database); listed oldest first, exact targets."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine

from adapters.persistence.signal_store import SqlSignalRepository
from adapters.persistence.trade_store import SqlTradeRepository
from domain.identifiers import StrategyId
from domain.orders import OrderStatus, OrderType
from domain.signals import Signal
from domain.sizing import FixedQuantity
from domain.values import OrderSide
from tests.builders import ETHUSDT, TS, make_order, make_signal
from tests.integration.persistence.support import Database, state
from tests.unit.application.harness import ScriptedStrategy, build

SMA = StrategyId("sma")
RSI = StrategyId("rsi")
BUY = OrderSide.BUY
HALF = FixedQuantity(Decimal("0.5"))


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


# -- riding the trades store's transaction (one database) ----------------------------------------


def riding(database: Database, engine: Engine) -> tuple[SqlTradeRepository, SqlSignalRepository]:
    trades = database.track(SqlTradeRepository(engine))
    signals = database.track(SqlSignalRepository(engine, unit_of_work=trades))
    return trades, signals


def test_a_signal_rides_in_the_commit_that_journals_its_order(database: Database, engine: Engine) -> None:
    trades, signals = riding(database, engine)
    signal = make_signal(strategy_id=SMA, ts_event=TS + 1)
    signals.add(signal)
    reader = signals_of(database)
    assert list(reader.list()) == [], "not durable before a commit"

    order = make_order(client_order_id="O-1", order_type=OrderType.MARKET)
    trades.add_order(order)
    trades.append_order_event(order.events[0])
    trades.commit()

    assert trades.commits == 1, "one transaction for the signal and the order"
    assert list(reader.list()) == [signal]
    fresh = database.track(SqlTradeRepository(database.open()))
    assert fresh.get_order(order.client_order_id) is not None
    signals.commit()
    assert trades.commits == 1, "nothing left to commit"


def test_commit_writes_a_signal_that_caused_no_order(database: Database, engine: Engine) -> None:
    trades, signals = riding(database, engine)
    signals.commit()
    assert trades.commits == 0, "nothing pending, no transaction"
    first, second = emitted()[:2]
    signals.add(first)
    signals.add(second)

    signals.commit()

    assert trades.commits == 1
    assert list(signals_of(database).list()) == [first, second]


def test_through_the_engine_a_crash_before_the_end_of_event_commit_loses_no_order_and_no_fill(
    database: Database, engine: Engine
) -> None:
    """A signal that caused an order is in the order's own commit (the bus handles the intent
    within the event, and the OMS commits before the broker sees the order); one that caused
    nothing is committed at the end of its event. Killed just before that last commit, the
    store still holds every order and fill, and every signal that caused one."""
    trades, signals = riding(database, engine)
    h = build(trades=trades, signals=signals)
    h.strategies.add(ScriptedStrategy("s", script={"100": BUY, "100.5": "0.5"}), sizer=HALF)
    h.quote("98", "101")  # mid 99.5: the script says nothing

    before = trades.commits
    h.trade("100")  # BUY 0.5 -> an order, filled by the paper broker at once
    (order,) = h.orders.orders.values()
    assert order.status is OrderStatus.FILLED
    assert trades.commits - before == 2, "the order (with its signal) and the fill: no third commit"
    caused = list(signals_of(database).list())
    assert [s.side for s in caused] == [BUY]

    before = trades.commits
    h.trade("100.5")  # target 0.5, already held: a signal and no order
    assert trades.commits - before == 1, "committed at the end of the event"
    assert len(signals_of(database).list()) == 2

    signals.commit = lambda: None  # type: ignore[method-assign]  # killed before the event's commit
    h.trade("100.5")
    assert h.failures == []

    fresh = database.track(SqlTradeRepository(database.open()))
    assert [o.client_order_id for o in fresh.list_orders()] == [order.client_order_id]
    assert state(fresh.get_order(order.client_order_id)) == state(order)
    assert fresh.list_fills() == list(order.fills)
    stored = list(signals_of(database).list())
    assert len(stored) == 2, "the last signal, which caused nothing, was not committed yet"
    assert stored[0] == caused[0]
    assert stored[1].target_position == Decimal("0.5")
