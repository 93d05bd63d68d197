"""Order queries in SQL (ListOrders, GetOrder by venue id) answer as the in-memory store does.

The in-memory repository is the oracle: the same orders are journaled into both, and every
filter, and paging through every page, must give the same orders in the same order.
"""

from __future__ import annotations

import itertools

from sqlalchemy.engine import Engine

from adapters.memory import InMemoryTradeRepository
from adapters.persistence.trade_store import SqlTradeRepository
from application.ports import OrderQuery, TradeRepository
from domain.identifiers import StrategyId
from domain.orders import Order, OrderStatus
from tests.builders import BTCUSDT, ETHUSDT, STEP_NS, TS, make_order_in
from tests.integration.persistence.support import Database, Journal

STATUSES = [OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.FILLED, OrderStatus.CANCELED,
            OrderStatus.REJECTED, OrderStatus.PARTIALLY_FILLED]  # fmt: skip
STRATEGIES = [StrategyId("alpha"), StrategyId("beta"), None]


def _orders() -> list[Order]:
    """36 orders over two instruments, three strategies and six statuses; some share a ts_init."""
    orders = []
    for n, (instrument, status, strategy) in enumerate(
        itertools.product([BTCUSDT, ETHUSDT], STATUSES, STRATEGIES), start=1
    ):
        orders.append(
            make_order_in(
                status,
                client_order_id=f"Q-{n:02d}",
                instrument_id=instrument,
                strategy_id=strategy,
                price="100.00",
                ts_init=TS + (n // 3) * STEP_NS,  # three orders per instant: ties break on the id
            )
        )
    return orders


def _fill(trades: TradeRepository, orders: list[Order]) -> None:
    journal = Journal(trades)
    for order in orders:
        for fill in order.fills:
            trades.add_fill(fill)
        journal.add(order)
    trades.commit()


def _ids(orders: object) -> list[str]:
    return [order.client_order_id for order in orders]  # type: ignore[attr-defined]


def _all_pages(trades: TradeRepository, query: OrderQuery) -> list[list[str]]:
    pages, before = [], None
    while True:
        page = trades.query_orders(OrderQuery(**{**_fields(query), "before": before}))
        pages.append(_ids(page))
        if len(page) < query.limit:
            return pages
        before = (page[-1].ts_init, page[-1].client_order_id)


def _fields(query: OrderQuery) -> dict[str, object]:
    return {name: getattr(query, name) for name in OrderQuery.__dataclass_fields__}


def test_every_filter_and_every_page_answers_as_the_in_memory_store(
    database: Database, engine: Engine
) -> None:
    sql = database.track(SqlTradeRepository(database.open()))
    memory = InMemoryTradeRepository()
    orders = _orders()
    _fill(sql, orders)
    _fill(memory, _orders())
    fresh = database.track(SqlTradeRepository(database.open()))  # rebuilt from the journal
    queries = [
        OrderQuery(
            limit=limit, instrument_id=instrument, status=status, strategy_id=strategy, open_only=open_only
        )
        for limit in (1, 7, 100)
        for instrument in (None, ETHUSDT)
        for status in (None, OrderStatus.FILLED, OrderStatus.ACCEPTED)
        for strategy in (None, StrategyId("beta"))
        for open_only in (False, True)
    ]
    for query in queries:
        expected = _all_pages(memory, query)
        assert _all_pages(sql, query) == expected, query
        assert _all_pages(fresh, query) == expected, query
    newest = fresh.query_orders(OrderQuery(limit=3))
    assert _ids(newest) == ["Q-36", "Q-35", "Q-34"]
    assert newest[0].events == orders[-1].events  # rebuilt whole
    assert fresh.query_orders(OrderQuery(limit=0)) == []


def test_an_order_is_found_by_its_venue_id(database: Database, engine: Engine) -> None:
    sql = database.track(SqlTradeRepository(database.open()))
    order = make_order_in(OrderStatus.SUBMITTED, client_order_id="V-1", price="100.00")
    order.accept("VENUE-77", TS + 5 * STEP_NS)
    _fill(sql, [order])
    found = database.track(SqlTradeRepository(database.open())).find_by_venue_order_id("VENUE-77")
    assert found is not None
    assert found.client_order_id == "V-1"
    assert sql.find_by_venue_order_id("VENUE-78") is None
    assert sql.find_by_venue_order_id("' OR 1=1 --") is None  # a parameter, never SQL
