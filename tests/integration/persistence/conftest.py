"""Fixtures of the persistence tests: every test runs on SQLite and on PostgreSQL alike.

``database`` is an empty store (a SQLite file in ``tmp_path``, or a PostgreSQL schema of the
test's own, see ``support``); ``engine`` is that store migrated to head. The PostgreSQL case is
marked ``postgres`` and fails with a clear message, never skips, when the server is unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from adapters.persistence.migrate import upgrade
from tests.integration.persistence.support import Database, postgres_database, sqlite_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty store on each backend."""
    if request.param == "sqlite":
        with sqlite_database(tmp_path) as database:
            yield database
    else:
        with postgres_database() as database:
            yield database


@pytest.fixture
def engine(database: Database) -> Engine:
    """The store migrated to head (``database.open()`` gives more engines on it)."""
    engine = database.engine
    upgrade(engine)
    return engine
