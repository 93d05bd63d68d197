"""A restart on the SQL stores: what one engine did, the next one starts from.

Both engines are built by ``bootstrap`` with ``[storage] kind = "sql"`` on the same database;
the first is dropped without a stop (as after ``kill -9``: only committed work remains).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.memory import ManualClock
from adapters.persistence.migrate import upgrade
from application.engine import Engine
from domain.identifiers import InstrumentId, strategy_id
from domain.intents import OrderIntent
from domain.market_data import QuoteTick, TradeTick
from domain.orders import OrderStatus, OrderType
from domain.positions import Position
from domain.risk import RiskLimitBreached, TradingState
from domain.values import AggressorSide, OrderSide
from entrypoints.config import ConfigError, Settings, StorageSettings, parse_settings
from entrypoints.container import bootstrap
from tests.integration.persistence.support import Database

BTC = InstrumentId("BTCUSDT.BINANCE")
T0 = 1_767_225_600_000_000_000


def _settings(database: Database, tmp_path: Path) -> Settings:
    base = parse_settings(
        {
            "engine": {"order_id_prefix": "R"},
            "account": {"balances": {"USDT": "100000"}},
            "instruments": [
                {"id": str(BTC), "base": "BTC", "quote": "USDT", "price_tick": "0.01", "lot_size": "0.001"}
            ],
            "broker": {"kind": "paper", "taker_fee_bps": "5"},
            "risk": {"max_order_quantity": "1", "max_position_quantity": "5"},
        }
    )
    url = database.url
    storage = StorageSettings(
        kind="sql", data_dir=str(tmp_path), trades_url=url, signals_url=url, market_data_url=url
    )
    return replace(base, storage=storage)


def _engine(settings: Settings, now: int) -> Engine:
    engine = bootstrap(settings, clock=ManualClock(now), feeds=[])
    engine.bus.publish(QuoteTick(BTC, Decimal("29999"), Decimal(5), Decimal("30001"), Decimal(5), now, now))
    engine.bus.publish(TradeTick(BTC, Decimal("30000"), Decimal("0.5"), AggressorSide.BUYER, "t1", now, now))
    return engine


def _intent(side: OrderSide, quantity: str, price: str | None = None) -> OrderIntent:
    return OrderIntent(
        strategy_id=strategy_id("manual"),
        instrument_id=BTC,
        side=side,
        quantity=Decimal(quantity),
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        price=Decimal(price) if price else None,
        ts_event=T0,
    )


def _release(engine: Engine) -> None:
    """What the process's death would do: the connections go (nothing more is committed)."""
    engine.close()


@pytest.fixture
def migrated(database: Database, tmp_path: Path) -> Settings:
    upgrade(database.engine)
    return _settings(database, tmp_path)


def test_positions_balances_and_working_orders_survive_a_crash(
    database: Database, migrated: Settings
) -> None:
    first = _engine(migrated, T0)
    bought = first.execution.submit_intent(_intent(OrderSide.BUY, "0.3"))
    resting = first.execution.submit_intent(_intent(OrderSide.BUY, "0.2", "29000"))
    assert bought.status is OrderStatus.FILLED
    assert resting.status is OrderStatus.ACCEPTED
    position = first.portfolio.positions[BTC].state()
    balances = dict(first.portfolio.account.balances)
    first.trades.commit()  # the acceptance rides with the next commit; make this run's state whole
    _release(first)

    second = _engine(migrated, T0 + 10**9)
    assert second.portfolio.positions[BTC].state() == position
    assert second.portfolio.account.balances == balances
    assert list(second.execution.open_orders) == [resting.client_order_id]
    adopted = second.execution.open_orders[resting.client_order_id]
    assert adopted.status is OrderStatus.ACCEPTED
    assert adopted.events == resting.events
    # the paper venue took it back, so a cancel completes
    second.execution.cancel(resting.client_order_id)
    assert adopted.status is OrderStatus.CANCELED
    # new ids continue after the stored ones
    third_order = second.execution.submit_intent(_intent(OrderSide.SELL, "0.1"))
    assert third_order.client_order_id == "R-3"
    fills = list(second.trades.list_fills())
    assert Position.from_fills(BTC, fills).state() == second.portfolio.positions[BTC].state()
    _release(second)


def test_a_position_projection_that_disagrees_with_the_fills_is_reported_and_the_fills_win(
    database: Database, migrated: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first = _engine(migrated, T0)
    first.execution.submit_intent(_intent(OrderSide.BUY, "0.4"))
    folded = first.portfolio.positions[BTC].state()
    _release(first)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE positions SET quantity = '9'"))
    second = _engine(migrated, T0 + 10**9)
    assert second.portfolio.positions[BTC].state() == folded
    assert any("differs from the fold" in record.getMessage() for record in caplog.records)
    _release(second)


def test_an_order_never_acknowledged_is_settled_by_the_venue_not_assumed_rejected(
    database: Database, migrated: Settings
) -> None:
    first = _engine(migrated, T0)
    order = first.execution.submit_intent(_intent(OrderSide.BUY, "0.2", "29000"))
    # the acknowledgement was never committed: the store has the order as SUBMITTED
    _release(first)
    second = _engine(migrated, T0 + 10**9)
    adopted = second.execution.open_orders[order.client_order_id]
    assert adopted.status is OrderStatus.ACCEPTED  # the paper venue answered for it
    _release(second)


def test_an_engine_on_a_database_behind_head_refuses_to_start(database: Database, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `tradeplane migrate`"):
        bootstrap(_settings(database, tmp_path), feeds=[])


def test_a_kill_switch_survives_a_restart_and_the_drawdown_keeps_its_peak(
    database: Database, migrated: Settings
) -> None:
    first = _engine(migrated, T0)
    first.execution.submit_intent(_intent(OrderSide.BUY, "0.1"))
    first.execution.halt("operator pulled the plug")
    peak = first.trading.peak_equity
    _release(first)

    second = _engine(migrated, T0 + 10**9)
    assert second.trading.state is TradingState.HALTED
    assert "operator pulled the plug" in second.trading.message
    assert second.trading.peak_equity == peak
    with pytest.raises(RiskLimitBreached):
        second.execution.submit_intent(_intent(OrderSide.BUY, "0.1"))
    second.execution.resume()
    assert second.trading.state is TradingState.ACTIVE
    _release(second)

    third = _engine(migrated, T0 + 2 * 10**9)
    assert third.trading.state is TradingState.ACTIVE  # the resume was kept too
    _release(third)


def test_reset_state_clears_the_store_before_it_is_loaded(database: Database, migrated: Settings) -> None:
    first = _engine(migrated, T0)
    first.execution.submit_intent(_intent(OrderSide.BUY, "0.2"))
    first.execution.submit_intent(_intent(OrderSide.BUY, "0.1", "29000"))
    first.execution.halt("before the reset")
    _release(first)

    second = bootstrap(migrated, clock=ManualClock(T0 + 10**9), feeds=[], reset_state=True)
    try:
        assert second.portfolio.positions == {}
        assert second.execution.open_orders == {}
        assert second.trading.state is TradingState.ACTIVE
        assert second.portfolio.account.balances == {"USDT": Decimal("100000")}
        assert second.trades.list_orders() == []
    finally:
        _release(second)
