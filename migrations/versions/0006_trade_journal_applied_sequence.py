"""the trades journal's applied sequence number

The trades store makes a commit durable as one record appended to a journal file and applies
the records to the SQL tables behind it; ``trade_journal.applied_seq`` (one row) is the last
record applied, written in the same transaction as the record's rows, so that a restart
applies exactly the records after it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "trade_journal",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("applied_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "applied_seq": 0}])


def downgrade() -> None:
    op.drop_table("trade_journal")
