"""Bad stores: a clear StoreUnavailable (one line, no traceback, no password) or DatabaseBehind."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from adapters.persistence.database import StoreUnavailable, open_engine
from adapters.persistence.migrate import DatabaseBehind, current_revision, require_head, upgrade
from tests.integration.persistence.support import Database

SECRET = "s3cr3t-pw"


def refused(url: str) -> str:
    """The message of the StoreUnavailable that opening ``url`` raises, checked to be clean."""
    with pytest.raises(StoreUnavailable) as raised:
        open_engine(url)
    message = str(raised.value)
    assert message
    assert "\n" not in message.strip(), f"more than one line: {message!r}"
    assert "Traceback" not in message
    assert SECRET not in message, f"the password is shown: {message!r}"
    assert raised.value.__cause__ is None
    return message


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nobody listens once the socket is closed


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    message = refused(f"sqlite:///{junk}")
    assert "not a database" in message
    assert str(junk) in message


def test_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "store.db"
    folder.mkdir()
    assert "unable to open" in refused(f"sqlite:///{folder}")


def test_a_file_in_a_missing_folder(tmp_path: Path) -> None:
    assert "unable to open" in refused(f"sqlite:///{tmp_path}/missing/store.db")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "trades.db",
        "nosuchdialect://host/db",
        f"postgresql://tradeplane:{SECRET}@127.0.0.1:notaport/test",
    ],
)
def test_a_malformed_url(url: str) -> None:
    assert "not usable" in refused(url)


def test_a_url_whose_driver_is_not_installed() -> None:
    assert "not usable" in refused(f"mysql://tradeplane:{SECRET}@127.0.0.1/trades")


def test_a_postgresql_url_to_a_closed_port() -> None:
    port = closed_port()
    message = refused(f"postgresql://tradeplane:{SECRET}@127.0.0.1:{port}/test?connect_timeout=5")
    assert f"127.0.0.1:{port}" in message
    assert "refused" in message.lower()


def test_another_apps_database_is_behind_not_ours(database: Database) -> None:
    engine = database.engine
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)"))
        connection.execute(text("INSERT INTO customers (id, name) VALUES (1, 'someone')"))

    with pytest.raises(DatabaseBehind, match=r"has no schema.*run `tradeplane migrate`"):
        require_head(engine, "trades")


def test_a_failed_upgrade_leaves_the_database_as_it_was(database: Database) -> None:
    engine = database.engine
    with engine.begin() as connection:  # another app's table, named like one of ours
        connection.execute(text("CREATE TABLE trades (id INTEGER PRIMARY KEY, note TEXT)"))

    with pytest.raises(Exception, match="trades"):
        upgrade(engine)

    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) == {"trades"}
