"""A trading session written to a trades store, and everything that store must then hold.

Shared by the journal's crash test (a child process writes it, is killed, and the parent
checks a restarted store against the same session written synchronously elsewhere) and its
tests in-process. Run as a script it is that child: it writes the session to the store at
``argv[1]`` with the journal ``argv[2]``, prints ``COMMITTED`` and waits to be killed.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from adapters.persistence import schema as s
from adapters.persistence.database import open_engine
from adapters.persistence.signal_store import SqlSignalRepository
from adapters.persistence.trade_journal import JournalSettings
from adapters.persistence.trade_store import SqlTradeRepository
from application.ports import AccountSnapshot
from domain.positions import Position
from domain.risk import RiskLimits, RiskReason, TradingSnapshot, TradingState
from domain.values import OrderSide
from tests.builders import BTCUSDT, ETHUSDT, STEP_NS, TS, make_fill_for, make_order, make_signal
from tests.integration.persistence.support import Journal, state

TABLES = (
    s.orders,
    s.order_events,
    s.fills,
    s.positions,
    s.balances,
    s.risk_state,
    s.account_snapshots,
    s.signals,
)


def ms(n: int) -> int:
    return TS + n * STEP_NS


def write(trades: SqlTradeRepository, signals: SqlSignalRepository) -> None:
    """Three orders (filled in two parts, cancelled after a partial fill, rejected), a signal
    riding the first commit, positions, balances, the trading state and account snapshots;
    one commit per unit of work, as the OMS makes them."""
    journal = Journal(trades)
    signals.add(make_signal(ts_event=ms(0)))
    o1 = journal.add(make_order(client_order_id="J-1", quantity="2", price="100.00", ts_init=ms(1)))
    trades.commit()
    o1.submit(ms(2))
    o1.accept("V-1", ms(3))
    journal.sync(o1)
    trades.commit()
    btc = Position(BTCUSDT)
    for n, (quantity, price) in enumerate((("0.5", "100.00"), ("1.5", "99.999999"))):
        fill = make_fill_for(o1, quantity=quantity, price=price, fee="0.0001", venue_order_id="V-1")
        journal.fill(o1, fill)
        btc.apply(fill)
        trades.save_position(btc)
        trades.save_balances({"USDT": Decimal("9800.00000001") - n, "BTC": btc.quantity}, fill.ts_event)
        trades.commit()
    o2 = journal.add(
        make_order(
            client_order_id="J-2", instrument_id=ETHUSDT, side=OrderSide.SELL, quantity="3", ts_init=ms(6)
        )
    )
    o2.submit(ms(7))
    o2.accept("V-2", ms(8))
    eth = Position(ETHUSDT)
    part = make_fill_for(o2, quantity="1", fee="-0.00000001", venue_order_id="V-2", ts_event=ms(9))
    journal.fill(o2, part)
    eth.apply(part)
    trades.save_position(eth)
    trades.commit()
    o2.cancel(ms(10))
    journal.sync(o2)
    o3 = journal.add(make_order(client_order_id="J-3", quantity="1", ts_init=ms(11)))
    o3.submit(ms(12))
    o3.reject("insufficient balance", ms(13))
    journal.sync(o3)
    limits = RiskLimits.from_mapping({"max_order_quantity": "5"})
    snapshot = TradingSnapshot(
        state=TradingState.REDUCE_ONLY,
        reason=RiskReason.DAILY_LOSS_LIMIT,
        message="daily loss limit reached",
        since_ns=ms(14),
        day=20_454,
        equity=Decimal("9500.5"),
        opening_equity=Decimal("10000"),
        peak_equity=Decimal("10000.25"),
    )
    trades.save_trading_state(snapshot, limits, ms(14))
    trades.save_account_snapshot(
        AccountSnapshot(
            ts_ns=ms(14),
            equity=Decimal("9500.5"),
            peak_equity=Decimal("10000.25"),
            realized_pnl=Decimal("-499.75"),
            fees=Decimal("0.25"),
        )
    )
    trades.commit()


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the trades and signals tables (ids included), in id or key order."""
    found = {}
    with engine.connect() as connection:
        for table in TABLES:
            key = list(table.primary_key.columns)
            found[table.name] = [tuple(row) for row in connection.execute(select(table).order_by(*key))]
    return found


@dataclass
class Held:
    """What a trades store holds, read through the port (orders as their full state)."""

    orders: dict[str, Any]
    fills: list[Any]
    positions: dict[Any, Any]
    balances: dict[str, Decimal]
    trading_state: TradingSnapshot | None
    limits: RiskLimits | None
    snapshots: list[AccountSnapshot]
    signals: list[Any]


def held(trades: SqlTradeRepository, signals: SqlSignalRepository) -> Held:
    return Held(
        orders={order.client_order_id: state(order) for order in trades.list_orders()},
        fills=list(trades.list_fills()),
        positions=dict(trades.positions()),
        balances=dict(trades.balances()),
        trading_state=trades.stored_trading_state(),
        limits=trades.stored_risk_limits(),
        snapshots=list(trades.account_snapshots()),
        signals=list(signals.list()),
    )


def main(url: str, journal: str) -> None:
    engine = open_engine(url)
    trades = SqlTradeRepository(engine, journal=JournalSettings(Path(journal)))
    signals = SqlSignalRepository(engine, unit_of_work=trades)
    write(trades, signals)
    print("COMMITTED", flush=True)
    time.sleep(120)  # killed before this ends


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
