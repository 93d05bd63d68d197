"""risk state keeps its day and equity

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import adapters.persistence.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("risk_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("day", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("equity", adapters.persistence.types.ExactDecimal(length=64), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("risk_state", schema=None) as batch_op:
        batch_op.drop_column("equity")
        batch_op.drop_column("day")
