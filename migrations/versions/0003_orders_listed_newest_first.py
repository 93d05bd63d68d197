"""orders listed newest first

ListOrders pages through all orders by (ts_init, client_order_id), newest first; without a
filter no other index serves that order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_ts", "orders", ["ts_init", "client_order_id"])


def downgrade() -> None:
    op.drop_index("ix_orders_ts", table_name="orders")
