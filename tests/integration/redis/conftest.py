"""Fixtures of the Redis integration tests: the real server, a private key prefix, a breakable proxy.

The server comes from ``TRADEPLANE_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). A
test that needs it FAILS, never skips, when it is unreachable: a silently skipped suite would
pass CI with the Redis adapters untested.

Every test gets its own key prefix (``tradeplane-test:<uuid>:``), so tests run in parallel
(xdist) against one server, and everything under it is deleted afterwards. Outages are played
on a :class:`~tests.integration.redis.proxy.Proxy`, never on the shared server.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from adapters.redis.stream_bus import StreamRouting
from tests.integration.redis.proxy import Proxy

T = TypeVar("T")

DEFAULT_URL = "redis://127.0.0.1:6379/0"
TEST_TIMEOUT_S = 15.0


def run(coroutine: Coroutine[Any, Any, T], timeout_s: float = TEST_TIMEOUT_S) -> T:
    """Run ``coroutine`` on a fresh event loop, bounded in time (no pytest-asyncio here)."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout_s))


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("TRADEPLANE_TEST_REDIS_URL", DEFAULT_URL)
    client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        pytest.fail(
            f"Redis is not reachable at {url} ({type(error).__name__}: {error}). These tests need a real "
            "server: start one with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' "
            "--appendonly no`, or point TRADEPLANE_TEST_REDIS_URL at one.",
            pytrace=False,
        )
    finally:
        client.close()
    return url


@pytest.fixture
def admin(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client on the real server, for the test's own checks."""
    client = redis.Redis.from_url(redis_url, socket_timeout=5.0)
    yield client
    client.close()


@pytest.fixture
def prefix(admin: redis.Redis) -> Iterator[str]:
    """A key prefix of this test alone; its keys (streams included) are deleted afterwards."""
    value = f"tradeplane-test:{uuid.uuid4().hex}:"
    yield value
    keys = list(admin.scan_iter(match=f"{value}*", count=1000))
    if keys:
        admin.delete(*keys)


@pytest.fixture
def routing(prefix: str) -> StreamRouting:
    return StreamRouting(prefix=prefix)


@pytest.fixture
def proxy(redis_url: str) -> Iterator[Proxy]:
    """A proxy to the real server that the test can take down, hang and bring back."""
    target = urlsplit(redis_url)
    with Proxy(target.hostname or "127.0.0.1", target.port or 6379) as instance:
        credentials = target.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{instance.port}" if credentials else f"127.0.0.1:{instance.port}"
        instance.url = urlunsplit(target._replace(netloc=netloc))  # same database and password
        yield instance


@pytest.fixture
def closed_port_url() -> str:
    """A URL on which nothing listens (a port bound then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"
