"""The trades store keeps each fill's fee asset and each order's post-only flag; rows written
before it kept them read as the quote currency and not post-only; a restart on the store folds
positions whose fees were paid in the base asset or a fee token to what they were."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from alembic import command
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.engine import Engine

from adapters.persistence import schema as s
from adapters.persistence.migrate import alembic_config, head_revision, upgrade
from adapters.persistence.trade_store import SqlTradeRepository
from application.messages import OrderFilled
from application.recovery import recover
from domain.identifiers import ClientOrderId, InstrumentId, TradeId
from domain.orders import Fill, LiquiditySide, Order, OrderStatus, OrderType
from domain.positions import Position
from domain.values import OrderSide
from tests.builders import BTCUSDT, STEP_NS, TS, make_fill_for, make_instrument, make_intent
from tests.integration.persistence.support import Database, Journal, release, state
from tests.unit.application.harness import Harness, btc, build, eth

BEFORE = "0004"
"""The last revision whose fills and orders had neither column."""


def store(database: Database, engine: Engine | None = None) -> SqlTradeRepository:
    return database.track(SqlTradeRepository(engine if engine is not None else database.open()))


def post_only_order(client_order_id: str = "O-1") -> Order:
    return Order(
        client_order_id=client_order_id,
        instrument_id=BTCUSDT,
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity="4",
        price="100.00",
        post_only=True,
        ts_init=TS,
    )


def test_fee_assets_and_the_post_only_flag_are_read_back_exactly(database: Database, engine: Engine) -> None:
    journal = Journal(store(database, engine))
    order = journal.add(post_only_order())
    order.submit(TS + STEP_NS)
    order.accept("V-1", TS + 2 * STEP_NS)
    for asset, fee in (("", "0.01"), ("USDT", "0.02"), ("BTC", "0.0001"), ("BNB", "0.00002")):
        fill = replace(make_fill_for(order, quantity="1", fee=fee), fee_asset=asset)
        journal.fill(order, replace(fill, liquidity=LiquiditySide.MAKER))
    position = Position.from_fills(BTCUSDT, order.fills, base="BTC", quote="USDT")
    journal.trades.save_position(position)
    journal.trades.commit()

    restarted = store(database)
    loaded = restarted.get_order(ClientOrderId("O-1"))
    assert loaded is not None
    assert loaded.post_only is True
    assert state(loaded) == state(order)
    assert [f.fee_asset for f in restarted.list_fills()] == ["", "USDT", "BTC", "BNB"]
    assert restarted.list_fills() == order.fills
    assert restarted.positions() == {BTCUSDT: position.state()}
    assert position.quantity == Decimal("3.9999")


def test_rows_written_before_the_columns_existed_read_as_quote_fees_and_not_post_only(
    database: Database,
) -> None:
    engine = database.engine
    upgrade(engine, BEFORE)
    dec = Decimal
    with engine.begin() as connection:  # what a store at the earlier revision holds
        connection.execute(
            insert(s.orders).values(
                client_order_id="O-1",
                instrument_id=str(BTCUSDT),
                side=1,
                order_type="LIMIT",
                time_in_force="GTC",
                quantity=dec("1"),
                price=dec("100"),
                reduce_only=False,
                ts_init=TS,
                status="FILLED",
                filled_quantity=dec("1"),
                ts_last=TS + 2 * STEP_NS,
                event_count=3,
            )
        )
        events = [
            ("INITIALIZED", TS, None),
            ("SUBMITTED", TS + STEP_NS, None),
            ("FILLED", TS + 2 * STEP_NS, "T-1"),
        ]
        for seq, (status, ts, trade_id) in enumerate(events):
            connection.execute(
                insert(s.order_events).values(
                    client_order_id="O-1", seq=seq, status=status, ts_event=ts, reason="", trade_id=trade_id
                )
            )
        connection.execute(
            insert(s.fills).values(
                trade_id="T-1",
                client_order_id="O-1",
                instrument_id=str(BTCUSDT),
                side=1,
                quantity=dec("1"),
                price=dec("100"),
                fee=dec("0.1"),
                liquidity="TAKER",
                ts_event=TS + 2 * STEP_NS,
            )
        )

    assert upgrade(engine) == (BEFORE, head_revision())

    trades = store(database)
    order = trades.get_order(ClientOrderId("O-1"))
    assert order is not None
    assert order.post_only is False
    assert order.status is OrderStatus.FILLED
    [fill] = trades.list_fills()
    assert fill.fee_asset == ""
    assert fill.fee == Decimal("0.1")
    assert fill == order.fills[0]


def test_a_downgrade_drops_the_columns_and_keeps_the_rows(database: Database, engine: Engine) -> None:
    journal = Journal(store(database, engine))
    order = journal.add(post_only_order())
    order.submit(TS + STEP_NS)
    journal.fill(order, replace(make_fill_for(order, fee="0.001"), fee_asset="BTC"))
    journal.trades.commit()
    release(journal.trades)

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), BEFORE)
    with engine.connect() as connection:
        assert {c["name"] for c in inspect(connection).get_columns("fills")} == {
            c.name for c in s.fills.c
        } - {"fee_asset"}
        assert "post_only" not in {c["name"] for c in inspect(connection).get_columns("orders")}
        assert connection.execute(select(func.count()).select_from(s.fills)).scalar_one() == 1
        assert connection.execute(select(s.orders.c.status)).scalar_one() == "FILLED"


def _fill_paying_in(h: Harness, order: Order, quantity: str, *, fee: str, asset: str) -> None:
    """The venue reports a fill of ``order`` at its price whose fee is paid in ``asset``."""
    assert order.price is not None
    h.bus.publish(
        OrderFilled(
            fill=Fill(
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                trade_id=TradeId(f"X-{order.client_order_id}-{len(order.fills) + 1}"),
                side=order.side,
                quantity=Decimal(quantity),
                price=order.price,
                fee=Decimal(fee),
                fee_asset=asset,
                strategy_id=order.strategy_id,
                ts_event=h.advance(),
            )
        )
    )


def test_a_restart_on_the_store_folds_positions_with_fees_in_any_asset_to_what_they_were(
    database: Database, engine: Engine
) -> None:
    bnb = make_instrument(base="BNB", lot_size="0.001")

    def engine_on(trades: SqlTradeRepository) -> Harness:
        return build(
            broker="recording",
            trades=trades,
            instruments=(btc(), eth(), bnb),
            balances={"USDT": "10000", "BNB": "1"},
        )

    first = engine_on(store(database, engine))
    first.trade("100")
    first.trade("500", instrument_id=InstrumentId(bnb.id))
    bought = first.submit(make_intent(order_type=OrderType.LIMIT, quantity="3", price="100"))
    first.broker.accept(bought, first.advance())
    _fill_paying_in(first, bought, "1", fee="0.001", asset="BTC")
    _fill_paying_in(first, bought, "1", fee="0.00017", asset="BNB")
    _fill_paying_in(first, bought, "1", fee="0.1", asset="USDT")
    sold = first.submit(
        make_intent(side=OrderSide.SELL, order_type=OrderType.LIMIT, quantity="1.5", price="101")
    )
    first.broker.accept(sold, first.advance())
    _fill_paying_in(first, sold, "1.5", fee="0.0003", asset="BTC")
    assert first.failures == []
    expected = first.portfolio.positions[BTCUSDT]
    assert expected.quantity == first.portfolio.account.balance("BTC") == Decimal("1.4987")

    second = engine_on(store(database))
    report = recover(
        trades=second.trades,
        portfolio=second.portfolio,
        orders=second.orders,
        risk=second.risk,
        order_id_prefix="TP",
    )
    assert report.mismatches == []  # the stored projection is the fold, fee assets and all
    assert second.portfolio.positions[BTCUSDT].state() == expected.state()
    assert second.portfolio.account.balances == first.portfolio.account.balances
    assert second.portfolio.fees_by_asset == first.portfolio.fees_by_asset == {"BNB": Decimal("0.00017")}
