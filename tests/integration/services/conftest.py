"""Fixtures of the services' tests: a key prefix of their own on the real Redis, cleaned after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from adapters.redis.shards import ShardLayout

REDIS_URL = "redis://127.0.0.1:6379/0"


def _delete_under(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test alone; its keys (streams, leases) are deleted afterwards."""
    value = f"tradeplane-test:{uuid.uuid4().hex}:"
    yield value
    _delete_under(value)


@pytest.fixture
def layout(prefix: str) -> ShardLayout:
    """One shard under the test's prefix."""
    return ShardLayout(prefix=prefix, shards=1)
