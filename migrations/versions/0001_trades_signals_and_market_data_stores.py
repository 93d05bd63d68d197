"""trades, signals and market-data stores

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adapters.persistence.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "account_snapshots",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("equity", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("peak_equity", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("realized_pnl", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("fees", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_snapshots")),
    )
    with op.batch_alter_table("account_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_snapshots_ts"), ["ts"], unique=False)

    op.create_table(
        "balances",
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("amount", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("ts_last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("asset", name=op.f("pk_balances")),
    )
    op.create_table(
        "bars",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("interval_ns", sa.BigInteger(), nullable=False),
        sa.Column("open", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("high", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("low", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("close", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("volume", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.Column("ts_init", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bars")),
    )
    with op.batch_alter_table("bars", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bars_instrument_interval_ts", ["instrument_id", "interval_ns", "ts_event"], unique=False
        )

    op.create_table(
        "orders",
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("side", sa.SmallInteger(), nullable=False),
        sa.Column("order_type", sa.String(length=16), nullable=False),
        sa.Column("time_in_force", sa.String(length=8), nullable=False),
        sa.Column("quantity", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("price", adapters.persistence.types.ExactDecimal(length=64), nullable=True),
        sa.Column("stop_price", adapters.persistence.types.ExactDecimal(length=64), nullable=True),
        sa.Column("strategy_id", sa.String(length=64), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("ts_init", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("venue_order_id", sa.String(length=128), nullable=True),
        sa.Column("filled_quantity", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("ts_last", sa.BigInteger(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client_order_id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_instrument_ts", ["instrument_id", "ts_init"], unique=False)
        batch_op.create_index("ix_orders_status", ["status"], unique=False)
        batch_op.create_index("ix_orders_strategy", ["strategy_id"], unique=False)
        batch_op.create_index("ix_orders_venue_order_id", ["venue_order_id"], unique=False)

    op.create_table(
        "positions",
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("quantity", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("cost", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("realized_pnl", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("fees", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("fill_count", sa.Integer(), nullable=False),
        sa.Column("ts_last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("instrument_id", name=op.f("pk_positions")),
    )
    op.create_table(
        "quotes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("bid_price", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("bid_size", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("ask_price", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("ask_size", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.Column("ts_init", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index("ix_quotes_instrument_ts", ["instrument_id", "ts_event"], unique=False)

    op.create_table(
        "risk_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("since_ns", sa.BigInteger(), nullable=False),
        sa.Column("peak_equity", adapters.persistence.types.ExactDecimal(length=64), nullable=True),
        sa.Column("opening_equity", adapters.persistence.types.ExactDecimal(length=64), nullable=True),
        sa.Column("limits", sa.Text(), nullable=False),
        sa.Column("ts_last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_state")),
    )
    op.create_table(
        "signals",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("strategy_id", sa.String(length=64), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("side", sa.SmallInteger(), nullable=True),
        sa.Column("target_position", adapters.persistence.types.ExactDecimal(length=64), nullable=True),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
    )
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.create_index("ix_signals_strategy_ts", ["strategy_id", "ts_event"], unique=False)

    op.create_table(
        "trades",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("trade_id", sa.String(length=128), nullable=False),
        sa.Column("price", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("size", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("aggressor", sa.SmallInteger(), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.Column("ts_init", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index("ix_trades_instrument_ts", ["instrument_id", "ts_event"], unique=False)

    op.create_table(
        "fills",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("trade_id", sa.String(length=128), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("venue_order_id", sa.String(length=128), nullable=True),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("side", sa.SmallInteger(), nullable=False),
        sa.Column("quantity", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("price", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("fee", adapters.persistence.types.ExactDecimal(length=64), nullable=False),
        sa.Column("liquidity", sa.String(length=8), nullable=False),
        sa.Column("strategy_id", sa.String(length=64), nullable=True),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_order_id"], ["orders.client_order_id"], name=op.f("fk_fills_client_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint("client_order_id", "trade_id", name="uq_fills_order_trade"),
    )
    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.create_index("ix_fills_instrument_ts", ["instrument_id", "ts_event"], unique=False)
        batch_op.create_index("ix_fills_strategy", ["strategy_id"], unique=False)

    op.create_table(
        "order_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("venue_order_id", sa.String(length=128), nullable=True),
        sa.Column("trade_id", sa.String(length=128), nullable=True),
        sa.Column("triggered_price", adapters.persistence.types.ExactDecimal(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["orders.client_order_id"],
            name=op.f("fk_order_events_client_order_id_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        sa.UniqueConstraint("client_order_id", "seq", name="uq_order_events_order_seq"),
    )


def downgrade() -> None:

    op.drop_table("order_events")
    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.drop_index("ix_fills_strategy")
        batch_op.drop_index("ix_fills_instrument_ts")

    op.drop_table("fills")
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index("ix_trades_instrument_ts")

    op.drop_table("trades")
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_index("ix_signals_strategy_ts")

    op.drop_table("signals")
    op.drop_table("risk_state")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_instrument_ts")

    op.drop_table("quotes")
    op.drop_table("positions")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_venue_order_id")
        batch_op.drop_index("ix_orders_strategy")
        batch_op.drop_index("ix_orders_status")
        batch_op.drop_index("ix_orders_instrument_ts")

    op.drop_table("orders")
    with op.batch_alter_table("bars", schema=None) as batch_op:
        batch_op.drop_index("ix_bars_instrument_interval_ts")

    op.drop_table("bars")
    op.drop_table("balances")
    with op.batch_alter_table("account_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_snapshots_ts"))

    op.drop_table("account_snapshots")
