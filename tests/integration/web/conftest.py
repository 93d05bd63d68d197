"""Fixtures of the gateway tests: the gRPC tests' engine and server, with the gateway in front.

The loop, the engine (``env``), the teardown checks and the running of ``async def`` tests are
the gRPC integration tests' own (``tests/integration/grpc/conftest.py``), reused here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from entrypoints.web.serve import RunningGateway, start_gateway
from tests.integration.grpc.conftest import env, error_log, loop, pytest_pyfunc_call, start
from tests.integration.grpc.support import TEST_TIMEOUT_S, Env

__all__ = ["console", "env", "error_log", "gateway", "loop", "pytest_pyfunc_call", "start"]


@pytest.fixture
def gateway(loop: asyncio.AbstractEventLoop, env: Env) -> Iterator[RunningGateway]:
    """The gateway on a free loopback port, calling ``env``'s gRPC server."""
    running = loop.run_until_complete(
        asyncio.wait_for(start_gateway("127.0.0.1:0", env.target), TEST_TIMEOUT_S)
    )
    yield running
    loop.run_until_complete(asyncio.wait_for(running.stop(), TEST_TIMEOUT_S))


@pytest.fixture
def console(loop: asyncio.AbstractEventLoop, env: Env) -> Iterator[RunningGateway]:
    """The gateway with the console's login (sessions over ``env``'s tokens), as ``run`` serves it."""
    running = loop.run_until_complete(
        asyncio.wait_for(start_gateway("127.0.0.1:0", env.target, env.server.auth.identify), TEST_TIMEOUT_S)
    )
    yield running
    loop.run_until_complete(asyncio.wait_for(running.stop(), TEST_TIMEOUT_S))
