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
from sqlalchemy.exc import DBAPIError

from adapters.memory import ManualClock
from adapters.persistence.migrate import upgrade
from application.commands import CancelOrder, Halt, Resume, SubmitOrder, UpdateRiskLimits
from domain.identifiers import InstrumentId, strategy_id
from domain.intents import OrderIntent
from domain.market_data import QuoteTick, TradeTick
from domain.orders import Order, OrderStatus, OrderType
from domain.positions import Position
from domain.risk import RiskLimitBreached, TradingState
from domain.values import AggressorSide, OrderSide
from entrypoints.config import ConfigError, Settings, StorageSettings, parse_settings
from entrypoints.container import App, bootstrap
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


def _engine(settings: Settings, now: int) -> App:
    app = bootstrap(settings, clock=ManualClock(now), feeds=[])
    app.bus.publish(QuoteTick(BTC, Decimal("29999"), Decimal(5), Decimal("30001"), Decimal(5), now, now))
    app.bus.publish(TradeTick(BTC, Decimal("30000"), Decimal("0.5"), AggressorSide.BUYER, "t1", now, now))
    return app


def _submit(app: App, intent: OrderIntent) -> Order:
    """SubmitOrder, as the gRPC API sends it: a refusal raises."""
    return app.bus.execute(SubmitOrder(intent=intent)).unwrap()


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


def _release(app: App) -> None:
    """What the process's death would do: the connections go (nothing more is committed)."""
    app.close()


@pytest.fixture
def migrated(database: Database, tmp_path: Path) -> Settings:
    upgrade(database.engine)
    return _settings(database, tmp_path)


def test_positions_balances_and_working_orders_survive_a_crash(
    database: Database, migrated: Settings
) -> None:
    first = _engine(migrated, T0)
    bought = _submit(first, _intent(OrderSide.BUY, "0.3"))
    resting = _submit(first, _intent(OrderSide.BUY, "0.2", "29000"))
    assert bought.status is OrderStatus.FILLED
    assert resting.status is OrderStatus.ACCEPTED
    position = first.portfolio.positions[BTC].state()
    balances = dict(first.portfolio.account.balances)
    first.trades.commit()  # the acceptance rides with the next commit; make this run's state whole
    _release(first)

    second = _engine(migrated, T0 + 10**9)
    assert second.portfolio.positions[BTC].state() == position
    assert second.portfolio.account.balances == balances
    assert list(second.orders.open_orders) == [resting.client_order_id]
    adopted = second.orders.open_orders[resting.client_order_id]
    assert adopted.status is OrderStatus.ACCEPTED
    assert adopted.events == resting.events
    # the paper venue took it back, so a cancel completes
    second.bus.execute(CancelOrder(resting.client_order_id))
    assert adopted.status is OrderStatus.CANCELED
    # new ids continue after the stored ones
    third_order = _submit(second, _intent(OrderSide.SELL, "0.1"))
    assert third_order.client_order_id == "R-3"
    fills = list(second.trades.list_fills())
    assert Position.from_fills(BTC, fills).state() == second.portfolio.positions[BTC].state()
    _release(second)


def test_a_position_projection_that_disagrees_with_the_fills_is_reported_and_the_fills_win(
    database: Database, migrated: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first = _engine(migrated, T0)
    _submit(first, _intent(OrderSide.BUY, "0.4"))
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
    order = _submit(first, _intent(OrderSide.BUY, "0.2", "29000"))
    # the acknowledgement was never committed: the store has the order as SUBMITTED
    _release(first)
    second = _engine(migrated, T0 + 10**9)
    adopted = second.orders.open_orders[order.client_order_id]
    assert adopted.status is OrderStatus.ACCEPTED  # the paper venue answered for it
    _release(second)


def test_an_engine_on_a_database_behind_head_refuses_to_start(database: Database, tmp_path: Path) -> None:
    upgrade(database.engine, "0001")
    with pytest.raises(ConfigError, match=r"has revision 0001.*run `tradeplane migrate`"):
        bootstrap(_settings(database, tmp_path), feeds=[])


def test_a_database_with_tables_but_no_revision_is_never_touched(database: Database, tmp_path: Path) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE someone_elses (id INTEGER)"))
    with pytest.raises(ConfigError, match=r"has no schema.*run `tradeplane migrate`"):
        bootstrap(_settings(database, tmp_path), feeds=[])


def test_the_embedded_default_needs_no_setup_new_sqlite_files_start_at_head(tmp_path: Path) -> None:
    instrument = {"id": str(BTC), "base": "BTC", "quote": "USDT", "price_tick": "0.01", "lot_size": "0.001"}
    settings = replace(
        parse_settings({"instruments": [instrument]}),
        storage=StorageSettings(kind="sql", data_dir=str(tmp_path / "fresh")),
    )
    engine = bootstrap(settings, feeds=[])
    try:
        assert (tmp_path / "fresh" / "tradeplane.db").exists()
        assert (tmp_path / "fresh" / "market_data.db").exists()
        assert engine.trades.list_orders() == []
    finally:
        engine.close()


def test_a_kill_switch_survives_a_restart_and_the_drawdown_keeps_its_peak(
    database: Database, migrated: Settings
) -> None:
    first = _engine(migrated, T0)
    _submit(first, _intent(OrderSide.BUY, "0.1"))
    first.bus.execute(Halt("operator pulled the plug"))
    peak = first.risk.trading.peak_equity
    _release(first)

    second = _engine(migrated, T0 + 10**9)
    assert second.risk.trading.state is TradingState.HALTED
    assert "operator pulled the plug" in second.risk.trading.message
    assert second.risk.trading.peak_equity == peak
    with pytest.raises(RiskLimitBreached):
        _submit(second, _intent(OrderSide.BUY, "0.1"))
    second.bus.execute(Resume())
    assert second.risk.trading.state is TradingState.ACTIVE
    _release(second)

    third = _engine(migrated, T0 + 2 * 10**9)
    assert third.risk.trading.state is TradingState.ACTIVE  # the resume was kept too
    _release(third)


def test_reset_state_clears_the_store_before_it_is_loaded(database: Database, migrated: Settings) -> None:
    first = _engine(migrated, T0)
    _submit(first, _intent(OrderSide.BUY, "0.2"))
    _submit(first, _intent(OrderSide.BUY, "0.1", "29000"))
    first.bus.execute(Halt("before the reset"))
    _release(first)

    second = bootstrap(migrated, clock=ManualClock(T0 + 10**9), feeds=[], reset_state=True)
    try:
        assert second.portfolio.positions == {}
        assert second.orders.open_orders == {}
        assert second.risk.trading.state is TradingState.ACTIVE
        assert second.portfolio.account.balances == {"USDT": Decimal("100000")}
        assert second.trades.list_orders() == []
    finally:
        _release(second)


# -- reconciliation with the paper venue's own record (application/reconciliation.py) ----------


def _store_goes_away(engine: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on nothing this engine does is committed (as if it died right here), while
    the venue goes on recording what it does."""

    def refuse() -> None:
        raise RuntimeError("the process is dying")

    monkeypatch.setattr(engine.trades, "commit", refuse)


def test_fills_the_venue_made_but_the_store_never_committed_are_booked_at_restart(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _engine(migrated, T0)
    resting = _submit(first, _intent(OrderSide.BUY, "0.4", "29990"))
    first.trades.commit()
    _store_goes_away(first, monkeypatch)
    first.bus.publish(TradeTick(BTC, Decimal("29980"), Decimal("0.25"), AggressorSide.SELLER, "t2", T0, T0))
    assert resting.filled_quantity == Decimal("0.25")  # the venue filled it; the store did not hear
    venue_fills = list(resting.fills)
    _release(first)
    monkeypatch.undo()

    second = _engine(migrated, T0 + 10**9)
    order = second.orders.open_orders[resting.client_order_id]
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.fills == venue_fills  # the venue's own fills: same trade ids, prices and fees
    assert second.portfolio.positions[BTC].quantity == Decimal("0.25")
    assert Position.from_fills(BTC, second.trades.list_fills()).quantity == Decimal("0.25")
    _release(second)

    third = _engine(migrated, T0 + 2 * 10**9)  # booked once, and durably
    assert [f.trade_id for f in third.trades.list_fills()] == [f.trade_id for f in venue_fills]
    _release(third)


def test_an_order_the_venue_closed_while_the_store_thought_it_open_is_closed(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _engine(migrated, T0)
    resting = _submit(first, _intent(OrderSide.BUY, "0.2", "29000"))
    first.trades.commit()
    original_commit = first.trades.commit
    calls = 0

    def commit_once() -> None:  # the cancel request is committed; its confirmation is not
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("the process is dying")
        original_commit()

    monkeypatch.setattr(first.trades, "commit", commit_once)
    first.bus.execute(CancelOrder(resting.client_order_id))
    _release(first)
    monkeypatch.undo()

    second = _engine(migrated, T0 + 10**9)
    assert second.orders.open_orders == {}
    closed = second.orders.get(resting.client_order_id)
    assert closed.status is OrderStatus.CANCELED
    assert closed.events[-1].reason == "canceled on request"
    _release(second)


def _with_latency(settings: Settings) -> Settings:
    """One second on the way to the venue: what is still travelling when the process dies is lost."""
    broker = replace(settings.broker, options={**settings.broker.options, "latency_ns": 10**9})
    return replace(settings, broker=broker)


def test_an_order_the_venue_never_received_is_rejected_by_its_answer(migrated: Settings) -> None:
    settings = _with_latency(migrated)
    first = _engine(settings, T0)
    lost = _submit(first, _intent(OrderSide.BUY, "0.2", "29000"))
    assert lost.status is OrderStatus.SUBMITTED  # still on its way when the process dies
    _release(first)

    second = _engine(settings, T0 + 10**9)
    order = second.orders.get(lost.client_order_id)
    assert order.status is OrderStatus.REJECTED
    assert "never reached the venue" in order.events[-1].reason
    _release(second)


def test_a_cancel_the_venue_never_received_is_sent_again(migrated: Settings) -> None:
    settings = _with_latency(migrated)
    first = _engine(settings, T0)
    resting = _submit(first, _intent(OrderSide.BUY, "0.2", "29000"))
    later = T0 + 2 * 10**9
    quote = QuoteTick(BTC, Decimal("29999"), Decimal(5), Decimal("30001"), Decimal(5), later, later)
    first.bus.publish(quote)
    assert resting.status is OrderStatus.ACCEPTED
    first.bus.execute(CancelOrder(resting.client_order_id))
    assert resting.status is OrderStatus.CANCEL_PENDING  # the cancel is on its way
    _release(first)

    second = _engine(settings, later + 10**9)  # its first market event lets the resent cancel arrive
    assert second.orders.get(resting.client_order_id).status is OrderStatus.CANCELED
    _release(second)


def test_an_order_working_at_the_venue_but_unknown_to_the_store_is_taken_in_as_external(
    database: Database, migrated: Settings
) -> None:
    first = _engine(migrated, T0)
    resting = _submit(first, _intent(OrderSide.BUY, "0.1", "29000"))  # a spot account holds no BTC
    _release(first)
    with database.engine.begin() as connection:  # the store lost it (restored from an old backup)
        for table in ("order_events", "orders"):
            connection.execute(text(f"DELETE FROM {table}"))

    second = _engine(migrated, T0 + 10**9)
    external = second.orders.open_orders[resting.client_order_id]
    assert external.strategy_id is None
    assert external.status is OrderStatus.ACCEPTED
    assert external.venue_order_id == resting.venue_order_id
    assert second.trades.get_order(resting.client_order_id) is not None  # journaled now
    second.bus.execute(CancelOrder(resting.client_order_id))  # and an operator can cancel it
    assert external.status is OrderStatus.CANCELED
    _release(second)


def test_reset_state_also_gives_the_paper_venue_a_fresh_start(migrated: Settings) -> None:
    first = _engine(migrated, T0)
    _submit(first, _intent(OrderSide.BUY, "0.1", "29000"))
    _release(first)
    second = bootstrap(migrated, clock=ManualClock(T0 + 10**9), feeds=[], reset_state=True)
    try:
        assert second.orders.open_orders == {}  # not even as an external order
    finally:
        _release(second)


def test_a_venue_log_that_is_not_one_is_refused_with_a_clear_error(migrated: Settings) -> None:
    path = migrated.storage.venue_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this is not a venue log\n")
    with pytest.raises(ConfigError, match=r"\[broker\]: .*paper_venue\.log"):
        bootstrap(migrated, feeds=[])


def test_account_snapshots_are_the_live_equity_curve_and_survive_a_restart(migrated: Settings) -> None:
    first = _engine(migrated, T0)
    _submit(first, _intent(OrderSide.BUY, "0.3"))
    taken = first.engine.snapshot_account()
    assert taken is not None
    assert taken.fees == first.portfolio.positions[BTC].fees
    assert taken.equity == first.portfolio.equity()
    _release(first)

    second = _engine(migrated, T0 + 10**9)
    assert second.trades.account_snapshots() == [taken]  # exact decimals, as taken
    later = second.engine.snapshot_account()
    assert second.trades.account_snapshots(since_ns=T0 + 1) == [later]
    assert second.trades.account_snapshots(limit=1) == [later]
    _release(second)

    third = bootstrap(migrated, clock=ManualClock(T0 + 2 * 10**9), feeds=[], reset_state=True)
    try:
        assert third.trades.account_snapshots() == []
    finally:
        _release(third)


def test_limits_changed_before_a_restart_give_way_to_the_configured_ones_and_say_so(
    migrated: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first = _engine(migrated, T0)
    tighter = replace(first.risk.limits, max_order_quantity=Decimal("0.2"), max_open_orders=3)
    first.bus.execute(UpdateRiskLimits(tighter))  # e.g. over gRPC UpdateRiskLimits
    _release(first)

    second = _engine(migrated, T0 + 10**9)
    assert second.risk.limits.max_order_quantity == Decimal(1)  # the configured one
    warnings = [r.getMessage() for r in caplog.records if "risk limit" in r.getMessage()]
    assert any("max_order_quantity was 0.2 before the restart, is 1 now" in w for w in warnings), warnings
    assert any("max_open_orders was 3 before the restart, is unset now" in w for w in warnings), warnings
    _release(second)


def test_an_unreadable_limits_record_does_not_stop_a_restart(
    database: Database, migrated: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first = _engine(migrated, T0)
    first.bus.execute(Halt("before the record is damaged"))
    _release(first)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE risk_state SET limits = '{not json'"))

    second = _engine(migrated, T0 + 10**9)
    assert second.risk.trading.state is TradingState.HALTED  # the state itself is intact
    assert any("stored risk limits cannot be read" in r.getMessage() for r in caplog.records)
    _release(second)


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE risk_state SET state = 'BOGUS'",
        "UPDATE risk_state SET peak_equity = 'abc'",
        "UPDATE balances SET amount = 'abc'",
    ],
)
def test_a_corrupt_row_in_the_trades_store_is_a_clear_error_not_a_traceback(
    database: Database, migrated: Settings, damage: str
) -> None:
    first = _engine(migrated, T0)
    _submit(first, _intent(OrderSide.BUY, "0.1"))
    _release(first)
    if database.backend == "postgres" and "'abc'" in damage:
        with pytest.raises(DBAPIError), database.engine.begin() as connection:
            connection.execute(text(damage))  # NUMERIC refuses the damage itself
        return
    with database.engine.begin() as connection:
        connection.execute(text(damage))
    with pytest.raises(ConfigError, match="holds a value this engine cannot read"):
        bootstrap(migrated, clock=ManualClock(T0 + 10**9), feeds=[])


def test_after_a_restart_the_portfolio_and_the_risk_state_share_one_equity_peak(migrated: Settings) -> None:
    first = _engine(migrated, T0)
    _submit(first, _intent(OrderSide.BUY, "0.3"))
    first.bus.execute(Halt("record the state"))
    peak = first.risk.trading.peak_equity
    _release(first)
    second = _engine(migrated, T0 + 10**9)
    assert second.risk.trading.peak_equity == peak
    assert second.portfolio.peak_equity >= peak  # the same peak, raised by any new mark
    _release(second)


def test_reset_state_on_a_store_that_cannot_open_keeps_the_venue_log(
    migrated: Settings, tmp_path: Path
) -> None:
    first = _engine(migrated, T0)
    _submit(first, _intent(OrderSide.BUY, "0.1", "29000"))
    _release(first)
    log_path = migrated.storage.venue_log_path()
    before = log_path.read_text()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    broken = replace(migrated, storage=replace(migrated.storage, trades_url=f"sqlite:///{blocker}/x/y.db"))
    with pytest.raises(ConfigError):
        bootstrap(broken, feeds=[], reset_state=True)
    assert log_path.read_text() == before  # nothing was cleared before the stores opened
