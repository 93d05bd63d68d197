"""Opening a store: engines with safe settings per backend, and a clear error for a bad URL or file."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError


class StoreUnavailable(RuntimeError):
    """The store cannot be opened or is not a tradeplane database; the message says which."""


def open_engine(url: str) -> Engine:
    """An engine for ``url``: ``sqlite:///PATH`` (embedded) or ``postgresql://...`` (psycopg).

    SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit survives a killed process
    (the journal is in the OS before commit returns), readers never block the writer, and
    foreign keys are enforced. Raises StoreUnavailable for a malformed URL, a missing driver,
    an unreachable server, or a file that is not a database.
    """
    try:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as error:  # ImportError: no driver
        shown = re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)  # unparsable: hide the password by hand
        raise StoreUnavailable(f"database URL {shown!r} is not usable: {error}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            if engine.dialect.name == "sqlite":
                connection.execute(text("SELECT count(*) FROM sqlite_master"))  # reads the header
    except (OperationalError, DatabaseError) as error:
        shown = engine.url.render_as_string(hide_password=True)
        raise StoreUnavailable(f"cannot open the database {shown}: {_first_line(error)}") from None
    return engine


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _first_line(error: Exception) -> str:
    text_ = str(getattr(error, "orig", error)) or type(error).__name__
    return text_.strip().splitlines()[0]
