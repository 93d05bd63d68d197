"""Logging: the engine's own lines at the level asked for; libraries' chatter only when debugging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from entrypoints.logs import configure_logging

LIBRARIES = ("alembic", "sqlalchemy", "aiohttp.access", "websockets.server", "httpx")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARIES}
    yield
    root.handlers[:], root.level = handlers, level
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.parametrize(
    "name", ["alembic", "alembic.runtime.migration", "sqlalchemy.engine", "aiohttp.access"]
)
@pytest.mark.parametrize("level", ["INFO", "info", "WARNING"])
def test_libraries_keep_quiet_below_warning_at_the_usual_levels(name: str, level: str) -> None:
    configure_logging(level)
    library = logging.getLogger(name)
    assert not library.isEnabledFor(logging.INFO)
    assert library.isEnabledFor(logging.WARNING)
    assert logging.getLogger("tradeplane.run").isEnabledFor(logging.getLevelName(level.upper()))


def test_websockets_server_and_httpx_keep_quiet_too() -> None:
    configure_logging("INFO")
    for name in ("websockets.server", "httpx"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)


def test_at_debug_everything_speaks() -> None:
    configure_logging("DEBUG")
    for name in LIBRARIES:
        assert logging.getLogger(name).isEnabledFor(logging.DEBUG)


def test_an_error_level_keeps_libraries_at_error_too() -> None:
    configure_logging("ERROR")
    assert not logging.getLogger("alembic").isEnabledFor(logging.WARNING)
