"""The OMS on the SQL trade store: after a run on the paper broker, a fresh repository on the same
store holds every order exactly as the OMS has it, and positions that are the fold of the fills."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine

from adapters.brokers.paper import PaperBrokerConfig
from adapters.persistence.trade_store import SqlTradeRepository
from domain.orders import Order, OrderStatus, OrderType
from domain.positions import Position
from domain.values import AggressorSide, OrderSide
from tests.builders import make_intent
from tests.integration.persistence.support import Database, state
from tests.unit.application.harness import BTC, ETH, Harness, build

S = OrderStatus


def run(database: Database, engine: Engine) -> tuple[Harness, dict[str, Order]]:
    """Market and limit orders, partial fills, a cancel, a triggered stop, fees and a maker rebate."""
    trades = database.track(SqlTradeRepository(engine))
    h = build(
        trades=trades,
        paper=PaperBrokerConfig(maker_fee_bps=Decimal("-1"), taker_fee_bps=Decimal("7.5")),
    )
    h.quote("99.00", "101.00", size="2")
    h.quote("2999.00", "3001.00", size="5", instrument_id=ETH)
    taken = h.submit(make_intent(quantity="0.5"))
    resting = h.submit(make_intent(order_type=OrderType.LIMIT, price="100.00", quantity="3"))
    h.trade("100.00", "1", aggressor=AggressorSide.SELLER)
    h.trade("99.50", "0.75", aggressor=AggressorSide.SELLER)
    eth = h.submit(make_intent(instrument_id=ETH, quantity="1.25"))
    sold = h.submit(make_intent(side=OrderSide.SELL, quantity="0.2"))
    h.advance()
    h.cancel(resting.client_order_id)
    stop = h.submit(
        make_intent(side=OrderSide.SELL, order_type=OrderType.STOP_MARKET, stop_price="98.00", quantity="0.2")
    )
    h.trade("97.90", "1")
    working = h.submit(make_intent(order_type=OrderType.LIMIT, price="50.00", quantity="1"))
    orders = {
        "taken": taken,
        "resting": resting,
        "eth": eth,
        "sold": sold,
        "stop": stop,
        "working": working,
    }
    assert h.failures == []
    return h, orders


def test_a_fresh_repository_holds_what_the_oms_did(database: Database, engine: Engine) -> None:
    h, orders = run(database, engine)
    # One more fill: its commit also makes the last acknowledgement durable.
    orders["last"] = h.submit(make_intent(instrument_id=ETH, side=OrderSide.SELL, quantity="0.5"))
    assert h.failures == []
    assert [orders[name].status for name in orders] == [
        S.FILLED,
        S.CANCELED,
        S.FILLED,
        S.FILLED,
        S.FILLED,
        S.ACCEPTED,
        S.FILLED,
    ]
    assert len(orders["resting"].fills) == 2, "partially filled twice, then canceled"
    assert orders["stop"].triggered_price == Decimal("97.90")

    fresh = database.track(SqlTradeRepository(database.open()))
    oms = h.orders.orders
    assert len(oms) == len(orders)
    for coid, order in oms.items():
        assert state(fresh.get_order(coid)) == state(order), coid
    assert [o.client_order_id for o in fresh.list_orders()] == [o.client_order_id for o in orders.values()]
    assert [o.client_order_id for o in fresh.list_orders(status=S.ACCEPTED)] == [
        orders["working"].client_order_id
    ]

    fills = fresh.list_fills()
    assert fills == [fill for order in orders.values() for fill in order.fills]
    assert any(fill.fee < 0 for fill in fills), "a maker rebate"
    stored = fresh.positions()
    assert set(stored) == {BTC, ETH}
    for instrument_id, position in stored.items():
        assert (
            position
            == Position.from_fills(instrument_id, fresh.list_fills(instrument_id=instrument_id)).state()
        )
        assert position == h.portfolio.positions[instrument_id].state()
    assert fresh.balances() == dict(h.portfolio.account.balances)


def test_a_crash_after_an_acknowledgement_leaves_the_order_in_flight(
    database: Database, engine: Engine
) -> None:
    h, orders = run(database, engine)
    working = orders["working"]
    assert working.status is S.ACCEPTED  # acknowledged, and no commit since

    fresh = database.track(SqlTradeRepository(database.open()))
    stored = fresh.get_order(working.client_order_id)
    assert stored is not None
    assert stored.status is S.SUBMITTED, "the acknowledgement rides with the next commit"
    assert stored.events == working.events[: len(stored.events)]
    for name, order in orders.items():
        if name != "working":
            assert state(fresh.get_order(order.client_order_id)) == state(order), name
    for instrument_id, position in fresh.positions().items():
        assert position == h.portfolio.positions[instrument_id].state()
