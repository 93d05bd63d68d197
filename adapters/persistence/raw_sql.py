"""Statements rendered once per dialect and run with the driver's ``executemany``.

The hot writes (the order journal's commits, market-data batches, signals) skip SQLAlchemy's
per-execution work: measured on SQLite, a commit of an order's rows took ~430 µs through
Core and ~40 µs through the driver. Reads, the schema and migrations stay on SQLAlchemy.
Values go in as the driver wants them: Decimals as exact text for SQLite (see ExactDecimal),
as Decimals for psycopg (which sends them as NUMERIC).

Batches of many rows (market data) go to SQLite as one JSON array in one statement
(``insert_rows``/``execute_rows``): the driver's ``executemany`` takes the GIL back after
every row's step, which a writer thread pays for in contention with the event loop's thread;
one ``INSERT ... SELECT ... FROM json_each(?)`` runs the whole batch with the GIL released.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Table
from sqlalchemy.engine import Connection

from adapters.persistence.types import finite_decimal


class Dialect:
    """Placeholder style and value conversion for one backend."""

    def __init__(self, name: str) -> None:
        if name not in {"sqlite", "postgresql"}:
            raise ValueError(f"no raw statements for the {name} dialect")
        self.name = name
        self.mark = "?" if name == "sqlite" else "%s"
        self.decimal: Callable[[Decimal | None], Any] = _text if name == "sqlite" else _same

    def insert(self, table: Table, columns: Sequence[str] | None = None) -> str:
        names = (
            list(columns)
            if columns is not None
            else [c.name for c in table.c if not _generated(table, c.name)]
        )
        marks = ", ".join(self.mark for _ in names)
        return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"

    def upsert(self, table: Table, key: str) -> str:
        names = [c.name for c in table.c]
        updates = ", ".join(f"{name} = excluded.{name}" for name in names if name != key)
        return f"{self.insert(table, names)} ON CONFLICT ({key}) DO UPDATE SET {updates}"

    def insert_rows(self, table: Table) -> str:
        """An insert of a batch of rows (every column but a generated key) for ``execute_rows``.

        SQLite: one statement reading the rows from a JSON array of arrays (strings stay TEXT,
        so exact decimals are stored as the same text; integers stay INTEGER); PostgreSQL: the
        plain insert, run with ``executemany``.
        """
        if self.name != "sqlite":
            return self.insert(table)
        names = [c.name for c in table.c if not _generated(table, c.name)]
        values = ", ".join(f"value ->> {i}" for i in range(len(names)))
        return f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {values} FROM json_each(?)"

    def insert_json(self, table: Table, columns: Sequence[str]) -> str:
        """SQLite: an insert of ``columns`` from a JSON array of rows (one parameter), as
        ``insert_rows`` does for every column."""
        if self.name != "sqlite":
            raise ValueError("JSON batch inserts are a SQLite statement")
        values = ", ".join(f"value ->> {i}" for i in range(len(columns)))
        return f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {values} FROM json_each(?)"

    def update(self, table: Table, columns: Sequence[str], key: str) -> str:
        sets = ", ".join(f"{name} = {self.mark}" for name in columns)
        return f"UPDATE {table.name} SET {sets} WHERE {key} = {self.mark}"


def _generated(table: Table, name: str) -> bool:
    column = table.c[name]
    return bool(column.primary_key and column.autoincrement is True)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(finite_decimal(value))


def _same(value: Decimal | None) -> Decimal | None:
    return None if value is None else finite_decimal(value)


def execute_many(connection: Connection, statements: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> None:
    """Run each (sql, rows) with the driver's cursor, inside the connection's transaction."""
    cursor = connection.connection.cursor()
    try:
        for sql, rows in statements:
            if rows:
                cursor.executemany(sql, rows)
    finally:
        cursor.close()


def execute_rows(
    dbapi_connection: Any, dialect: Dialect, statements: Sequence[tuple[str, Sequence[Sequence[Any]]]]
) -> None:
    """Run each (``Dialect.insert_rows`` statement, rows) on a driver connection, in its
    transaction (the caller commits): on SQLite the rows go as one JSON parameter (values
    must be str, int or None), elsewhere through ``executemany``."""
    json = dialect.name == "sqlite"
    cursor = dbapi_connection.cursor()
    try:
        for sql, rows in statements:
            if rows:
                if json:
                    cursor.execute(sql, (orjson.dumps(rows).decode(),))
                else:
                    cursor.executemany(sql, rows)
    finally:
        cursor.close()
