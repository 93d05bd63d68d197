"""SqlMarketDataRepository: exact rows after ``flush``, an ``append`` that never waits on the
database (a stuck writer costs dropped, counted batches), failures counted, ``close`` stops it."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from adapters.persistence import schema as s
from adapters.persistence.market_data_store import SqlMarketDataRepository
from domain.identifiers import InstrumentId
from domain.market_data import Bar, BookInvalidated, MarketEvent, QuoteTick, TradeTick
from domain.values import AggressorSide
from tests.builders import BTCUSDT, ETHUSDT, TS
from tests.integration.persistence.support import WAIT_S, Database, table_locked, wait_until, within

WRITER = "market-data-writer"
APPEND_S = 0.25
"""An append that takes longer than this waited on something (there is nothing to wait on)."""


def store_on(database: Database, engine: Engine, **options: Any) -> SqlMarketDataRepository:
    return database.track(SqlMarketDataRepository(engine, **options))


def trade(n: int, price: str = "100.5", *, instrument_id: InstrumentId = BTCUSDT) -> TradeTick:
    return TradeTick.create(
        instrument_id=instrument_id,
        price=price,
        size="0.00000001",
        aggressor=(AggressorSide.BUYER, AggressorSide.SELLER, AggressorSide.NONE)[n % 3],
        trade_id=f"T-{n}",
        ts_event=TS + n,
        ts_init=TS + n + 7,
    )


def quote(n: int) -> QuoteTick:
    return QuoteTick.create(
        instrument_id=ETHUSDT,
        bid_price="2999.999999999999999999",
        bid_size="0",
        ask_price="3000.000000000000000001",
        ask_size="123456789012345678.123456789",
        ts_event=TS + n,
        ts_init=TS + n,
    )


def bar(n: int) -> Bar:
    return Bar.create(
        instrument_id=BTCUSDT,
        open="100",
        high="101.25",
        low="0.00000000000000000000000000000000000001",
        close="100.00",
        volume="0",
        interval_ns=60_000_000_000,
        ts_event=TS + n,
        ts_init=TS + n,
    )


def stored(engine: Engine) -> tuple[list[TradeTick], list[QuoteTick], list[Bar]]:
    """Everything in the three tables, as the domain's events, in the order written."""
    with engine.connect() as connection:
        trades = [
            TradeTick(
                InstrumentId(r.instrument_id),
                r.price,
                r.size,
                AggressorSide(r.aggressor),
                r.trade_id,
                r.ts_event,
                r.ts_init,
            )
            for r in connection.execute(select(s.trades).order_by(s.trades.c.id))
        ]
        quotes = [
            QuoteTick(
                InstrumentId(r.instrument_id),
                r.bid_price,
                r.bid_size,
                r.ask_price,
                r.ask_size,
                r.ts_event,
                r.ts_init,
            )
            for r in connection.execute(select(s.quotes).order_by(s.quotes.c.id))
        ]
        bars = [
            Bar(
                InstrumentId(r.instrument_id),
                r.open,
                r.high,
                r.low,
                r.close,
                r.volume,
                r.interval_ns,
                r.ts_event,
                r.ts_init,
            )
            for r in connection.execute(select(s.bars).order_by(s.bars.c.id))
        ]
    return trades, quotes, bars


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@pytest.fixture
def writer_connected(engine: Engine) -> Iterator[threading.Event]:
    """Set when the writer thread takes a connection from the engine's pool (it is writing)."""
    connected = threading.Event()

    def on_checkout(*_: object) -> None:
        if threading.current_thread().name == WRITER:
            connected.set()

    event.listen(engine, "checkout", on_checkout)
    yield connected
    event.remove(engine, "checkout", on_checkout)


def writer_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == WRITER}


# -- what is written ---------------------------------------------------------------------------


def test_trades_quotes_and_bars_are_written_exactly_after_flush(database: Database, engine: Engine) -> None:
    store = store_on(database, engine, batch_size=4, flush_interval_s=60)
    trades = [trade(n, price=p) for n, p in enumerate(["100.5", "12345678901234567890.1234567890123456789"])]
    trades += [trade(n) for n in range(2, 7)]
    quotes = [quote(n) for n in range(3)]
    bars = [bar(n) for n in range(2)]
    events: list[MarketEvent] = [*trades, *quotes, *bars]
    for e in events:
        store.append(e)
    store.append(BookInvalidated(BTCUSDT, "a gap", TS, TS))  # not a kind the store keeps
    within(WAIT_S, store.flush)

    assert (store.written, store.ignored, store.dropped, store.failed) == (len(events), 1, 0, 0)
    assert stored(database.open()) == (trades, quotes, bars)


def test_nothing_is_written_before_a_batch_is_full_or_due(database: Database, engine: Engine) -> None:
    now = [0.0]
    store = store_on(database, engine, batch_size=100, flush_interval_s=1.0, monotonic=lambda: now[0])
    store.append(trade(1))
    now[0] = 0.5
    store.append(trade(2))
    assert store.written == 0
    assert stored(engine)[0] == []

    now[0] = 1.0  # due: this append hands the batch to the writer, no flush needed
    store.append(trade(3))
    wait_until(lambda: store.written == 3, "the due batch is written")
    assert stored(engine)[0] == [trade(1), trade(2), trade(3)]


def test_events_the_store_does_not_keep_are_not_written(database: Database, engine: Engine) -> None:
    store = store_on(database, engine, batch_size=10)
    store.append(BookInvalidated(BTCUSDT, "gap", TS, TS))
    store.append(trade(1))
    within(WAIT_S, store.flush)
    assert stored(engine) == ([trade(1)], [], [])


# -- never blocking ------------------------------------------------------------------------------


def test_append_never_waits_on_a_locked_database_and_counts_what_it_drops(
    database: Database, engine: Engine, writer_connected: threading.Event
) -> None:
    store = store_on(database, engine, batch_size=1, max_queued_batches=2, flush_interval_s=60)
    with table_locked(database, "trades"):
        took = [timed(lambda: store.append(trade(0)))]
        assert writer_connected.wait(WAIT_S), "the writer thread took the first batch"
        took += [timed(functools.partial(store.append, trade(n))) for n in range(1, 6)]

        assert max(took) < APPEND_S, f"append waited: {took}"
        assert store.dropped == 3, "two batches queued behind the stuck one, three dropped"
        assert store.written == 0
    within(WAIT_S, store.flush)

    assert (store.written, store.dropped, store.failed) == (3, 3, 0)
    assert stored(engine)[0] == [trade(0), trade(1), trade(2)]


def test_flush_writes_what_is_buffered_even_when_the_queue_is_full(
    database: Database, engine: Engine, writer_connected: threading.Event
) -> None:
    store = store_on(database, engine, batch_size=2, max_queued_batches=1, flush_interval_s=60)
    with table_locked(database, "trades"):
        store.append(trade(0))
        store.append(trade(1))  # batch 1: taken by the writer, stuck on the lock
        assert writer_connected.wait(WAIT_S)
        store.append(trade(2))
        store.append(trade(3))  # batch 2: queued (the queue is now full)
        store.append(trade(4))  # buffered
        flushing = threading.Thread(target=store.flush, daemon=True)
        flushing.start()
        time.sleep(0.05)  # flush is under way while the database is still locked
    flushing.join(WAIT_S)
    assert not flushing.is_alive(), "flush did not return after the lock went"

    assert (store.written, store.dropped, store.failed) == (5, 0, 0), "flush (graceful stop) writes it all"
    assert stored(engine)[0] == [trade(n) for n in range(5)]


# -- failures ------------------------------------------------------------------------------------


def test_a_failed_batch_is_counted_and_the_writer_goes_on(database: Database, engine: Engine) -> None:
    store = store_on(database, engine, batch_size=2, flush_interval_s=60)
    broken = TradeTick(BTCUSDT, None, Decimal(1), AggressorSide.NONE, "T-bad", TS, TS)  # type: ignore[arg-type]
    store.append(trade(1))
    store.append(broken)  # the whole batch fails (NOT NULL price): both are counted as failed
    within(WAIT_S, store.flush)
    assert (store.written, store.failed) == (0, 2)
    assert store.last_error
    assert "price" in store.last_error.lower() or "null" in store.last_error.lower()
    assert any(thread.is_alive() for thread in writer_threads())

    store.append(trade(2))
    store.append(trade(3))
    within(WAIT_S, store.flush)
    assert (store.written, store.failed, store.dropped) == (2, 2, 0)
    assert stored(engine)[0] == [trade(2), trade(3)]


@pytest.mark.parametrize("price", [0.1, Decimal("NaN")], ids=repr)
def test_a_price_that_is_not_a_finite_decimal_is_never_stored(
    database: Database, engine: Engine, price: object
) -> None:
    store = store_on(database, engine, batch_size=1)
    store.append(TradeTick(BTCUSDT, price, Decimal(1), AggressorSide.NONE, "T-x", TS, TS))  # type: ignore[arg-type]
    within(WAIT_S, store.flush)
    assert (store.written, store.failed) == (0, 1)
    with engine.connect() as connection:
        assert connection.execute(select(s.trades)).all() == []


# -- closing -----------------------------------------------------------------------------------


def test_close_writes_what_is_left_and_stops_the_writer(database: Database, engine: Engine) -> None:
    before = writer_threads()
    store = store_on(database, engine, batch_size=1, flush_interval_s=60)
    store.append(trade(1))
    started = writer_threads() - before
    assert len(started) == 1
    store.append(trade(2))

    within(WAIT_S, store.close)

    assert not any(thread.is_alive() for thread in started)
    assert store.written == 2
    assert stored(engine)[0] == [trade(1), trade(2)]
    within(WAIT_S, store.close)  # a second close is harmless


def test_close_without_anything_written_starts_no_thread(database: Database, engine: Engine) -> None:
    before = writer_threads()
    store = store_on(database, engine)
    within(WAIT_S, store.flush)
    within(WAIT_S, store.close)
    assert writer_threads() - before == set()


def test_bad_settings_are_refused(engine: Engine) -> None:
    for options in ({"batch_size": 0}, {"max_queued_batches": 0}, {"flush_interval_s": 0}):
        with pytest.raises(ValueError, match="must be positive"):
            SqlMarketDataRepository(engine, **options)  # type: ignore[arg-type]
