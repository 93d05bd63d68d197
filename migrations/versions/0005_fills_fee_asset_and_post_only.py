"""fills keep their fee asset, orders their post-only flag

A venue may charge a fill's fee in the base asset or in a third one; ``fills.fee_asset`` names
it, and a row written before reads as "" (the quote currency, which it was). ``orders.post_only``
marks a limit order the venue must refuse rather than let it take liquidity; older rows are not.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not a batch: SQLite adds (and, from 3.35, drops) a column in place, while a
# batch would copy ``orders`` into a new table, which the fills' and events' foreign keys refuse.


def upgrade() -> None:
    op.add_column("fills", sa.Column("fee_asset", sa.String(length=16), nullable=False, server_default=""))
    op.add_column("orders", sa.Column("post_only", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("orders", "post_only")
    op.drop_column("fills", "fee_asset")
