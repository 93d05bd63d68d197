"""Fixtures of the gRPC integration tests: a real engine and loopback server per test.

Each test gets its own event loop (``loop``), and through ``env`` an engine built by
``bootstrap`` over an in-memory feed, served by a ``GrpcServer`` on ``127.0.0.1:0`` with a
viewer, a trader and an admin token (see ``support``). ``await start(**options)`` starts more, or
differently configured, ones (small stream buffer, rate-limited token, TLS).

``async def`` tests run on that loop, bounded by ``TEST_TIMEOUT_S`` (``pytest_pyfunc_call``
below: a few lines instead of a pytest-asyncio dependency).

Teardown checks what every test must leave true: no bus handler raised, and nothing was
logged at ERROR by tradeplane (an RPC that failed unexpectedly is logged there before it
becomes INTERNAL).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from tests.integration.grpc.support import TEST_TIMEOUT_S, Env, start_env


class ErrorLog(logging.Handler):
    """The ERROR records of the tradeplane loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logger = logging.getLogger("tradeplane")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def start(
    loop: asyncio.AbstractEventLoop, error_log: ErrorLog
) -> Iterator[Callable[..., Coroutine[Any, Any, Env]]]:
    """``await start(**options)``: one more engine and server (options as in ``support.start_env``)."""
    started: list[Env] = []

    async def _start(**options: Any) -> Env:
        env = await asyncio.wait_for(start_env(**options), TEST_TIMEOUT_S)
        started.append(env)
        return env

    yield _start
    for env in reversed(started):
        loop.run_until_complete(asyncio.wait_for(env.close(), TEST_TIMEOUT_S))
    for env in started:
        stats = env.app.bus.stats
        assert stats.handler_errors == 0, list(stats.last_failures)
    assert not error_log.records, [record.getMessage() for record in error_log.records]


@pytest.fixture
def env(loop: asyncio.AbstractEventLoop, start: Callable[..., Coroutine[Any, Any, Env]]) -> Env:
    """The engine and server of the test, as configured by default."""
    return loop.run_until_complete(start())


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test of this directory on its ``loop`` fixture, bounded in time."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    loop = pyfuncitem.funcargs.get("loop")
    assert isinstance(loop, asyncio.AbstractEventLoop), "async tests need the loop fixture (env has it)"
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    loop.run_until_complete(asyncio.wait_for(pyfuncitem.obj(**arguments), TEST_TIMEOUT_S))
    return True
