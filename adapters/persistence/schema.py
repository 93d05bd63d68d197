"""The three stores' tables: trades (orders, journal, fills, positions, account, risk),
signals, market data; and the stored backtest runs, kept in the trades store's database.
Money and quantities are ExactDecimal; times are integer nanoseconds since the epoch (the
domain's own unit, exact and time-zone free).

Order events are appended, never updated; ``orders`` holds each order's latest state as a
projection of its events, for the queries the gRPC API makes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from adapters.persistence.types import ExactDecimal

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# An auto-increment key that is BIGINT on PostgreSQL and SQLite's ROWID alias elsewhere.
RowId = BigInteger().with_variant(Integer(), "sqlite")
ID = String(64)

# -- trades store ------------------------------------------------------------------------------

orders = Table(
    "orders",
    metadata,
    Column("client_order_id", ID, primary_key=True),
    Column("instrument_id", ID, nullable=False),
    Column("side", SmallInteger, nullable=False),  # 1 buy, -1 sell
    Column("order_type", String(16), nullable=False),
    Column("time_in_force", String(8), nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("price", ExactDecimal),
    Column("stop_price", ExactDecimal),
    Column("strategy_id", ID),
    Column("reduce_only", Boolean, nullable=False),
    Column("ts_init", BigInteger, nullable=False),
    # Added after the first stores were written: a row from before reads as not post-only.
    Column("post_only", Boolean, nullable=False, server_default=false()),
    # the projection of the journal, updated with each event:
    Column("status", String(24), nullable=False),
    Column("venue_order_id", String(128)),
    Column("filled_quantity", ExactDecimal, nullable=False),
    Column("ts_last", BigInteger, nullable=False),
    Column("event_count", Integer, nullable=False),
    Index("ix_orders_instrument_ts", "instrument_id", "ts_init"),
    Index("ix_orders_status", "status"),
    Index("ix_orders_strategy", "strategy_id"),
    Index("ix_orders_venue_order_id", "venue_order_id"),
    Index("ix_orders_ts", "ts_init", "client_order_id"),  # ListOrders, newest first
)

order_events = Table(
    "order_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("client_order_id", ID, ForeignKey("orders.client_order_id"), nullable=False),
    Column("seq", Integer, nullable=False),  # the event's index in the order's journal
    Column("status", String(24), nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("venue_order_id", String(128)),
    Column("trade_id", String(128)),  # set when the event is a fill (the fill row has the rest)
    Column("triggered_price", ExactDecimal),
    UniqueConstraint("client_order_id", "seq", name="uq_order_events_order_seq"),
)

fills = Table(
    "fills",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("trade_id", String(128), nullable=False),
    Column("client_order_id", ID, ForeignKey("orders.client_order_id"), nullable=False),
    Column("venue_order_id", String(128)),
    Column("instrument_id", ID, nullable=False),
    Column("side", SmallInteger, nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("fee", ExactDecimal, nullable=False),
    # The asset the fee is paid in; "" (every row from before it was kept) is the quote currency.
    Column("fee_asset", String(16), nullable=False, server_default=""),
    Column("liquidity", String(8), nullable=False),
    Column("strategy_id", ID),
    Column("ts_event", BigInteger, nullable=False),
    UniqueConstraint("client_order_id", "trade_id", name="uq_fills_order_trade"),
    Index("ix_fills_instrument_ts", "instrument_id", "ts_event"),
    Index("ix_fills_strategy", "strategy_id"),
)

positions = Table(
    "positions",
    metadata,
    Column("instrument_id", ID, primary_key=True),
    Column("quantity", ExactDecimal, nullable=False),
    Column("cost", ExactDecimal, nullable=False),
    Column("realized_pnl", ExactDecimal, nullable=False),
    Column("fees", ExactDecimal, nullable=False),
    Column("fill_count", Integer, nullable=False),
    Column("ts_last", BigInteger, nullable=False),
)

balances = Table(
    "balances",
    metadata,
    Column("asset", String(16), primary_key=True),
    Column("amount", ExactDecimal, nullable=False),
    Column("ts_last", BigInteger, nullable=False),
)

account_snapshots = Table(
    "account_snapshots",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("ts", BigInteger, nullable=False, index=True),
    Column("equity", ExactDecimal, nullable=False),
    Column("peak_equity", ExactDecimal, nullable=False),
    Column("realized_pnl", ExactDecimal, nullable=False),
    Column("fees", ExactDecimal, nullable=False),
)

risk_state = Table(
    "risk_state",
    metadata,
    Column("id", SmallInteger, primary_key=True),  # one row
    Column("state", String(16), nullable=False),
    Column("reason", String(32)),
    Column("message", Text, nullable=False),
    Column("since_ns", BigInteger, nullable=False),
    Column("peak_equity", ExactDecimal),
    Column("opening_equity", ExactDecimal),
    Column("limits", Text, nullable=False),  # RiskLimits.to_mapping() as JSON: exact strings
    Column("ts_last", BigInteger, nullable=False),
    Column("day", BigInteger),  # the UTC day (days since the epoch) the opening equity is of
    Column("equity", ExactDecimal),
)

trade_journal = Table(
    "trade_journal",
    metadata,
    Column("id", SmallInteger, primary_key=True),  # one row
    Column("applied_seq", BigInteger, nullable=False),  # the last journal record applied here
)

# -- signals store -----------------------------------------------------------------------------

signals = Table(
    "signals",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("strategy_id", ID, nullable=False),
    Column("instrument_id", ID, nullable=False),
    Column("side", SmallInteger),
    Column("target_position", ExactDecimal),
    Column("strength", Float, nullable=False),  # a weight in [0, 1], not money
    Column("reason", Text, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    # The idempotency key of a signal decided in another process (delivered at least once):
    # stored once per key; NULL, as many times as need be, for a signal decided here.
    Column("key", String(255)),
    Index("ix_signals_strategy_ts", "strategy_id", "ts_event"),
    Index("ux_signals_key", "key", unique=True),
)

# -- market-data store -------------------------------------------------------------------------

trades = Table(
    "trades",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("instrument_id", ID, nullable=False),
    Column("trade_id", String(128), nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("size", ExactDecimal, nullable=False),
    Column("aggressor", SmallInteger, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Column("ts_init", BigInteger, nullable=False),
    Index("ix_trades_instrument_ts", "instrument_id", "ts_event"),
)

quotes = Table(
    "quotes",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("instrument_id", ID, nullable=False),
    Column("bid_price", ExactDecimal, nullable=False),
    Column("bid_size", ExactDecimal, nullable=False),
    Column("ask_price", ExactDecimal, nullable=False),
    Column("ask_size", ExactDecimal, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Column("ts_init", BigInteger, nullable=False),
    Index("ix_quotes_instrument_ts", "instrument_id", "ts_event"),
)

bars = Table(
    "bars",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("instrument_id", ID, nullable=False),
    Column("interval_ns", BigInteger, nullable=False),
    Column("open", ExactDecimal, nullable=False),
    Column("high", ExactDecimal, nullable=False),
    Column("low", ExactDecimal, nullable=False),
    Column("close", ExactDecimal, nullable=False),
    Column("volume", ExactDecimal, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Column("ts_init", BigInteger, nullable=False),
    Index("ix_bars_instrument_interval_ts", "instrument_id", "interval_ns", "ts_event"),
)

# -- backtest results (in the trades store's database) ------------------------------------------

backtest_runs = Table(
    "backtest_runs",
    metadata,
    Column("run_id", ID, primary_key=True),  # uuid4 hex
    Column("created_ns", BigInteger, nullable=False),
    Column("strategy", ID, nullable=False),
    Column("instrument_id", ID, nullable=False),
    Column("params", Text, nullable=False),  # JSON object of strings, as run
    Column("data", Text, nullable=False),  # JSON list of the data files' names
    Column("first_ts", BigInteger, nullable=False),  # event time of the first and last event
    Column("last_ts", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("capital", ExactDecimal, nullable=False),
    Column("final_equity", ExactDecimal, nullable=False),
    Column("total_return", ExactDecimal, nullable=False),
    Column("sharpe", Float),  # a statistic, not money; NULL when the run had too few periods
    Column("max_drawdown", Float, nullable=False),
    Column("trade_count", Integer, nullable=False),
    Column("metrics", Text, nullable=False),  # PerformanceReport.as_dict(trades=False) as JSON
    Column("trades", Text, nullable=False),  # the round trips' as_dict() as a JSON list
    Index("ix_backtest_runs_created", "created_ns", "run_id"),  # listed newest first
    Index("ix_backtest_runs_strategy", "strategy", "created_ns"),
)
