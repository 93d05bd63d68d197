"""The market-data store read back as one time-ordered stream of the engine's events (a backtest source)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from adapters.persistence import market_history
from adapters.persistence.market_history import read_history
from domain.market_data import MarketEvent
from tests.builders import BTCUSDT, ETHUSDT, TS
from tests.integration.persistence.support import WAIT_S, Database, within
from tests.integration.persistence.test_market_data_store import bar, quote, store_on, trade


def test_stored_events_come_back_exact_in_time_order_within_the_range(
    database: Database, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(market_history, "PAGE", 3)  # several pages per table
    store = store_on(database, engine, batch_size=5, flush_interval_s=60)
    events: list[MarketEvent] = [trade(n) for n in range(0, 20, 2)]
    events += [bar(n) for n in range(1, 20, 4)]
    events += [trade(n, instrument_id=ETHUSDT) for n in range(3)]  # another instrument
    for event in events:
        store.append(event)
    within(WAIT_S, store.flush)

    btc = sorted((e for e in events if e.instrument_id == BTCUSDT), key=lambda e: e.ts_event)
    assert list(read_history(database.open(), BTCUSDT)) == btc
    window = [e for e in btc if TS + 4 <= e.ts_event < TS + 13]
    assert list(read_history(database.open(), BTCUSDT, start_ns=TS + 4, end_ns=TS + 13)) == window
    assert list(read_history(database.open(), BTCUSDT, kinds=("bars",))) == [
        e for e in btc if type(e).__name__ == "Bar"
    ]
    assert list(read_history(database.open(), ETHUSDT, kinds=("quotes",))) == []


def test_an_unknown_kind_is_named(database: Database, engine: Engine) -> None:
    with pytest.raises(ValueError, match="books"):
        list(read_history(engine, BTCUSDT, kinds=("books",)))


def test_quotes_come_back_too(database: Database, engine: Engine) -> None:
    store = store_on(database, engine, batch_size=2, flush_interval_s=60)
    quotes = [quote(n) for n in range(5)]
    for q in quotes:
        store.append(q)
    within(WAIT_S, store.flush)
    assert list(read_history(database.open(), ETHUSDT)) == quotes
