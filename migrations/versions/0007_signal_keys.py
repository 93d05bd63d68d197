"""signals keep an idempotency key, stored once

A signal decided by a strategy worker in another process may reach execution twice (after a
crash of either side); each copy carries the same key, and ``signals.key`` (unique) stores it
once. Rows written before, and signals decided in the executing process, have no key (NULL,
which a unique index allows any number of times on SQLite and PostgreSQL alike).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, as in 0005: SQLite adds (and, from 3.35, drops) a column in place. It does
# not drop an indexed column, so the downgrade drops the index first.


def upgrade() -> None:
    op.add_column("signals", sa.Column("key", sa.String(length=255), nullable=True))
    op.create_index("ux_signals_key", "signals", ["key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_signals_key", table_name="signals")
    op.drop_column("signals", "key")
