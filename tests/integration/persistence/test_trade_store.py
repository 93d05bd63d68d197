"""SqlTradeRepository: what is committed survives a restart exactly; nothing else is ever seen.

"A restart" is a new repository on a new engine (its own connections) over the same store.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from adapters.persistence import schema as s
from adapters.persistence.trade_store import SqlTradeRepository
from domain.identifiers import ClientOrderId, InstrumentId
from domain.orders import LiquiditySide, Order, OrderStatus, OrderType, TimeInForce
from domain.positions import Position
from domain.values import OrderSide
from tests.builders import BTCUSDT, ETHUSDT, SOLUSDT, STEP_NS, TS, make_fill_for, make_order
from tests.integration.persistence.support import WAIT_S, Database, Journal, state, trade_store

S = OrderStatus


INTEGRITY_ERRORS = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)
"""What a constraint violation raises: the stores write through the driver, so its own error."""


JOURNALED = False
"""Whether ``store`` gives journaled stores: every test runs with synchronous commits and with a
journal (``commit_mode``), which must be indistinguishable to anything that reads the store."""


@pytest.fixture(autouse=True, params=["sync", "journal"])
def commit_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    global JOURNALED  # noqa: PLW0603 - read by ``store``, which the tests call as a plain function
    JOURNALED = request.param == "journal"
    yield request.param
    JOURNALED = False


def store(
    database: Database, engine: Engine | None = None, *, journaled: bool | None = None
) -> SqlTradeRepository:
    """A trade store on ``engine``, or on a new engine as after a restart; closed after the test."""
    return trade_store(database, engine, journaled=JOURNALED if journaled is None else journaled)


def ms(n: int) -> int:
    return TS + n * STEP_NS


def write_session(journal: Journal, *, commit: bool = True) -> dict[str, Order]:
    """Five orders through their lives (a fill, a partial fill then cancel, a rejection, a
    triggered stop, a resting limit), with positions and balances, committed unit by unit."""
    trades = journal.trades

    def done() -> None:
        if commit:
            trades.commit()

    o1 = journal.add(make_order(client_order_id="O-1", quantity="2", price="100.00", ts_init=ms(1)))
    done()
    o1.submit(ms(2))
    journal.sync(o1)
    done()
    o1.accept("V-1", ms(3))
    journal.sync(o1)
    done()
    btc = Position(BTCUSDT)
    for quantity, price, fee in (("0.5", "100.00", "0.01"), ("1.5", "99.50", "0.015")):
        fill = make_fill_for(o1, quantity=quantity, price=price, fee=fee, venue_order_id="V-1")
        journal.fill(o1, fill)
        btc.apply(fill)
        trades.save_position(btc)
        trades.save_balances({"USDT": Decimal("9800.0"), "BTC": btc.quantity}, fill.ts_event)
        done()

    o2 = journal.add(
        make_order(
            client_order_id="O-2", side=OrderSide.SELL, quantity="1", price="110.000001", ts_init=ms(6)
        )
    )
    o2.submit(ms(7))
    o2.accept("V-2", ms(8))
    rebate = make_fill_for(o2, quantity="0.25", fee="-0.0000275000025", ts_event=ms(9))
    journal.fill(o2, rebate)
    btc.apply(rebate)
    trades.save_position(btc)
    trades.save_balances({"USDT": Decimal("9827.50000275"), "BTC": btc.quantity}, ms(9))
    done()
    o2.request_cancel(ms(10))
    journal.sync(o2)
    done()
    o2.cancel(ms(11), "canceled by request")
    journal.sync(o2)
    done()

    o3 = journal.add(
        make_order(
            client_order_id="O-3",
            instrument_id=ETHUSDT,
            order_type=OrderType.MARKET,
            quantity="1.5",
            time_in_force=TimeInForce.IOC,
            strategy_id=None,
            ts_init=ms(12),
        )
    )
    o3.submit(ms(13))
    o3.reject("insufficient balance", ms(14))
    journal.sync(o3)
    done()

    o4 = journal.add(
        make_order(
            client_order_id="O-4",
            instrument_id=ETHUSDT,
            order_type=OrderType.STOP_LIMIT,
            stop_price="105",
            price="106.5",
            quantity="0.001",
            reduce_only=True,
            ts_init=ms(15),
        )
    )
    o4.trigger(ms(16), Decimal("105.25"))
    o4.submit(ms(17))
    o4.accept("V-4", ms(18))
    journal.sync(o4)
    done()

    o5 = journal.add(
        make_order(
            client_order_id="O-5",
            quantity="0.00000001",
            price="90.1234567890123456789012345678901234567",
            ts_init=ms(19),
        )
    )
    o5.submit(ms(20))
    journal.sync(o5)
    done()
    return {order.client_order_id: order for order in (o1, o2, o3, o4, o5)}


def ids(orders: object) -> list[str]:
    return [order.client_order_id for order in orders]  # type: ignore[attr-defined]


def assert_empty(trades: SqlTradeRepository) -> None:
    assert trades.list_orders() == []
    assert trades.list_fills() == []
    assert trades.positions() == {}
    assert trades.balances() == {}
    assert trades.get_order(ClientOrderId("O-1")) is None


# -- round trips ---------------------------------------------------------------------------------


def test_committed_orders_are_read_back_exactly_after_a_restart(database: Database, engine: Engine) -> None:
    writer = store(database, engine)
    orders = write_session(Journal(writer))

    restarted = store(database)
    for coid, order in orders.items():
        assert state(restarted.get_order(ClientOrderId(coid))) == state(order)
    loaded = restarted.get_order(ClientOrderId("O-2"))
    assert loaded is not None
    assert loaded.status is S.CANCELED
    assert loaded.filled_quantity == Decimal("0.25")
    assert loaded.venue_order_id == "V-2"
    assert [e.status for e in loaded.events] == [
        S.INITIALIZED,
        S.SUBMITTED,
        S.ACCEPTED,
        S.PARTIALLY_FILLED,
        S.CANCEL_PENDING,
        S.CANCELED,
    ]
    assert loaded.fills[0].fee == Decimal("-0.0000275000025")
    assert loaded.fills[0].liquidity is LiquiditySide.TAKER
    triggered = restarted.get_order(ClientOrderId("O-4"))
    assert triggered is not None
    assert triggered.triggered_price == Decimal("105.25")
    assert triggered.effective_type is OrderType.LIMIT

    assert [state(o) for o in restarted.list_orders()] == [state(o) for o in orders.values()]
    assert ids(restarted.list_orders(instrument_id=ETHUSDT)) == ["O-3", "O-4"]
    assert ids(restarted.list_orders(instrument_id=SOLUSDT)) == []
    assert ids(restarted.list_orders(status=S.CANCELED)) == ["O-2"]
    assert ids(restarted.list_orders(status=S.ACCEPTED)) == ["O-4"]
    assert ids(restarted.list_orders(instrument_id=BTCUSDT, status=S.SUBMITTED)) == ["O-5"]
    assert ids(restarted.list_orders(instrument_id=ETHUSDT, status=S.FILLED)) == []

    fills = [fill for order in orders.values() for fill in order.fills]
    assert restarted.list_fills() == fills
    assert restarted.list_fills(instrument_id=BTCUSDT) == fills
    assert restarted.list_fills(instrument_id=ETHUSDT) == []
    assert restarted.journal() == [event for order in orders.values() for event in order.events]

    assert restarted.positions() == {BTCUSDT: Position.from_fills(BTCUSDT, fills).state()}
    assert restarted.balances() == {"USDT": Decimal("9827.50000275"), "BTC": Decimal("1.75")}


def test_the_orders_projection_follows_the_journal(database: Database, engine: Engine) -> None:
    trades = store(database, engine)
    orders = write_session(Journal(trades))
    trades.settle()  # the tables are read directly
    with engine.connect() as connection:
        rows = {row.client_order_id: row for row in connection.execute(select(s.orders))}
        events: dict[str, int] = dict(
            connection.execute(
                select(s.order_events.c.client_order_id, func.count()).group_by(
                    s.order_events.c.client_order_id
                )
            ).all()
        )
    for coid, order in orders.items():
        row = rows[coid]
        assert (row.status, row.venue_order_id, row.filled_quantity, row.ts_last) == (
            order.status.value,
            order.venue_order_id,
            order.filled_quantity,
            order.ts_last,
        )
        assert row.event_count == events[coid] == len(order.events)


def test_an_open_order_reloaded_after_a_restart_continues_its_journal(
    database: Database, engine: Engine
) -> None:
    before = store(database, engine)
    journal = Journal(before)
    order = journal.add(make_order(client_order_id="O-9", quantity="3", price="100"))
    order.submit(ms(1))
    order.accept("V-9", ms(2))
    journal.sync(order)
    before.commit()

    after = store(database)
    reloaded = after.get_order(ClientOrderId("O-9"))
    assert reloaded is not None
    assert after.get_order(ClientOrderId("O-9")) is reloaded, "one object per order"
    journal = Journal(after)
    journal.adopt(reloaded)
    journal.fill(reloaded, make_fill_for(reloaded, quantity="1", venue_order_id="V-9"))
    after.save_position(Position.from_fills(reloaded.instrument_id, reloaded.fills))
    after.commit()
    reloaded.request_cancel(ms(10))
    journal.sync(reloaded)
    after.commit()

    again = store(database)
    assert state(again.get_order(ClientOrderId("O-9"))) == state(reloaded)
    assert [e.status for e in reloaded.events] == [
        S.INITIALIZED,
        S.SUBMITTED,
        S.ACCEPTED,
        S.PARTIALLY_FILLED,
        S.CANCEL_PENDING,
    ]


def test_an_event_for_an_order_that_is_not_stored_is_refused(database: Database, engine: Engine) -> None:
    trades = store(database, engine)
    stray = make_order(client_order_id="O-404")
    stray.submit(ms(1))
    with pytest.raises(KeyError, match="O-404"):
        trades.append_order_event(stray.events[-1])


# -- units of work -----------------------------------------------------------------------------


def test_nothing_written_before_commit_is_seen_after_a_crash(database: Database, engine: Engine) -> None:
    crashed = store(database, engine)
    write_session(Journal(crashed), commit=False)

    assert crashed.commits == 0
    assert_empty(store(database))
    with engine.connect() as connection:
        for table in (s.orders, s.order_events, s.fills, s.positions, s.balances):
            assert connection.execute(select(func.count()).select_from(table)).scalar_one() == 0


def test_a_crash_loses_exactly_the_uncommitted_unit(database: Database, engine: Engine) -> None:
    trades = store(database, engine)
    journal = Journal(trades)
    order = journal.add(make_order(client_order_id="O-1", quantity="2"))
    order.submit(ms(1))
    order.accept("V-1", ms(2))
    journal.sync(order)
    first = make_fill_for(order, quantity="1")
    journal.fill(order, first)
    trades.save_position(Position.from_fills(BTCUSDT, [first]))
    trades.save_balances({"USDT": Decimal("9900"), "BTC": Decimal("1")}, first.ts_event)
    trades.commit()
    committed = state(order)

    # The next unit (the second fill, its event, the position and the cash) never commits.
    second = make_fill_for(order, quantity="1", price="101")
    journal.fill(order, second)
    trades.save_position(Position.from_fills(BTCUSDT, [first, second]))
    trades.save_balances({"USDT": Decimal("9799"), "BTC": Decimal("2")}, second.ts_event)

    restarted = store(database)
    assert state(restarted.get_order(ClientOrderId("O-1"))) == committed
    assert restarted.list_fills() == [first]
    assert restarted.positions() == {BTCUSDT: Position.from_fills(BTCUSDT, [first]).state()}
    assert restarted.balances() == {"USDT": Decimal("9900"), "BTC": Decimal("1")}


def test_a_commit_with_a_duplicate_client_order_id_writes_nothing(database: Database, engine: Engine) -> None:
    """Synchronous commits: the commit itself raises (with a journal the projection does, see
    test_trade_journal)."""
    first = store(database, engine, journaled=False)
    journal = Journal(first)
    journal.add(make_order(client_order_id="O-1"))
    first.save_balances({"USDT": Decimal(10000)}, ms(0))
    first.commit()

    # A second process that does not know O-1 reuses its id in a unit with a new order.
    other = store(database, journaled=False)
    journal = Journal(other)
    fresh = journal.add(make_order(client_order_id="O-2", instrument_id=ETHUSDT, ts_init=ms(1)))
    fresh.submit(ms(2))
    fresh.accept("V-2", ms(3))
    journal.fill(fresh, make_fill_for(fresh))
    other.save_position(Position.from_fills(ETHUSDT, fresh.fills))
    journal.add(make_order(client_order_id="O-1", quantity="7", ts_init=ms(4)))
    other.save_balances({"USDT": Decimal(1), "ETH": Decimal(1)}, ms(5))
    with pytest.raises(INTEGRITY_ERRORS):
        other.commit()

    restarted = store(database)
    assert ids(restarted.list_orders()) == ["O-1"]
    kept = restarted.get_order(ClientOrderId("O-1"))
    assert kept is not None
    assert kept.quantity == Decimal(1)
    assert [e.status for e in kept.events] == [S.INITIALIZED]
    assert restarted.list_fills() == []
    assert restarted.positions() == {}
    assert restarted.balances() == {"USDT": Decimal(10000)}


def test_a_commit_that_fails_midway_leaves_nothing_half_written(database: Database, engine: Engine) -> None:
    """Synchronous commits (with a journal the projection fails, see test_trade_journal)."""
    trades = store(database, engine, journaled=False)
    journal = Journal(trades)
    order = journal.add(make_order(client_order_id="O-7", quantity="2"))
    order.submit(ms(1))
    journal.sync(order)
    fill = make_fill_for(order, quantity="1")
    journal.fill(order, fill)
    trades.add_fill(fill)  # the same trade twice: refused by the store, after orders and events went in
    trades.save_position(Position.from_fills(BTCUSDT, [fill]))
    trades.save_balances({"BTC": Decimal(1)}, fill.ts_event)
    with pytest.raises(INTEGRITY_ERRORS):
        trades.commit()

    assert_empty(store(database))
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(s.order_events)).scalar_one() == 0


def test_adding_the_same_order_twice_raises(database: Database, engine: Engine) -> None:
    trades = store(database, engine)
    journal = Journal(trades)
    order = journal.add(make_order(client_order_id="O-1"))
    with pytest.raises(ValueError, match="O-1 is already stored"):
        trades.add_order(order)
    trades.commit()
    with pytest.raises(ValueError, match="O-1 is already stored"):
        trades.add_order(make_order(client_order_id="O-1", quantity="2"))
    order.submit(ms(1))
    order.reject("no", ms(2))
    journal.sync(order)
    trades.commit()  # terminal: the store forgets the object, not the id
    with pytest.raises(ValueError, match="O-1 is already stored"):
        trades.add_order(make_order(client_order_id="O-1"))
    trades.settle()
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(s.orders)).scalar_one() == 1


def test_clear_empties_the_store(database: Database, engine: Engine) -> None:
    trades = store(database, engine)
    write_session(Journal(trades))
    trades.clear()
    assert_empty(trades)
    assert_empty(store(database))


# -- concurrency --------------------------------------------------------------------------------

WRITERS = {"A": BTCUSDT, "B": InstrumentId(ETHUSDT)}
ORDERS_EACH = 20


def test_concurrent_writers_lose_nothing(database: Database, engine: Engine) -> None:
    start = threading.Barrier(len(WRITERS), timeout=WAIT_S)

    def write(prefix: str, instrument: InstrumentId) -> list[Order]:
        trades = store(database)
        journal = Journal(trades)
        position = Position(instrument)
        written = []
        start.wait()
        for i in range(ORDERS_EACH):
            order = journal.add(
                make_order(client_order_id=f"{prefix}-{i}", instrument_id=instrument, ts_init=ms(10 * i))
            )
            trades.commit()
            order.submit(ms(10 * i + 1))
            order.accept(f"V-{prefix}-{i}", ms(10 * i + 2))
            journal.sync(order)
            trades.commit()
            fill = make_fill_for(order, trade_id=f"T-{prefix}-{i}", price=str(100 + i))
            journal.fill(order, fill)
            position.apply(fill)
            trades.save_position(position)
            trades.save_balances({prefix: position.quantity}, fill.ts_event)
            trades.commit()
            written.append(order)
        return written

    with ThreadPoolExecutor(len(WRITERS)) as pool:
        futures = [pool.submit(write, prefix, instrument) for prefix, instrument in WRITERS.items()]
        written = {order.client_order_id: order for f in futures for order in f.result(timeout=WAIT_S * 3)}

    restarted = store(database)
    stored = restarted.list_orders()
    assert len(stored) == len(written) == len(WRITERS) * ORDERS_EACH
    for order in stored:
        assert state(order) == state(written[order.client_order_id])
    assert len(restarted.list_fills()) == len(written)
    for prefix, instrument in WRITERS.items():
        fills = restarted.list_fills(instrument_id=instrument)
        assert [f.client_order_id for f in fills] == [f"{prefix}-{i}" for i in range(ORDERS_EACH)]
        assert restarted.positions()[instrument] == Position.from_fills(instrument, fills).state()
        assert restarted.balances()[prefix] == Decimal(ORDERS_EACH)
