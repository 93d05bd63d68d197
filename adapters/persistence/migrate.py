"""Schema revisions: upgrade a store to head, and refuse to run on one that is behind."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


class DatabaseBehind(RuntimeError):
    """The store's schema is older than this code's; ``tradeplane migrate`` upgrades it."""


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations under {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Upgrade to ``target`` in one transaction (all revisions or none); returns (before, after).

    SQLite's driver would run DDL outside any transaction, so a failure halfway (another
    app's table in the way) left half a schema; there the transaction is begun explicitly.
    """
    before = current_revision(engine)
    with engine.connect() as connection:
        if engine.dialect.name != "sqlite":
            with connection.begin():
                command.upgrade(alembic_config(connection=connection), target)
            return before, current_revision(engine) or target
        dbapi = connection.connection.driver_connection
        previous = dbapi.isolation_level  # type: ignore[union-attr]
        dbapi.isolation_level = None  # type: ignore[union-attr]  # the driver's own BEGINs off
        try:
            with connection.begin():
                connection.exec_driver_sql("BEGIN")
                command.upgrade(alembic_config(connection=connection), target)
        finally:
            dbapi.isolation_level = previous  # type: ignore[union-attr]
    return before, current_revision(engine) or target


def is_blank(engine: Engine) -> bool:
    """True for a database with no tables at all (a SQLite file just created)."""
    return not inspect(engine).get_table_names()


def require_head(engine: Engine, name: str) -> None:
    """Raise DatabaseBehind unless the store is at this code's head revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        found = "no schema" if current is None else f"revision {current}"
        raise DatabaseBehind(
            f"the {name} database ({engine.url.render_as_string(hide_password=True)}) has {found},"
            f" this tradeplane needs {head}: run `tradeplane migrate` first"
        )
