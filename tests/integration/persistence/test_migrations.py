"""Migrations: an empty store reaches head, a store behind is refused, models and migrations agree."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from adapters.persistence.migrate import (
    DatabaseBehind,
    alembic_config,
    current_revision,
    head_revision,
    require_head,
    upgrade,
)
from adapters.persistence.schema import metadata
from tests.integration.persistence.support import Database

TABLES = set(metadata.tables)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_takes_an_empty_database_to_head_once(database: Database) -> None:
    engine = database.engine
    assert current_revision(engine) is None
    assert tables(engine) == set()

    assert upgrade(engine) == (None, head_revision())

    assert current_revision(engine) == head_revision()
    assert tables(engine) == TABLES
    assert upgrade(engine) == (head_revision(), head_revision()), "a second upgrade is a no-op"


def test_require_head_refuses_an_empty_database_then_passes_after_upgrade(database: Database) -> None:
    engine = database.engine
    with pytest.raises(DatabaseBehind, match="run `tradeplane migrate`") as raised:
        require_head(engine, "trades")
    message = str(raised.value)
    assert "trades database" in message
    assert "no schema" in message
    assert head_revision() in message

    upgrade(engine)
    require_head(engine, "trades")
    require_head(database.open(), "trades")  # as another process sees it


def test_a_database_at_another_revision_is_behind(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(DatabaseBehind, match=r"has revision 0000.*run `tradeplane migrate`"):
        require_head(engine, "signals")


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "base")
    assert current_revision(engine) is None
    assert tables(engine) == set()

    upgrade(engine)
    assert tables(engine) == TABLES
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
